"""Lambda SnapStart's runtime hooks, for the code that must run before a snapshot or after a restore."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

Hook = Literal["register_before_snapshot", "register_after_restore"]


def register(hook: Hook, function: Callable[[], None]) -> bool:
    """Hand `function` to the runtime's `snapshot_restore_py` hook; False outside Lambda's runtime."""
    try:
        import snapshot_restore_py
    except ImportError:
        return False
    getattr(snapshot_restore_py, hook)(function)
    return True
