"""The send queue's message (ids only, refused when it is anything else) and the sender's pacing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import pytest

from directormatch.mail.send_queue import HEADROOM, Letter, Pacer, undelivered_alert


def test_letter_round_trips_and_holds_ids_only() -> None:
    letter = Letter("01JREQUEST", "ops_no_match", "ops", item="ALERT#NO_MATCH", correlation_id="c-1")

    assert Letter.from_body(letter.body()) == letter
    assert set(json.loads(letter.body())) == {"partition", "kind", "recipient", "item", "correlation_id"}


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        '{"partition": "R", "kind": "receipt"}',
        '{"partition": "R", "kind": "receipt", "recipient": "clinic", "email": "a@b.example"}',
        '{"partition": "R", "kind": "receipt", "recipient": 7}',
    ],
)
def test_letter_refuses_a_message_that_is_no_letter(body: str) -> None:
    with pytest.raises(ValueError, match="send queue message"):
        Letter.from_body(body)


def test_pacer_spaces_sends_at_its_rate_and_never_saves_up_idle_time() -> None:
    # Given a clock that moves only when the pacer sleeps, and a pacer of 7 a second
    now = [100.0]
    pacer = Pacer(7, clock=lambda: now[0], sleep=lambda seconds: now.__setitem__(0, now[0] + seconds))
    gap = 1 / (7 * HEADROOM)

    # When it lets 15 sends go back to back
    moments = []
    for _ in range(15):
        pacer.wait()
        moments.append(now[0])

    # Then they are evenly apart, a little more than 1/7 s: never 8 in one second
    assert all(b - a == pytest.approx(gap) for a, b in pairwise(moments))
    assert 1 / 7 < gap < 1.1 / 7
    assert moments[7] - moments[0] > 1
    # And after an idle minute the next send goes at once, the one after it a gap later
    now[0] += 60
    assert pacer.wait() == 0
    assert pacer.wait() == pytest.approx(gap)


class Store:
    """The two calls undelivered_alert makes of the Requests table, over a dict of items."""

    def __init__(self, items: dict[tuple[str, str], dict[str, Any]]) -> None:
        self.items = items
        self.raised: list[Any] = []

    def item(self, pk: str, sk: str) -> dict[str, Any] | None:
        return self.items.get((pk, sk))

    def raise_alert(self, alert: Any) -> bool:
        if any(a.sk == alert.sk for a in self.raised):
            return False
        self.raised.append(alert)
        return True


REQUEST = {"pk": "01JREQUEST", "sk": "REQUEST", "request_status": "OFFERED", "correlation_id": "c-1"}


def given_up(letter: Letter, message_id: str = "m-1") -> dict[str, Any]:
    return {"messageId": message_id, "body": letter.body()}


def test_letter_given_up_raises_its_requests_alert_once_with_ids_only() -> None:
    store = Store({("01JREQUEST", "REQUEST"): REQUEST})
    now = datetime(2026, 12, 6, tzinfo=UTC)

    first = undelivered_alert(given_up(Letter("01JREQUEST", "offer", "D0001")), "Throttling", store, now)  # type: ignore[arg-type]
    again = undelivered_alert(given_up(Letter("01JREQUEST", "offer", "D0001")), "Throttling", store, now)  # type: ignore[arg-type]

    assert first is not None
    assert again is None
    assert (first.sk, first.item_sk, first.status_at_failure) == (
        "ALERT#STREAM_FAILED#SenderFunction#m-1",
        "EMAIL#offer#D0001",
        "OFFERED",
    )


@pytest.mark.parametrize(
    "letter",
    [
        # A director's expiry warning is about no request: the dead-letter alarm tells ops
        Letter("DIRECTOR#D0001", "expiry_warning", "LICENSE#TX#2027-01-31"),
        # The email of a stream alert would fail the same way, one alert after another
        Letter(
            "01JREQUEST",
            "ops_stream_failed#SenderFunction#m-0",
            "ops",
            item="ALERT#STREAM_FAILED#SenderFunction#m-0",
        ),
    ],
)
def test_letter_given_up_raises_no_alert_without_a_request_or_for_a_stream_alert(letter: Letter) -> None:
    store = Store({("01JREQUEST", "REQUEST"): REQUEST})

    assert undelivered_alert(given_up(letter), "Throttling", store, datetime.now(UTC)) is None  # type: ignore[arg-type]
    assert store.raised == []
