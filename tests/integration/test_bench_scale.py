"""The scale bench's phases on a small roster (the bench itself runs them on DynamoDB Local at
50,000 directors): the burst matches every quote and counts what it read, the sweep expires every
open offer it set up, and the consumed capacity is credited to the keys the calls named."""

from __future__ import annotations

from bench.common import CallCounter
from bench.scale import CapacityMeter, run_burst, run_send, run_sweep
from directormatch.aws import clients
from ops.roster.synthetic import PHYSICIAN_WEIGHTS, synthetic_roster
from tests.integration.conftest import Aws


def test_scale_phases_match_the_burst_and_sweep_every_open_offer(aws: Aws) -> None:
    # Given a roster weighted like the physician workforce, and the sweep function's settings
    aws.use_function("SweepFunction")
    roster = synthetic_roster(60, seed=7, state_weights=PHYSICIAN_WEIGHTS)
    aws.director_store().put_items(roster)
    meter, counter = CapacityMeter(clients.dynamodb()), CallCounter(clients.dynamodb())

    # When a burst of 2 quotes is matched and a sweep runs after at least 9 offers expired
    burst = run_burst(2, meter, counter)
    burst_offers = len(aws.items_with_sk("OFFER#", prefix=True))
    sweep = run_sweep(9, meter, counter)

    # Then every quote was matched, read at least the candidates it kept, and queued its receipt
    # and its offers
    assert burst["quotes"] == 2
    assert burst["items_read_max"] >= burst["eligible_median"] > 0
    # (the Available index's items alone: never more than the index holds)
    assert burst["items_read_max"] <= len(aws.items(aws.availability_table))
    assert 0 < burst["read_ratio_median"] <= burst["read_ratio_max"]
    letters = burst["letters"]
    assert [kind for _, _, kind, _ in letters].count("receipt") == 2
    assert len(letters) == 2 + burst_offers
    # And the sweep expired every open offer, the burst's among them, and gave up each request:
    # the setup's through their schedules, one request an invocation, the burst's (matched here
    # without schedules) through the safety net
    offers = aws.items_with_sk("OFFER#", prefix=True)
    assert sweep["offers_expired"] == sweep["open_offers"] == len(offers) >= 9
    assert {offer["offer_status"] for offer in offers} == {"EXPIRED"}
    assert sweep["gave_up"] == sweep["requests"]
    offered = burst["quotes"] - burst["no_offer"]
    assert sweep["safety_net_requests"] == offered
    assert sweep["requests_per_invocation_max"] == max(1, offered)
    assert sweep["invocations"] == sweep["requests"] - offered + 1
    # And each request opened in the setup made two schedules (its wave's expiry and its SLA)
    assert 0 < sweep["calls_per_offer"]["CreateSchedule"] < 1
    # And it found them through its status index, never a Scan; the match's capacity was counted
    assert "Scan" not in sweep["calls"]
    assert sweep["calls"]["Query(RequestsByStatusDay)"] >= 1
    assert any(phase == "match" and units > 0 for (phase, _, _), units in meter.units.items())


def test_scale_send_drains_the_burst_under_the_ses_rate_each_email_once(aws: Aws) -> None:
    # Given a burst's emails: 2 receipts at once, then 6 offers half a second later
    aws.use_function("NotifyFunction")
    roster = synthetic_roster(30, seed=7, state_weights=PHYSICIAN_WEIGHTS)
    aws.director_store().put_items(roster)
    meter, counter = CapacityMeter(clients.dynamodb()), CallCounter(clients.dynamodb())
    letters = run_burst(2, meter, counter)["letters"]

    # When they are queued at their moments and the senders drain the queue at 14 a second
    queue = run_send([(0.1 * n, *rest) for n, (_, *rest) in enumerate(letters)], rate=14)

    # Then each was sent once, never more than 14 in any second, by the two senders the rate maps to
    assert (queue["sent"], queue["duplicates"], queue["lost"]) == (len(letters), 0, 0)
    assert 0 < queue["sent_per_second_peak"] <= 14
    assert queue["senders"] == 2
    markers = aws.items_with_sk("EMAIL#", prefix=True)
    assert {m["email_status"] for m in markers} == {"SENT"}
    assert len(markers) == len(letters)
