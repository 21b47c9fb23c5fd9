"""The REST resolver and every mapping from an error to an HTTP answer."""

from __future__ import annotations

import base64
import binascii
import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from directormatch.errors import IdempotencyConflict, StoreUnavailable
from directormatch.intake import form as quote_form
from directormatch.intake.contract import IDEMPOTENCY_KEY_MAX_LENGTH, ErrorBody, FieldError, QuoteRequest
from directormatch.intake.schema import ContractError
from directormatch.observability import MetricName, logger, metrics
from directormatch.settings import get_settings

JSON_TYPES = ("application/json",)
RETRY_AFTER_SECONDS = "2"


class QuoteInvalid(Exception):
    """The body or the Idempotency-Key of a JSON quote request breaks the contract (a 422)."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(f"{len(errors)} invalid fields")
        self.errors = errors


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
        body=json.dumps(ErrorBody(errors=errors).to_json(), separators=(",", ":"), ensure_ascii=False),
        headers=headers,
    )


def check_envelope(event: Any, max_body_bytes: int, accepted: tuple[str, ...] = JSON_TYPES) -> None:
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
    json_like = accepted == JSON_TYPES and content_type.endswith("+json")
    if content_type and content_type not in accepted and not json_like:
        raise RequestRejected(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "content-type",
            f"'{content_type}' is not accepted; send {accepted[0]}",
        )
    decoded_body(event)


def decoded_body(event: Any) -> str:
    """The body as text; a base64 body that does not decode, or bytes that are not UTF-8, are a 400."""
    body = event.body or ""
    if not event.is_base64_encoded:
        return str(body)
    try:
        raw = base64.b64decode(body.encode())
    except (binascii.Error, ValueError):
        raise RequestRejected(
            HTTPStatus.BAD_REQUEST, "body", "body is marked base64 but is not base64"
        ) from None
    try:
        return raw.decode()
    except UnicodeDecodeError as error:
        raise RequestRejected(
            HTTPStatus.BAD_REQUEST, "body", f"body is not valid UTF-8 (byte {error.start} cannot be read)"
        ) from None


def parse_json_body(text: str) -> Any:
    """One JSON object, or a RequestRejected naming the problem (nesting deeper than Python's
    recursion limit would otherwise raise RecursionError, a 500)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise RequestRejected(
            HTTPStatus.BAD_REQUEST, "body", f"body is not valid JSON: {error.msg}"
        ) from None
    except RecursionError:
        raise RequestRejected(HTTPStatus.BAD_REQUEST, "body", "body is nested too deeply to read") from None
    if not isinstance(value, dict):
        # The words pydantic gives a body of the wrong type.
        raise RequestRejected(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "body",
            "Input should be a valid dictionary or object to extract fields from",
        )
    return value


def read_quote(event: Any, max_body_bytes: int) -> tuple[QuoteRequest, str | None]:
    """The JSON route's input: the envelope first, then the body and the Idempotency-Key, whose
    errors are reported together (QuoteInvalid; the header's first, as the client sent it)."""
    check_envelope(event, max_body_bytes)
    key = event.headers.get("idempotency-key")
    errors = []
    if key is not None and len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        message = f"String should have at most {IDEMPOTENCY_KEY_MAX_LENGTH} characters"
        errors.append(FieldError(field="Idempotency-Key", message=message))
    text = decoded_body(event)
    if not text:
        raise QuoteInvalid([*errors, FieldError(field="body", message="is required")])
    body = parse_json_body(text)
    try:
        quote = QuoteRequest.validate(body)
    except ContractError as error:
        raise QuoteInvalid([*errors, *contract_errors(error)]) from None
    if errors:
        raise QuoteInvalid(errors)
    return quote, key


def rejection(error: RequestRejected) -> Response[Any]:
    metrics.add_metric(name=MetricName.QUOTE_REJECTED, unit="Count", value=1)
    logger.info("request rejected", extra={"status": int(error.status), "field": error.field})
    return error_response(error.status, [FieldError(field=error.field, message=error.message)])


def internal_error() -> Response[Any]:
    """The generic 500 (logged with the exception being handled)."""
    logger.exception("unexpected error")
    return error_response(
        HTTPStatus.INTERNAL_SERVER_ERROR,
        [FieldError(field="body", message="internal error; please retry")],
    )


def contract_errors(error: ContractError) -> list[FieldError]:
    """The contract's errors as {field, message} pairs (they never carry the input)."""
    return _field_errors(error.errors())


