"""The send queue's message (ids only, refused when it is anything else) and the sender's pacing."""

from __future__ import annotations

import json
from itertools import pairwise

import pytest

from directormatch.mail.send_queue import HEADROOM, Letter, Pacer


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
