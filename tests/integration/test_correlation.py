"""One correlation id, the API Gateway request id, follows a quote through items, logs and emails."""

from __future__ import annotations

import email
import json
from email import policy

from directormatch.observability import logger
from tests.events import api_event, stream_event, stream_record
from tests.integration.conftest import Apps, Aws, LoadDirectors


def test_correlation_id_flows_from_api_request_to_offer_email_header(
    aws: Aws,
    load_directors: LoadDirectors,
    apps: Apps,
) -> None:
    # Given a quote posted through API Gateway with its own request id
    load_directors(3)
    event = api_event(without_headers=("Idempotency-Key",))
    event["requestContext"]["requestId"] = "corr-7f3a-0001"
    aws.use_function("IntakeFunction")
    posted = apps.intake.lambda_handler(event, apps.context)
    request = aws.request_store().get_request(json.loads(posted["body"])["request_id"])
    assert request is not None

    # When the stream carries it to match, and the offers to notify
    aws.use_function("MatchFunction")
    apps.match.lambda_handler(stream_event(stream_record(request)), apps.context)
    match_log_correlation = logger.get_correlation_id()  # what every log line of that invocation carried
    offers = aws.request_store().offers(request["request_id"])
    aws.use_function("NotifyFunction")
    apps.notify.lambda_handler(stream_event(*[stream_record(o) for o in offers]), apps.context)

    # Then the request, each offer, the match logs and each offer email carry the same id
    assert request["correlation_id"] == "corr-7f3a-0001"
    assert offers
    assert {o["correlation_id"] for o in offers} == {"corr-7f3a-0001"}
    assert match_log_correlation == "corr-7f3a-0001"
    sent = [email.message_from_string(m.raw_data, policy=policy.default) for m in aws.sent_emails()]
    assert len(sent) == len(offers)
    assert {m["X-Correlation-ID"] for m in sent} == {"corr-7f3a-0001"}