def _field_errors(errors: list[dict[str, Any]]) -> list[FieldError]:
    result = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ()) if part != "body"]
        if loc[:1] == ["header"]:
            # ("header", "idempotency-key") -> "Idempotency-Key", as the client sent it and a 409 names it
            loc = ["-".join(word.capitalize() for word in loc[-1].split("-"))]
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
    """The JSON API's resolver: routes validate their input themselves (read_quote), so Powertools'
    OpenAPI validation, and the pydantic it needs, stay off intake's cold start (issue 8)."""
    settings = get_settings()
    app = APIGatewayRestResolver(
        cors=CORSConfig(allow_origin=settings.site_origin, allow_headers=["Idempotency-Key"], max_age=600),
    )

    @app.exception_handler(RequestRejected)
    def rejected(error: RequestRejected) -> Response[Any]:
        return rejection(error)

    @app.exception_handler(QuoteInvalid)
    def invalid(error: QuoteInvalid) -> Response[Any]:
        metrics.add_metric(name=MetricName.QUOTE_REJECTED, unit="Count", value=1)
        logger.info("request invalid", extra={"fields": [e.field for e in error.errors]})
        return error_response(HTTPStatus.UNPROCESSABLE_ENTITY, error.errors)

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

    @app.not_found
    def not_found(error: NotFoundError) -> Response[Any]:
        # Without it the catch-all below would answer an unknown path or method with a 500.
        logger.info("no such route")
        return error_response(HTTPStatus.NOT_FOUND, [FieldError(field="path", message="no such resource")])

    @app.exception_handler(Exception)
    def unexpected(error: Exception) -> Response[Any]:
        return internal_error()

    return app


def validate_form(fields: dict[str, Any]) -> QuoteRequest:
    """The form's fields as the contract's model, or FormInvalid with the errors a JSON client gets."""
    try:
        return QuoteRequest.validate(fields)
    except ContractError as error:
        raise quote_form.FormInvalid(contract_errors(error)) from None


def page_response(status: HTTPStatus, html: str, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=int(status),
        content_type=content_types.TEXT_HTML,
        body=html,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def make_form_resolver() -> APIGatewayRestResolver:
    """The resolver for the quote form posted without JavaScript: the same errors, answered as pages.

    A form post is a top-level navigation, not a cross-origin read, so it carries no CORS headers.
    """
    app = APIGatewayRestResolver()

    def referer() -> str | None:
        return app.current_event.headers.get("referer")

    @app.exception_handler(RequestRejected)
    def rejected(error: RequestRejected) -> Response[str]:
        metrics.add_metric(name=MetricName.QUOTE_REJECTED, unit="Count", value=1)
        logger.info("form post rejected", extra={"status": int(error.status), "field": error.field})
        message = (
            "Your request is longer than we accept. Shorten the notes and send it again."
            if error.status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
            else "Your browser sent the form in a way we could not read. Please try again."
        )
        return page_response(error.status, quote_form.problem_page("Request not sent", message, referer()))

    @app.exception_handler(quote_form.FormInvalid)
    def invalid(error: quote_form.FormInvalid) -> Response[str]:
        metrics.add_metric(name=MetricName.QUOTE_REJECTED, unit="Count", value=1)
        logger.info("form post invalid", extra={"fields": [e.field for e in error.errors]})
        return page_response(
            HTTPStatus.UNPROCESSABLE_ENTITY, quote_form.invalid_page(error.errors, referer())
        )

    @app.exception_handler(StoreUnavailable)
    def unavailable(error: StoreUnavailable) -> Response[str]:
        logger.warning("store unavailable", extra={"reason": str(error)})
        page = quote_form.problem_page(
            "Please try again",
            "We could not save your request just now, and nothing was saved. "
            "Go back and send it again in a moment.",
            referer(),
        )
        return page_response(HTTPStatus.SERVICE_UNAVAILABLE, page, {"Retry-After": RETRY_AFTER_SECONDS})

    @app.not_found
    def not_found(error: NotFoundError) -> Response[str]:
        page = quote_form.problem_page("Not found", "There is no such page.", referer())
        return page_response(HTTPStatus.NOT_FOUND, page)

    @app.exception_handler(Exception)
    def unexpected(error: Exception) -> Response[str]:
        logger.exception("unexpected error")
        page = quote_form.problem_page(
            "Something went wrong",
            "We could not take your request because of an error on our side. Please try again.",
            referer(),
        )
        return page_response(HTTPStatus.INTERNAL_SERVER_ERROR, page)

    return app
