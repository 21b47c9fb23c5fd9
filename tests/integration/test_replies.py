"""Replies to offer emails through SES receipt -> SNS -> respond, on moto."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from io import StringIO
from types import ModuleType
from typing import Any

import pytest

from directormatch.offers.reply_to import reply_address
from local.inbound import received, ses_notification, sns_event
from local.lambdas import LambdaContext
from tests.forged_replies import ATTACKER, FORGERIES, GENUINE, Forgery
from tests.integration.conftest import Aws, LoadDirectors, OfferedRequest


@pytest.fixture
def offer(
    aws: Aws,
    load_directors: LoadDirectors,
    offered_request: OfferedRequest,
) -> dict[str, Any]:
    """An OPEN offer of a matched TX request, with its director's profile under 'profile'."""
    load_directors(5)
    request = offered_request(states=["TX"])
    offers = aws.request_store().offers(request["request_id"])
    chosen = dict(offers[0])
    chosen["profile"] = aws.director_store().get_profile(chosen["director_id"])
    chosen["others"] = [o["director_id"] for o in offers[1:]]
    return chosen


def reply_event(
    aws: Aws, offer: dict[str, Any], body: str, sender: str | None = None, **verdicts: str
) -> Any:
    to = reply_address(offer["request_id"], offer["director_id"], aws.environment["INBOUND_DOMAIN"])
    content = (
        f"From: {sender or offer['profile']['email']}\r\nTo: {to}\r\nSubject: Re: offer\r\n"
        "Message-ID: <r1@mail.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n\r\nOn Tue, DirectorMatch wrote:\r\n> Reply ACCEPT or DECLINE\r\n"
    )
    return sns_event(ses_notification(content, [to], verdicts), "InboundMailTopic")


def statuses(aws: Aws, offer: dict[str, Any]) -> tuple[str, str]:
    request = aws.request_store().get_request(offer["request_id"])
    current = aws.request_store().get_offer(offer["request_id"], offer["director_id"])
    assert request is not None
    assert current is not None
    return request["request_status"], current["offer_status"]


def test_reply_accept_from_the_director_matches_the_request(
    aws: Aws, offer: dict[str, Any], respond_app: ModuleType, lambda_context: LambdaContext
) -> None:
    # Given a reply whose first line is "Yes, I accept" from the offered director, SPF/DKIM/DMARC passing
    event = reply_event(aws, offer, "Yes, I accept")

    # When respond receives it
    result = respond_app.lambda_handler(event, lambda_context)

    # Then the offer is accepted by reply and the request matched
    assert result == {"outcomes": ["ACTED"]}
    assert statuses(aws, offer) == ("MATCHED", "ACCEPTED")
    stored = aws.request_store().get_offer(offer["request_id"], offer["director_id"])
    assert stored is not None
    assert stored["answered_via"] == "reply"


@pytest.mark.parametrize(
    ("changes", "outcome"),
    [
        ({"sender": "someone.else@clinicians.example"}, "WRONG_SENDER"),
        ({"dmarcVerdict": "FAIL"}, "NOT_AUTHENTIC"),
        ({"spfVerdict": "FAIL"}, "NOT_AUTHENTIC"),
        ({"dkimVerdict": "FAIL"}, "NOT_AUTHENTIC"),
    ],
)
def test_reply_not_from_the_director_or_not_authentic_changes_nothing_and_answers_nobody(
    aws: Aws,
    offer: dict[str, Any],
    respond_app: ModuleType,
    lambda_context: LambdaContext,
    changes: dict[str, str],
    outcome: str,
) -> None:
    # Given an ACCEPT reply that fails one check
    sent_before = len(aws.sent_emails())
    tables_before = (aws.items(), aws.items(aws.directors_table))

    # When respond receives it
    result = respond_app.lambda_handler(reply_event(aws, offer, "ACCEPT", **changes), lambda_context)

    # Then nothing changed and no email went out (no backscatter to a forged sender)
    assert result == {"outcomes": [outcome]}
    assert (aws.items(), aws.items(aws.directors_table)) == tables_before
    assert len(aws.sent_emails()) == sent_before


