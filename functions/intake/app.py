"""POST /quote-requests: validate, store once, answer 201. GET /quote-requests/{id}: the status page.

JSON clients (the form's script, curl) get JSON. The same form posted without JavaScript
(application/x-www-form-urlencoded) goes to `form_app`, which answers with pages.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from directormatch.aws import tables
from directormatch.aws.requests_table import Created
from directormatch.intake import contract
from directormatch.intake import form as quote_form
from directormatch.intake import submit as intake
from directormatch.intake.contract import QuoteAccepted, QuoteRequest
from directormatch.intake.http import read_form, read_quote, validate_quote
from directormatch.links import status_link
from directormatch.observability import MetricName, logger, metrics, tracer
from directormatch.references import new_reference
from directormatch.resolvers import LINK_PAGE_HEADERS, Audience, Routes, page_response
from directormatch.settings import get_settings

# SnapStart: the snapshot holds built validators, so no restored copy builds them on a request.
contract.register_before_snapshot()
app = Routes(Audience.API, MetricName.QUOTE_REJECTED)
form_app = Routes(Audience.FORM, MetricName.QUOTE_REJECTED)


def _store(quote: QuoteRequest, idempotency_key: str | None) -> tuple[Created, str]:
    """Stores the request once; what was stored and the signed link to its status page."""
    settings = get_settings()
    created: Created = intake.submit(
        quote,
        idempotency_key,
        tables.requests(),
        settings.idempotency_hours,
        correlation_id=logger.get_correlation_id(),
    )
    logger.append_keys(request_id=created.request_id)
    metric = MetricName.QUOTE_REPLAYED if created.replayed else MetricName.QUOTE_RECEIVED
    metrics.add_metric(name=metric, unit="Count", value=1)
    logger.info("quote request stored", extra={"replayed": created.replayed, "states": len(quote.states)})
    return created, status_link(settings.public_base_url, created.request_id, created.created_at)


@app.post("/quote-requests")
def create_quote_request() -> Response[str]:
    """The contract (contract.QuoteRequest, documented at GET /openapi.json), answered in JSON.
    Location is the status page: the request's id alone opens nothing without its signed token."""
    quote, idempotency_key = read_quote(app.current_event, get_settings().max_body_bytes)
    created, status_url = _store(quote, idempotency_key)
    accepted = QuoteAccepted(
        request_id=created.request_id, reference=created.reference, status_url=status_url
    )
    return Response(
        status_code=int(HTTPStatus.CREATED),
        content_type="application/json",
        body=accepted.model_dump_json(),
        headers={"Location": status_url},
    )


@form_app.post("/quote-requests")
def create_quote_request_from_form() -> Response[str]:
    """The quote form without JavaScript: the same contract, answered with a page."""
    post = read_form(form_app.current_event, get_settings().max_body_bytes, quote_form.parse)
    if post.honeypot:
        # A bot filled the hidden field: thank it as if stored, store nothing.
        metrics.add_metric(name=MetricName.QUOTE_HONEYPOT, unit="Count", value=1)
        logger.info("honeypot filled; nothing stored")
        return page_response(HTTPStatus.CREATED, quote_form.received_page(new_reference()))
    quote = validate_quote(post.fields)
    created, status_url = _store(quote, intake.form_idempotency_key(quote))
    return page_response(
        HTTPStatus.CREATED,
        quote_form.received_page(created.reference, status_url),
        {"Location": status_url},
    )


@app.get("/openapi.json")
def openapi_document() -> Response[str]:
    """The contract as OpenAPI 3 JSON (for clients and schema fuzzing); no Swagger UI is served."""
    from directormatch.intake import openapi

    document = json.dumps(openapi.document())
    return Response(200, "application/json", document, {"Cache-Control": "max-age=300"})


@app.get("/quote-requests/<request_id>")
def show_status(request_id: str) -> Response[str]:
    """The clinic's status page; the link in the receipt email carries a signed token.
    Its module (pages, Jinja2) loads here: a quote request never needs it."""
    from directormatch.intake import status_page

    status_page.check_link(app.current_event.get_query_string_value("token", "") or "", request_id)
    page = status_page.status_page(request_id, tables.requests(), tables.directors())
    return page_response(page.status, page.html, LINK_PAGE_HEADERS)


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    resolver = form_app if quote_form.is_form_post(event) else app
    return resolver.resolve(event, context)
