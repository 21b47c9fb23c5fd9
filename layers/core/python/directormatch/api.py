"""The REST resolver and every mapping from an error to an HTTP answer."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from directormatch.errors import IdempotencyConflict, StoreUnavailable
from directormatch.models import ErrorBody, FieldError
from directormatch.observability import MetricName, logger, metrics
from directormatch.settings import get_settings

JSON_TYPES = ("application/json",)
RETRY_AFTER_SECONDS = "2"


class RequestRejected(Exception):
    """A request refused before validation: wrong size or media type, or unreadable JSON."""

    def __init__(self, status: HTTPStatus, field: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.message = message


def error_response(
    status: HTTPStatus, errors: list[FieldError], headers: dict[str, str] | None = None
) -> Response[Any]:
    return Response(
        status_code=int(status),
        content_type=content_types.APPLICATION_JSON,
        body=ErrorBody(errors=errors).model_dump_json(),
        headers=headers,
    )


def check_envelope(event: Any, max_body_bytes: int) -> None:
    """Size and media type first: a 100 KB body is refused as too large, not as 40 invalid fields."""
    body = event.body or ""
    size = len(body.encode()) if not event.is_base64_encoded else len(body) * 3 // 4
    if size > max_body_bytes:
        raise RequestRejected(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            "body",
            f"body is {size} bytes; the limit is {max_body_bytes}",
        )
    content_type = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type and content_type not in JSON_TYPES and not content_type.endswith("+json"):
        raise RequestRejected(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "content-type",
            f"'{content_type}' is not accepted; send application/json",
        )


def rejection(error: RequestRejected) -> Response[Any]:
    metrics.add_metric(name=MetricName.QUOTE_REJECTED, unit="Count", value=1)
    logger.info("request rejected", extra={"status": int(error.status), "field": error.field})
    return error_response(error.status, [FieldError(field=error.field, message=error.message)])


def _field_errors(errors: list[dict[str, Any]]) -> list[FieldError]:
    result = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ()) if part != "body"]
        field = ".".join(loc) or "body"
        if error.get("type") == "extra_forbidden":
            message = "is not a field of this request"
        elif error.get("type") == "missing":
            message = "is required"
        else:
            message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
        result.append(FieldError(field=field, message=message))
    return result


def make_resolver() -> APIGatewayRestResolver:
    settings = get_settings()
    app = APIGatewayRestResolver(
        enable_validation=True,
        cors=CORSConfig(allow_origin=settings.site_origin, allow_headers=["Idempotency-Key"], max_age=600),
    )

    app.exception_handler(RequestRejected)(rejection)

    @app.exception_handler([RequestValidationError, RequestUnsupportedContentType])
    def invalid(error: RequestValidationError) -> Response[Any]:
        # The envelope decides first: an oversized or non-JSON body fails validation too.
        try:
            check_envelope(app.current_event, settings.max_body_bytes)
        except RequestRejected as rejected_error:
            return rejection(rejected_error)
        errors = list(error.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            detail = str(errors[0].get("ctx", {}).get("error", "unreadable"))
            return rejection(
                RequestRejected(HTTPStatus.BAD_REQUEST, "body", f"body is not valid JSON: {detail}")
            )
        field_errors = _field_errors(errors)
        metrics.add_metric(name=MetricName.QUOTE_REJECTED, unit="Count", value=1)
        logger.info("request invalid", extra={"fields": [e.field for e in field_errors]})
        return error_response(HTTPStatus.UNPROCESSABLE_ENTITY, field_errors)

    @app.exception_handler(IdempotencyConflict)
    def conflict(error: IdempotencyConflict) -> Response[Any]:
        metrics.add_metric(name=MetricName.QUOTE_CONFLICT, unit="Count", value=1)
        logger.info("idempotency key reused with another body")
        return error_response(HTTPStatus.CONFLICT, [FieldError(field="Idempotency-Key", message=str(error))])

    @app.exception_handler(StoreUnavailable)
    def unavailable(error: StoreUnavailable) -> Response[Any]:
        logger.warning("store unavailable", extra={"reason": str(error)})
        return error_response(
            HTTPStatus.SERVICE_UNAVAILABLE,
            [
                FieldError(
                    field="body",
                    message="we could not save your request right now; nothing was saved, please retry",
                )
            ],
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )

    @app.exception_handler(Exception)
    def unexpected(error: Exception) -> Response[Any]:
        logger.exception("unexpected error")
        return error_response(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            [FieldError(field="body", message="internal error; please retry")],
        )

    return app