def test_reply_unclear_first_line_gets_help_once_and_changes_nothing(
    aws: Aws, offer: dict[str, Any], respond_app: ModuleType, lambda_context: LambdaContext
) -> None:
    # Given a reply that neither accepts nor declines, delivered twice by SNS
    event = reply_event(aws, offer, "Can you tell me more about the clinic?")
    sent_before = len(aws.sent_emails())

    # When respond receives both copies
    first = respond_app.lambda_handler(event, lambda_context)
    second = respond_app.lambda_handler(copy.deepcopy(event), lambda_context)

    # Then the offer is still open and the director got one email explaining how to answer
    assert first == second == {"outcomes": ["UNCLEAR"]}
    assert statuses(aws, offer) == ("OFFERED", "OPEN")
    new = aws.sent_emails()[sent_before:]
    assert len(new) == 1
    assert set(new[0].destinations) == {offer["profile"]["email"]}
    assert "ACCEPT or DECLINE" in new[0].raw_data


def test_reply_decline_above_quoted_accept_declines(
    aws: Aws, offer: dict[str, Any], respond_app: ModuleType, lambda_context: LambdaContext
) -> None:
    # Given "decline" written above quoted text that says ACCEPT
    event = reply_event(aws, offer, "decline\r\n\r\n> ACCEPT")

    # When respond receives it
    respond_app.lambda_handler(event, lambda_context)

    # Then the offer is declined, the request still searching
    assert statuses(aws, offer) == ("OFFERED", "DECLINED")


def test_reply_accept_after_another_director_won_is_told_it_is_filled(
    aws: Aws, offer: dict[str, Any], respond_app: ModuleType, lambda_context: LambdaContext
) -> None:
    # Given another offered director accepted first
    from directormatch.offers import lifecycle as offers

    other = offer["others"][0]
    answer = offers.accept(aws.request_store(), aws.director_store(), offer["request_id"], other, via="link")
    assert answer.outcome == offers.Outcome.ACCEPTED
    sent_before = len(aws.sent_emails())

    # When our director replies ACCEPT
    result = respond_app.lambda_handler(reply_event(aws, offer, "ACCEPT"), lambda_context)

    # Then nothing changes for them and they are told the position is filled
    assert result == {"outcomes": ["TOO_LATE"]}
    assert statuses(aws, offer) == ("MATCHED", "SUPERSEDED")
    [told] = aws.sent_emails()[sent_before:]
    assert "accepted this position first" in told.raw_data


def received_event(aws: Aws, offer: dict[str, Any], forgery: Forgery, body: str) -> Any:
    """The SNS event of a corpus message, received as the local stack's POST /_inbound receives it."""
    director = offer["profile"]["email"]
    to = reply_address(offer["request_id"], offer["director_id"], aws.environment["INBOUND_DOMAIN"])
    query = {name: [value] for name, value in forgery.query(director, to).items()}
    return sns_event(received(forgery.message(director, to, body), query), "InboundMailTopic")


@pytest.fixture
def respond_logs() -> Iterator[StringIO]:
    """What the Powertools logger writes (its JSON lines), while the test runs."""
    from directormatch.observability import logger

    handler: Any = logger.registered_handler
    logs = StringIO()
    previous = handler.setStream(logs)
    try:
        yield logs
    finally:
        handler.setStream(previous)


def test_forged_replies_change_nothing_send_nothing_and_log_no_address(
    aws: Aws,
    offer: dict[str, Any],
    respond_app: ModuleType,
    lambda_context: LambdaContext,
    respond_logs: StringIO,
) -> None:
    # Given every forged reply of the corpus, accepting or asking what would earn a helpful answer
    sent_before = len(aws.sent_emails())
    tables_before = (aws.items(), aws.items(aws.directors_table))
    bodies = ("ACCEPT", "What is this about?")

    # When respond receives each through SES and SNS
    outcomes = {
        (forgery.name, body): respond_app.lambda_handler(
            received_event(aws, offer, forgery, body), lambda_context
        )
        for forgery in FORGERIES
        for body in bodies
    }

    # Then each is refused as the corpus says, no item changed and no email went anywhere
    assert outcomes == {(f.name, body): {"outcomes": [f.outcome]} for f in FORGERIES for body in bodies}
    assert (aws.items(), aws.items(aws.directors_table)) == tables_before
    assert len(aws.sent_emails()) == sent_before
    # And the log says why with reason codes, naming neither the director nor the forger
    logged = respond_logs.getvalue()
    assert {f.reason for f in FORGERIES if f.outcome == "REFUSED_SENDER"} <= set(
        re.findall(r'"reason":"(\w+)"', logged)
    )
    assert offer["profile"]["email"].split("@")[0] not in logged
    assert ATTACKER.split("@")[0] not in logged


