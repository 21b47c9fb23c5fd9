"""Case 3b: Lambda delivers stream records at least once. Every batch the match and notify
functions receive in a request's life, delivered three times, leaves the same items and the same
emails as delivered once."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import ModuleType

from directormatch.matching.sweep import SweepSettings, Swept, sweep
from directormatch.offers import lifecycle as offers
from local.lambdas import LambdaContext
from tests.integration.conftest import Apps, Aws, LoadDirectors
from tests.reliability.conftest import Tally
from tests.reliability.helpers import (
    Records,
    batches,
    duplicates,
    expected_message_ids,
    post_quote,
    sent,
    stream_reader,
    tables,
)

CASE = "3b"
DELIVERIES = 3


def deliver_three_times(
    app: ModuleType, records: Records, aws: Aws, context: LambdaContext, tally: Tally
) -> None:
    """Each batch (template BatchSize) delivered DELIVERIES times in a row, as a retried or
    redelivered shard would; the repeats must change nothing and send nothing."""
    assert records
    for batch in batches(records):
        for delivery in range(1, DELIVERIES + 1):
            before_tables, before_sent = tables(aws), len(sent(aws))
            response = app.lambda_handler({"Records": batch}, context)
            sends = len(sent(aws)) - before_sent
            if delivery == 1:
                tally.tried(ok=response == {"batchItemFailures": []})
            else:
                unchanged = tables(aws) == before_tables
                tally.tried(ok=response == {"batchItemFailures": []} and unchanged, duplicated=sends)
                assert unchanged, f"delivery {delivery} of a batch changed the tables"
            assert response == {"batchItemFailures": []}


def test_every_stream_batch_of_a_request_life_delivered_three_times_changes_nothing_twice(
    aws: Aws,
    load_directors: LoadDirectors,
    apps: Apps,
    tally: Tally,
) -> None:
    # Given nine TX directors and two quote requests posted through intake
    load_directors(9)
    to_match, to_notify = stream_reader(aws, "MatchFunction"), stream_reader(aws, "NotifyFunction")
    first = post_quote(apps.intake, apps.context, key="dup-first")
    second = post_quote(apps.intake, apps.context, key="dup-second")

    # When match receives the two REQUEST inserts three times
    deliver_three_times(apps.match, to_match(), aws, apps.context, tally)

    # Then each request has one MATCH and one first wave of three offers
    for request_id in (first, second):
        items = aws.request_store().partition(request_id)
        assert sum(i["sk"] == "MATCH" for i in items) == 1
        assert sum(i["sk"].startswith("OFFER#") for i in items) == 3

    # When notify receives its batches (REQUEST and OFFER inserts, the MODIFY to OFFERED) three times
    aws.use_function("NotifyFunction")
    deliver_three_times(apps.notify, to_notify(), aws, apps.context, tally)

    # And, for the first request, a director declines and another accepts (MODIFY to DECLINED,
    # ACCEPTED, SUPERSEDED, MATCHED), and the second request's first wave expires (next wave)
    first_offers = aws.request_store().offers(first)
    declined = offers.decline(aws.request_store(), first, first_offers[0]["director_id"], via="link")
    accepted = offers.accept(
        aws.request_store(), aws.director_store(), first, first_offers[1]["director_id"], via="link"
    )
    assert (declined.outcome, accepted.outcome) == (offers.Outcome.DECLINED, offers.Outcome.ACCEPTED)
    expiry = datetime.fromisoformat(aws.request_store().offers(second)[0]["expires_at"])
    report = sweep(
        aws.request_store(),
        aws.director_store(),
        SweepSettings(wave_size=3, offer_hours=4, max_waves=3),
        expiry + timedelta(minutes=1),
    )
    assert report[Swept.WAVES_SENT] == 1
    assert to_match() == []
    deliver_three_times(apps.notify, to_notify(), aws, apps.context, tally)

    # Then every email the two requests call for went out exactly once
    messages = sent(aws)
    expected = expected_message_ids(aws, first) | expected_message_ids(aws, second)
    lost = len(expected - {m.message_id for m in messages})
    extra = duplicates(messages) + len({m.message_id for m in messages} - expected)
    tally.tried(ok=lost == 0 and extra == 0, lost=lost, duplicated=extra)
    assert lost == 0
    assert extra == 0
    kinds = sorted(m.kind for m in messages)
    assert kinds == sorted(
        ["receipt"] * 2
        + ["offer"] * 9  # three to each request, and the second request's second wave
        + ["declined", "introduction", "filled", "clinic_update"]
    )
