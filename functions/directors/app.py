"""Directors manage themselves by their signed link: GET /manage/{token} shows what we hold about
them and changes nothing; POST /manage/{token}/{change} applies one change (pause, resume, capacity,
modalities, fees) on condition that the profile is still the one the page showed."""

from __future__ import annotations

from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from directormatch import tokens
from directormatch.aws import tables
from directormatch.errors import RequestRejected, TokenInvalid
from directormatch.links import manage_link
from directormatch.mail.messages import manage_confirmation_email, ops_director_note_email
from directormatch.mail.render import Mailer, render_page
from directormatch.manage.page import manage_page
from directormatch.manage.service import Outcome, Result, Via, read_director, send_quietly, submit
from directormatch.observability import MetricName, logger, metrics, tracer
from directormatch.offers.pages import Page
from directormatch.resolvers import LINK_PAGE_HEADERS, Audience, Routes, page_response
from directormatch.settings import get_settings
from directormatch.vocabulary import Action

app = Routes(Audience.MANAGE_LINKS, MetricName.LINK_POST_REJECTED)
MAX_FORM_BYTES = 4096
MAX_FORM_FIELDS = 40
NOTICES: dict[Outcome, tuple[HTTPStatus, str]] = {
    Outcome.STALE: (
        HTTPStatus.CONFLICT,
        "Nothing was changed: your profile changed since this page was shown (in another tab, or by "
        "our team). This page now shows it as it is: make your change again.",
    ),
    Outcome.NOT_FOUND: (HTTPStatus.NOT_FOUND, "We could not find your profile."),
}


def html(page: Page) -> Response[str]:
    return page_response(page.status, page.html, LINK_PAGE_HEADERS)


def _claims(token: str) -> tokens.Claims:
    claims = tokens.verify(tokens.keyring(), token)
    if claims.action != Action.MANAGE:
        raise TokenInvalid("link is for another action")
    logger.append_keys(director_id=claims.subject)
    return claims


def _page(
    token: str, claims: tokens.Claims, notice: str | None = None, status: HTTPStatus = HTTPStatus.OK
) -> Response[str]:
    director = read_director(tables.directors(), tables.requests(), claims.subject)
    if director is None:
        return html(Page(HTTPStatus.NOT_FOUND, _not_found()))
    post_url = f"{get_settings().public_base_url.rstrip('/')}/manage/{token}"
    return html(manage_page(director, post_url, datetime.now(UTC), notice, status))


def _not_found() -> str:
    return render_page(
        "page_result", heading="Profile not found", message=NOTICES[Outcome.NOT_FOUND][1], bad=True
    )


@app.get("/manage/<token>")
def show(token: str) -> Response[str]:
    claims = _claims(token)
    logger.info("manage link opened")
    return _page(token, claims)


@app.post("/manage/<token>/<change>")
def change(token: str, change: str) -> Response[str]:
    claims = _claims(token)
    now = datetime.now(UTC)
    via = Via("manage_link", claims.request_id, {"expires_at": claims.expires_at, "kid": claims.kid})
    result = submit(tables.directors(), claims.subject, change, _form(), via, now)
    logger.info("manage form posted", extra={"change": change, "outcome": result.outcome.value})
    if result.outcome is Outcome.CHANGED:
        _tell(claims.subject, result, now)
        return _page(token, claims, " ".join(result.change.summary) if result.change else None)
    if result.outcome is Outcome.INVALID and result.problem is not None:
        return _page(
            token, claims, f"Nothing was changed: {result.problem.message}", HTTPStatus.UNPROCESSABLE_ENTITY
        )
    status, notice = NOTICES[result.outcome]
    return _page(token, claims, notice, status)


def _form() -> dict[str, list[str]]:
    body = app.current_event.decoded_body or ""
    if len(body.encode()) > MAX_FORM_BYTES:
        raise RequestRejected(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body", "form too large", "too_large")
    try:
        return parse_qs(body, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError:
        raise RequestRejected(HTTPStatus.BAD_REQUEST, "body", "too many form fields", "form_fields") from None


def _tell(director_id: str, result: Result, now: datetime) -> None:
    """The director's confirmation (with a new manage link), and ops' note when the change asks them."""
    settings = get_settings()
    profile = tables.directors().get_profile(director_id, consistent=True)
    if profile is None or result.change is None:
        return
    mailer = Mailer(settings.sender_email, settings.ses_configuration_set)
    link = manage_link(settings.public_base_url, director_id, "confirmation", now)
    send_quietly(mailer, manage_confirmation_email(profile, result.change, link))
    if result.change.asked_of_ops:
        send_quietly(mailer, ops_director_note_email(settings.ops_email, profile, result.change))


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
