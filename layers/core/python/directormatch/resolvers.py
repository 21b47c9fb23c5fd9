"""The REST resolvers of intake and respond, and every mapping from an error to an HTTP answer.

One factory, `make_resolver(audience, rejections)`: JSON clients get `{"errors": [{field, message, type}]}`
bodies, a person's browser gets pages. Routes raise (RequestRejected, QuoteInvalid, TokenError, ...)
and never catch: the handlers registered here answer. A function declares its routes on `Routes`,
which builds the resolver on the first call, so no setting (the CORS origin) is read at import.
"""

from __future__ import annotations

from enum import StrEnum
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.event_handler.api_gateway import (
    APIGatewayRestResolver,
    CORSConfig,
    Response,
    Router,
)
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from directormatch.errors import (
    ApplicationConflict,
    ApplicationInvalid,
    IdempotencyConflict,
    QuoteInvalid,
    RequestRejected,
    StoreUnavailable,
    TokenError,
)
from directormatch.observability import MetricName, logger, metrics
from directormatch.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from directormatch.intake.contract import FieldError

JSON = "application/json"
HTML = "text/html"
RETRY_AFTER_SECONDS = "2"
# Pages answering a link hold a token in their URL: never cached, never sent on as a Referer, never indexed.
LINK_PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


class Audience(StrEnum):
    """Who reads the answers of a resolver."""

    API = "api"  # intake's JSON clients (the site's script, curl); its status page is for clinics
    FORM = "form"  # the quote form posted without JavaScript: pages
    APPLICATION_FORM = "application_form"  # the director application form without JavaScript: pages
    OFFER_LINKS = "offer_links"  # directors following offer links: pages
    MANAGE_LINKS = "manage_links"  # directors following their manage link: pages


def json_response(
    status: HTTPStatus, errors: list[FieldError], headers: dict[str, str] | None = None
) -> Response[str]:
    from directormatch.intake.contract import ErrorBody

    body = ErrorBody(errors=errors).model_dump_json(exclude_none=True)
    return Response(status_code=int(status), content_type=JSON, body=body, headers=headers)


def json_error(
    status: HTTPStatus, field: str, message: str, type_: str, headers: dict[str, str] | None = None
) -> Response[str]:
    """One problem as a JSON answer. The contract's models load here: respond, which answers with
    pages only, never imports pydantic."""
    from directormatch.intake.contract import FieldError

    return json_response(status, [FieldError(field=field, message=message, type=type_)], headers)


