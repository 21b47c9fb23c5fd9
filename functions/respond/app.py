"""Directors answer offers: links (GET /offers/{token} shows, POST .../accept|decline acts) and
email replies (SES receipt notifications through SNS)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from directormatch import tokens
from directormatch.aws import tables
from directormatch.errors import TokenInvalid
from directormatch.mail.delivery import delivery_from_settings
from directormatch.mail.messages import reading_zone
from directormatch.manage.service import Via, decline_and_pause
from directormatch.observability import MetricName, logger, metrics, tracer
from directormatch.offers import lifecycle as offers
from directormatch.offers.inbound_mail import parse_notification
from directormatch.offers.pages import Page, confirm_page, result_page
from directormatch.offers.replies import handle_reply
from directormatch.resolvers import LINK_PAGE_HEADERS, Audience, Routes, page_response
from directormatch.settings import get_settings
from directormatch.vocabulary import Action

app = Routes(Audience.OFFER_LINKS, MetricName.LINK_POST_REJECTED)
OFFER_ACTIONS = (Action.ACCEPT, Action.DECLINE, Action.DECLINE_PAUSE)


def html(page: Page) -> Response[str]:
    return page_response(page.status, page.html, LINK_PAGE_HEADERS)


def _claims(token: str, action: str | None = None) -> tokens.Claims:
    """The token's claims; a TokenError (answered by the resolver with its page) when it fails."""
    claims = tokens.verify(tokens.keyring(), token)
    if claims.action not in OFFER_ACTIONS or (action is not None and claims.action != action):
        raise TokenInvalid("link is for another action")
    return claims


@app.get("/offers/<token>")
def show_offer(token: str) -> Response[str]:
    claims = _claims(token)
    offer, request = offers.read_state(tables.requests(), claims.request_id, claims.subject)
    blocked = offers.explain(offer, request, datetime.now(UTC))
    if offer is None:
        return html(result_page(offers.Answer(offers.Outcome.NOT_FOUND)))
    logger.append_keys(request_id=claims.request_id, director_id=claims.subject)
    logger.info("offer link opened", extra={"action": claims.action.value, "blocked": blocked})
    # Absolute: behind the raw API Gateway URL a host-relative path would lose the stage prefix.
    post_url = f"{get_settings().public_base_url.rstrip('/')}/offers/{token}/{claims.action.value}"
    profile = tables.directors().get_profile(claims.subject)
    zone = reading_zone(profile, offer)
    return html(confirm_page(claims.action.value, offer, post_url, blocked, zone))


@app.post("/offers/<token>/<action>")
def answer_offer(token: str, action: str) -> Response[str]:
    claims = _claims(token, action)
    logger.append_keys(request_id=claims.request_id, director_id=claims.subject)
    paused = None
    if claims.action == Action.ACCEPT:
        answer = offers.accept(
            tables.requests(), tables.directors(), claims.request_id, claims.subject, via="link"
        )
    elif claims.action == Action.DECLINE_PAUSE:
        via = Via("offer_link", claims.request_id)
        answer, paused = decline_and_pause(
            tables.requests(), tables.directors(), claims.request_id, claims.subject, via, datetime.now(UTC)
        )
    else:
        answer = offers.decline(tables.requests(), claims.request_id, claims.subject, via="link")
    logger.info("offer answered", extra={"action": claims.action.value, "outcome": answer.outcome.value})
    return html(result_page(answer, paused))


def handle_inbound(event: dict[str, Any]) -> dict[str, Any]:
    """SNS records carrying SES receipt notifications of replies to offer emails."""
    settings = get_settings()
    requests, directors = tables.requests(), tables.directors()
    outcomes = []
    for record in event["Records"]:
        notification = json.loads(record["Sns"]["Message"])
        reply = parse_notification(notification, settings.inbound_domain)
        if reply is None:
            logger.info("inbound mail is not a reply to an offer")
            outcomes.append("IGNORED")
            continue
        outcome, _ = handle_reply(reply, requests, directors, delivery_from_settings())
        metrics.add_metric(name=MetricName.REPLY_RECEIVED, unit="Count", value=1)
        outcomes.append(outcome.value)
    return {"outcomes": outcomes}


def _is_sns(event: dict[str, Any]) -> bool:
    records = event.get("Records") or []
    return bool(records) and records[0].get("EventSource") == "aws:sns"


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if _is_sns(event):
        return handle_inbound(event)
    return app.resolve(event, context)
