"""POST /quote-requests: validate, store once, answer 201. GET /quote-requests/{id}: the status page.

JSON clients (the form's script, curl) get JSON. The same form posted without JavaScript
(application/x-www-form-urlencoded) goes to `form_app`, which answers with pages.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from ulid import ULID

from directormatch import tokens
from directormatch.aws.store import Created, DirectorStore, RequestStore
from directormatch.intake import form as quote_form
from directormatch.intake import submit as intake
from directormatch.intake.contract import QuoteAccepted, QuoteRequest
from directormatch.intake.http import (
    RequestRejected,
    check_envelope,
    make_form_resolver,
    make_resolver,
    page_response,
    read_quote,
    validate_form,
)
from directormatch.observability import MetricName, logger, metrics, tracer
from directormatch.settings import get_settings

app = make_resolver()
form_app = make_form_resolver()


def _stored(created: Created, quote: QuoteRequest) -> None:
    logger.append_keys(request_id=created.request_id)
    metric = MetricName.QUOTE_REPLAYED if created.replayed else MetricName.QUOTE_RECEIVED
    metrics.add_metric(name=metric, unit="Count", value=1)
    logger.info("quote request stored", extra={"replayed": created.replayed, "states": len(quote.states)})


@app.post("/quote-requests")
def create_quote_request() -> Response[dict[str, str]]:
    """The contract (models.QuoteRequest, documented at GET /openapi.json), answered in JSON."""
    settings = get_settings()
    quote, idempotency_key = read_quote(app.current_event, settings.max_body_bytes)
    store = RequestStore(settings.requests_table)
    created = intake.submit(
        quote, idempotency_key, store, settings.idempotency_hours, correlation_id=logger.get_correlation_id()
    )
    _stored(created, quote)
    return Response(
        status_code=int(HTTPStatus.CREATED),
        content_type=content_types.APPLICATION_JSON,
        body=QuoteAccepted(request_id=created.request_id).to_json(),
        headers={"Location": f"/quote-requests/{created.request_id}"},
    )


@form_app.post("/quote-requests")
def create_quote_request_from_form() -> Response[str]:
    """The quote form without JavaScript: the same contract, answered with a page."""
    settings = get_settings()
    event = form_app.current_event
    check_envelope(event, settings.max_body_bytes, accepted=(quote_form.FORM_CONTENT_TYPE,))
    try:
        post = quote_form.parse(event.decoded_body or "")
    except ValueError:
        raise RequestRejected(HTTPStatus.BAD_REQUEST, "body", "too many form fields") from None
    if post.honeypot:
        # A bot filled the hidden field: thank it as if stored, store nothing.
        metrics.add_metric(name=MetricName.QUOTE_HONEYPOT, unit="Count", value=1)
        logger.info("honeypot filled; nothing stored")
        return page_response(HTTPStatus.CREATED, quote_form.received_page(str(ULID())))
    quote = validate_form(post.fields)
    store = RequestStore(settings.requests_table)
    created = intake.submit(
        quote,
        intake.form_idempotency_key(quote),
        store,
        settings.idempotency_hours,
        correlation_id=logger.get_correlation_id(),
    )
    _stored(created, quote)
    return page_response(
        HTTPStatus.CREATED,
        quote_form.received_page(created.request_id),
        {"Location": f"/quote-requests/{created.request_id}"},
    )


@app.get("/openapi.json")
def openapi_document() -> Response[str]:
    """The contract as OpenAPI 3 JSON (for clients and schema fuzzing); no Swagger UI is served.
    Built on first ask: it imports pydantic, which the quote requests themselves do without."""
    from directormatch.intake import openapi

    document = json.dumps(openapi.document())
    return Response(200, content_types.APPLICATION_JSON, document, {"Cache-Control": "max-age=300"})


@app.get("/quote-requests/<request_id>")
def show_status(request_id: str) -> Response[str]:
    """The clinic's status page; the link in the receipt email carries a signed token.
    Its modules (pages, notifications' words) load here: a quote request never needs them."""
    from directormatch.intake import status_page as status
    from directormatch.mail.render import render_page
    from directormatch.offers.pages import LinkHolder, token_error_page

    token = app.current_event.get_query_string_value("token", "") or ""
    try:
        claims = tokens.verify(tokens.keyring(), token)
        if claims.action != tokens.Action.STATUS or claims.request_id != request_id:
            raise tokens.TokenInvalid("link is for another request")
    except tokens.TokenError as error:
        logger.info("status link refused", extra={"reason": type(error).__name__})
        page = token_error_page(error, LinkHolder.CLINIC)
        return Response(int(page.status), content_types.TEXT_HTML, page.html, {"Cache-Control": "no-store"})
    settings = get_settings()
    items = RequestStore(settings.requests_table).partition(request_id)
    if not any(item["sk"] == "REQUEST" for item in items):
        return Response(
            404,
            content_types.TEXT_HTML,
            render_page(
                "page_result", heading="Not found", message="We could not find this request.", bad=True
            ),
        )
    request = next(item for item in items if item["sk"] == "REQUEST")
    accepted = [
        i["director_id"] for i in items if i["sk"].startswith("OFFER#") and i["offer_status"] == "ACCEPTED"
    ]
    directors = DirectorStore(settings.directors_table, settings.directors_by_state_index)
    profiles = (
        [p for d in accepted if (p := directors.get_profile(d))]
        if request["request_status"] == "MATCHED"
        else []
    )
    html = render_page("page_status", **status.page_context(items, profiles))  # type: ignore[arg-type]
    return Response(
        200, content_types.TEXT_HTML, html, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    )


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    resolver = form_app if quote_form.is_form_post(event) else app
    return resolver.resolve(event, context)
