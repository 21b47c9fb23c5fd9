"""What the local event sources share: a daemon thread that polls until stopped, and rests a moment
only when a round found nothing to deliver (so a burst drains at full speed)."""

from __future__ import annotations

import threading

POLL_SECONDS = 0.05


class Pump:
    """Subclasses say what one round does (`tick`): True when it delivered something."""

    name = "pump"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def tick(self) -> bool:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self.tick():
                self._stop.wait(POLL_SECONDS)
