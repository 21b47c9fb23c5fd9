"""POST /quote-requests: validate, store once, answer 201 with the request id."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Header
from aws_lambda_powertools.utilities.typing import LambdaContext

from directormatch import intake
from directormatch.api import check_envelope, make_resolver
from directormatch.models import ErrorBody, QuoteAccepted, QuoteRequest
from directormatch.observability import MetricName, logger, metrics, tracer
from directormatch.settings import get_settings
from directormatch.store import RequestStore

app = make_resolver()


@app.post(
    "/quote-requests",
    summary="Ask for a medical director quote",
    responses={
        201: {"description": "Stored", "content": {"application/json": {"model": QuoteAccepted}}},
        400: {"description": "Unreadable JSON", "content": {"application/json": {"model": ErrorBody}}},
        409: {"description": "Idempotency-Key reused", "content": {"application/json": {"model": ErrorBody}}},
        413: {"description": "Body too large", "content": {"application/json": {"model": ErrorBody}}},
        415: {"description": "Not JSON", "content": {"application/json": {"model": ErrorBody}}},
        422: {"description": "Invalid fields", "content": {"application/json": {"model": ErrorBody}}},
        503: {"description": "Try again", "content": {"application/json": {"model": ErrorBody}}},
    },
)
def create_quote_request(
    quote: Annotated[QuoteRequest, Body()],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> Response[QuoteAccepted]:
    settings = get_settings()
    check_envelope(app.current_event, settings.max_body_bytes)
    store = RequestStore(settings.requests_table)
    created = intake.submit(quote, idempotency_key, store, settings.idempotency_hours)
    logger.append_keys(request_id=created.request_id)
    metric = MetricName.QUOTE_REPLAYED if created.replayed else MetricName.QUOTE_RECEIVED
    metrics.add_metric(name=metric, unit="Count", value=1)
    logger.info("quote request stored", extra={"replayed": created.replayed, "states": len(quote.states)})
    return Response(
        status_code=int(HTTPStatus.CREATED),
        content_type=content_types.APPLICATION_JSON,
        body=QuoteAccepted(request_id=created.request_id),
        headers={"Location": f"/quote-requests/{created.request_id}"},
    )


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