def page_response(status: HTTPStatus, html: str, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=int(status),
        content_type=HTML,
        body=html,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def make_resolver(audience: Audience, rejections: MetricName) -> APIGatewayRestResolver:
    """A resolver answering every error for `audience`, counting the bodies it refuses under
    `rejections` (each function its own: a bad application is not a bad quote). A form post is a
    top-level navigation, not a cross-origin read, so only the JSON API carries CORS headers."""
    cors = None
    if audience is Audience.API:
        cors = CORSConfig(
            allow_origin=get_settings().site_origin, allow_headers=["Idempotency-Key"], max_age=600
        )
    app = APIGatewayRestResolver(cors=cors)
    answer = _Answers(app, audience, rejections)
    app.exception_handler(RequestRejected)(answer.rejected)
    app.exception_handler(QuoteInvalid)(answer.invalid)
    app.exception_handler(IdempotencyConflict)(answer.conflict)
    app.exception_handler(ApplicationConflict)(answer.already_applied)
    app.exception_handler(StoreUnavailable)(answer.unavailable)
    app.exception_handler(TokenError)(answer.refused_link)
    # Without it the catch-all below would answer an unknown path or method with a 500.
    app.not_found(answer.not_found)
    app.exception_handler(Exception)(answer.unexpected)
    return app


class Routes:
    """A function's routes for one audience, declared as its module loads (`@routes.post(path)`), and
    the resolver answering them, made by `make_resolver` on the first call."""

    def __init__(self, audience: Audience, rejections: MetricName) -> None:
        self.audience = audience
        self.rejections = rejections
        self._router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves its __init__ unannotated
        self.get = self._router.get
        self.post = self._router.post
        self._resolver: APIGatewayRestResolver | None = None

    @property
    def current_event(self) -> APIGatewayProxyEvent:
        """The event being answered (only while `resolve` runs)."""
        return cast("APIGatewayProxyEvent", self._router.current_event)

    def resolve(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        if self._resolver is None:
            resolver = make_resolver(self.audience, self.rejections)
            resolver.include_router(self._router)
            self._resolver = resolver
        return self._resolver.resolve(event, context)


FORMS = (Audience.FORM, Audience.APPLICATION_FORM)


class _Answers:
    """The answer to each error, in the audience's form (JSON bodies or pages)."""

    def __init__(self, app: APIGatewayRestResolver, audience: Audience, rejections: MetricName) -> None:
        self.app = app
        self.audience = audience
        self.rejections = rejections

    def _page(
        self, status: HTTPStatus, heading: str, message: str, headers: dict[str, str] | None = None
    ) -> Response[str]:
        from directormatch.intake import form

        if self.audience in FORMS:
            html = form.problem_page(heading, message, self._referer())
            return page_response(status, html, headers)
        return self._result_page(status, heading, message)

    def _result_page(self, status: HTTPStatus, heading: str, message: str) -> Response[str]:
        from directormatch.mail.render import render_page

        html = render_page("page_result", heading=heading, message=message, bad=True)
        return page_response(status, html, LINK_PAGE_HEADERS)

    def _referer(self) -> str | None:
        return self.app.current_event.headers.get("referer")

    def rejected(self, error: RequestRejected) -> Response[str]:
        metrics.add_metric(name=self.rejections, unit="Count", value=1)
        from directormatch.intake.contract import loggable_field

        logger.info(
            "request rejected", extra={"status": int(error.status), "field": loggable_field(error.field)}
        )
        if self.audience is Audience.API:
            return json_error(error.status, error.field, error.message, error.type)
        message = (
            "Your request is longer than we accept. Shorten the notes and send it again."
            if error.status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
            else "Your browser sent the form in a way we could not read. Please try again."
        )
        return self._page(error.status, "Request not sent", message)

    def invalid(self, error: QuoteInvalid) -> Response[str]:
        from directormatch.intake import contract, form

        metrics.add_metric(name=self.rejections, unit="Count", value=1)
        models = contract.QUOTE_MODELS
        if isinstance(error, ApplicationInvalid):
            from directormatch.applications.contract import APPLICATION_MODELS as models
        fields = [contract.loggable_field(e.field, models) for e in error.errors]
        logger.info("request invalid", extra={"fields": fields})
        if self.audience is Audience.API:
            return json_response(HTTPStatus.UNPROCESSABLE_ENTITY, error.errors)
        words = form.QUOTE_WORDS
        if self.audience is Audience.APPLICATION_FORM:
            from directormatch.applications.form import APPLICATION_WORDS as words
        return page_response(
            HTTPStatus.UNPROCESSABLE_ENTITY, form.invalid_page(error.errors, self._referer(), words)
        )

    def conflict(self, error: IdempotencyConflict) -> Response[str]:
        metrics.add_metric(name=MetricName.QUOTE_CONFLICT, unit="Count", value=1)
        logger.info("idempotency key reused with another body")
        return json_error(HTTPStatus.CONFLICT, "Idempotency-Key", str(error), "idempotency_conflict")

    def already_applied(self, error: ApplicationConflict) -> Response[str]:
        logger.info("application conflicts with a director on file")
        if self.audience is Audience.API:
            return json_error(HTTPStatus.CONFLICT, "npi", str(error), "already_applied")
        return self._page(HTTPStatus.CONFLICT, "Already on file", str(error))

    def unavailable(self, error: StoreUnavailable) -> Response[str]:
        logger.warning("store unavailable", extra={"reason": str(error)})
        retry = {"Retry-After": RETRY_AFTER_SECONDS}
        if self.audience is Audience.API:
            message = "we could not save your request right now; nothing was saved, please retry"
            return json_error(HTTPStatus.SERVICE_UNAVAILABLE, "body", message, "store_unavailable", retry)
        message = (
            "We could not save your request just now, and nothing was saved. "
            "Go back and send it again in a moment."
        )
        return self._page(HTTPStatus.SERVICE_UNAVAILABLE, "Please try again", message, retry)

    def refused_link(self, error: TokenError) -> Response[str]:
        """A link whose token fails: the page tells its holder what to do with what they have."""
        from directormatch.offers.pages import LinkHolder, token_error_page

        logger.info("link refused", extra={"reason": type(error).__name__})
        holder = {
            Audience.OFFER_LINKS: LinkHolder.DIRECTOR,
            Audience.MANAGE_LINKS: LinkHolder.MANAGER,
        }.get(self.audience, LinkHolder.CLINIC)
        page = token_error_page(error, holder)
        return page_response(page.status, page.html, LINK_PAGE_HEADERS)

    def not_found(self, error: NotFoundError) -> Response[str]:
        logger.info("no such route")
        if self.audience is Audience.API:
            return json_error(HTTPStatus.NOT_FOUND, "path", "no such resource", "not_found")
        return self._page(HTTPStatus.NOT_FOUND, "Not found", "There is no such page.")

    def unexpected(self, error: Exception) -> Response[str]:
        logger.exception("unexpected error")
        if self.audience is Audience.API:
            message = "internal error; please retry"
            return json_error(HTTPStatus.INTERNAL_SERVER_ERROR, "body", message, "internal")
        message = "We could not take your request because of an error on our side. Please try again."
        return self._page(HTTPStatus.INTERNAL_SERVER_ERROR, "Something went wrong", message)
