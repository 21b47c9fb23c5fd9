"""POST /director-applications: a physician applies to join; stored once as a PENDING director.

JSON clients (the application form's script, curl) get JSON. The same form posted without
JavaScript (application/x-www-form-urlencoded) goes to `form_app`, which answers with pages.
"""

from __future__ import annotations

from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from directormatch.applications import form as application_form
from directormatch.applications import service
from directormatch.applications.contract import ApplicationAccepted, DirectorApplication, validate_application
from directormatch.aws.applications import ApplicationStore, Submitted
from directormatch.errors import ApplicationInvalid
from directormatch.intake.contract import FieldError
from directormatch.intake.form import is_form_post
from directormatch.intake.http import check_envelope, parse_json_body, read_form
from directormatch.mail.delivery import delivery_from_settings
from directormatch.observability import MetricName, logger, metrics, tracer
from directormatch.resolvers import Audience, Routes, page_response
from directormatch.settings import get_settings

app = Routes(Audience.API, MetricName.APPLICATION_REJECTED)
form_app = Routes(Audience.APPLICATION_FORM, MetricName.APPLICATION_REJECTED)


def _validated(fields: Any) -> DirectorApplication:
    return validate_application(fields, datetime.now(UTC).date())


def _store(application: DirectorApplication) -> Submitted:
    settings = get_settings()
    store = ApplicationStore(
        settings.directors_table, settings.directors_by_state_index, settings.availability_table
    )
    submitted = service.submit(application, store, delivery_from_settings())
    logger.append_keys(director_id=submitted.director_id)
    metric = MetricName.APPLICATION_REPLAYED if submitted.replayed else MetricName.APPLICATION_RECEIVED
    metrics.add_metric(name=metric, unit="Count", value=1)
    logger.info(
        "application stored", extra={"replayed": submitted.replayed, "states": len(application.licenses)}
    )
    return submitted


@app.post("/director-applications")
def create_application() -> Response[str]:
    """The application as JSON (contract.DirectorApplication); the same body twice is one application."""
    text = check_envelope(app.current_event, get_settings().max_body_bytes)
    if not text:
        raise ApplicationInvalid([FieldError(field="body", message="is required", type="missing")])
    submitted = _store(_validated(parse_json_body(text)))
    accepted = ApplicationAccepted(application_id=submitted.director_id)
    return Response(int(HTTPStatus.CREATED), "application/json", accepted.model_dump_json())


@form_app.post("/director-applications")
def create_application_from_form() -> Response[str]:
    """The application form without JavaScript: the same contract, answered with a page."""
    post = read_form(form_app.current_event, get_settings().max_body_bytes, application_form.parse)
    if post.honeypot:
        # A bot filled the hidden field: thank it as if stored, store nothing.
        logger.info("honeypot filled; nothing stored")
        return page_response(HTTPStatus.CREATED, application_form.received_page())
    submitted = _store(_validated(post.fields))
    return page_response(HTTPStatus.CREATED, application_form.received_page(submitted.director_id))


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    resolver = form_app if is_form_post(event) else app
    return resolver.resolve(event, context)
