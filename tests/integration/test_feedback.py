"""Bounces and complaints reach the suppression list, and notify stops emailing those addresses."""

from __future__ import annotations

import copy
import json
from types import ModuleType

from directormatch.mail.suppression import address_key
from local.lambdas import LambdaContext
from tests.events import NOTIFY_NEW_REQUEST, load_event, load_stream_event
from tests.integration.conftest import Aws

BOUNCE_EVENT = "feedback/permanent_bounce.json"


def test_feedback_permanent_bounce_suppresses_and_notify_skips_the_address(
    aws: Aws, feedback_app: ModuleType, notify_app: ModuleType, lambda_context: LambdaContext
) -> None:
    # Given SES reported a permanent bounce for the clinic's address, delivered twice (SNS is at-least-once)
    event = load_event(BOUNCE_EVENT)
    first = feedback_app.lambda_handler(event, lambda_context)
    second = feedback_app.lambda_handler(copy.deepcopy(event), lambda_context)

    # Then the address is suppressed once, under a hashed key
    assert (first, second) == ({"suppressed": 1}, {"suppressed": 0})
    [item] = aws.items_with_sk("SUPPRESSION")
    assert item["pk"] == address_key("maria.delgado@bluebonnet-aesthetics.example")
    assert item["reason"] == "BOUNCE"

    # When notify queues that clinic's receipt and the sender takes it
    aws.use_function("NotifyFunction")
    response = notify_app.lambda_handler(aws.stored(load_stream_event(NOTIFY_NEW_REQUEST)), lambda_context)

    # Then nothing is sent, and the marker says why, so a redelivery does not try again
    assert response == {"batchItemFailures": []}
    assert aws.sent_emails() == []
    [marker] = aws.items_with_sk("EMAIL#receipt#clinic")
    assert marker["email_status"] == "SUPPRESSED"
    notify_app.lambda_handler(load_stream_event(NOTIFY_NEW_REQUEST), lambda_context)
    assert aws.sent_emails() == []


def test_feedback_transient_bounce_suppresses_nothing(
    aws: Aws, feedback_app: ModuleType, lambda_context: LambdaContext
) -> None:
    # Given a soft bounce (mailbox full)
    event = load_event(BOUNCE_EVENT)
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    message["bounce"]["bounceType"] = "Transient"
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)

    # When it arrives
    result = feedback_app.lambda_handler(event, lambda_context)

    # Then no address is suppressed
    assert result == {"suppressed": 0}
    assert aws.items_with_sk("SUPPRESSION") == []