def test_genuine_reply_beside_the_corpus_accepts(
    aws: Aws, offer: dict[str, Any], respond_app: ModuleType, lambda_context: LambdaContext
) -> None:
    # Given the director's own reply, built and received as the forgeries are
    event = received_event(aws, offer, GENUINE, "ACCEPT")

    # When respond receives it / Then the offer is accepted by reply
    assert respond_app.lambda_handler(event, lambda_context) == {"outcomes": ["ACTED"]}
    assert statuses(aws, offer) == ("MATCHED", "ACCEPTED")


def test_reply_pause_declines_and_pauses_new_offers_for_fourteen_days_once(
    aws: Aws, offer: dict[str, Any], respond_app: ModuleType, lambda_context: LambdaContext
) -> None:
    # Given a reply whose first line is "Pause" from the offered director
    from datetime import UTC, datetime, timedelta

    event = reply_event(aws, offer, "Pause")

    # When respond receives it, and then the same reply again (SNS redelivers)
    first = respond_app.lambda_handler(event, lambda_context)
    profile_after_first = aws.director_store().get_profile(offer["director_id"], consistent=True)
    again = respond_app.lambda_handler(event, lambda_context)

    # Then the offer is declined and the director paused about 14 days, on PROFILE and every LICENSE item
    assert first == {"outcomes": ["ACTED"]}
    assert statuses(aws, offer) == ("OFFERED", "DECLINED")
    assert profile_after_first is not None
    assert profile_after_first.paused_until is not None
    ends = datetime.fromisoformat(profile_after_first.paused_until)
    assert abs(ends - (datetime.now(UTC) + timedelta(days=14))) < timedelta(minutes=5)
    items = [i for i in aws.items(aws.directors_table) if i["pk"] == offer["director_id"]]
    assert all(i["paused"] is True for i in items if i["sk"].startswith(("PROFILE", "LICENSE#")))
    [audit] = [i for i in items if i["sk"].startswith("AUDIT#")]
    assert audit["via"] == {"channel": "reply", "source": offer["request_id"]}
    # And the redelivery changed nothing more: no second audit, the same pause
    assert again == {"outcomes": ["TOO_LATE"]}
    assert aws.director_store().get_profile(offer["director_id"], consistent=True) == profile_after_first


def test_reply_pause_on_a_filled_offer_still_pauses_and_the_answer_says_both(
    aws: Aws, offer: dict[str, Any], respond_app: ModuleType, lambda_context: LambdaContext
) -> None:
    # Given the request filled by another director
    from email import message_from_string, policy

    from directormatch.offers import lifecycle

    lifecycle.accept(
        aws.request_store(), aws.director_store(), offer["request_id"], offer["others"][0], "link"
    )

    # When the offered director replies PAUSE
    result = respond_app.lambda_handler(reply_event(aws, offer, "pause"), lambda_context)

    # Then they are paused, and the one answer says the position was filled and until when they are paused
    assert result == {"outcomes": ["ACTED"]}
    profile = aws.director_store().get_profile(offer["director_id"], consistent=True)
    assert profile is not None
    assert profile.paused
    answers = [message_from_string(m.raw_data, policy=policy.default) for m in aws.sent_emails()]
    [answer] = [
        m
        for m in answers
        if "reply_outcome" in str(m["Message-ID"]) or "reply_answer" in str(m["Message-ID"])
    ]
    text = answer.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "New offers are paused until" in text
