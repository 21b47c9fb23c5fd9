"""Case 2: schemathesis holds intake's OpenAPI document (GET /openapi.json) and its validator together.

In process: a small WSGI adapter turns each request schemathesis makes into the API Gateway proxy
event Lambda would receive and calls the intake handler, with moto's account active (or DynamoDB
Local's, in make test's second pass). schemathesis runs its coverage phase (every boundary and
mutation the document defines, positive and negative) and its fuzzing phase, seeded, with a bounded
number of examples, and applies its own checks to every answer: below 500, a declared status,
content type, headers and body (response schema conformance); every request the document calls
valid is stored (positive data acceptance: 201, or 409 when a generated Idempotency-Key was already
used with another body, which intake answers only after the body validated); every request breaking
it is refused (negative data rejection: 400, 413, 415 or 422).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from directormatch.intake import openapi
from local.lambdas import LambdaContext
from tests.events import api_event
from tests.integration.conftest import Aws
from tests.reliability.conftest import Tally

CASE = "2"
SEED = 16
FUZZED_EXAMPLES = 50
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        "generation": {"max-examples": FUZZED_EXAMPLES},
        "checks": {
            "positive_data_acceptance": {"expected-statuses": [201, 409]},
            "negative_data_rejection": {"expected-statuses": [400, 413, 415, 422]},
        },
        "phases": {
            # Methods the template does not route never reach intake: API Gateway answers them.
            "coverage": {"unexpected-methods": []},
            "stateful": {"enabled": False},
        },
    }
)
# The document as GET /openapi.json serves it (test_intake_openapi_document_is_served... below).
schema = schemathesis.openapi.from_dict(openapi.document(), config=CONFIG)

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def wsgi_adapter(app: ModuleType, context: LambdaContext) -> Callable[..., Iterable[bytes]]:
    """A WSGI app calling `app.lambda_handler` with API Gateway (REST, proxy) events."""
    template = api_event()

    def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        headers = {
            key[5:].replace("_", "-").title(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        try:
            body, encoded = raw.decode(), False
        except UnicodeDecodeError:
            body, encoded = base64.b64encode(raw).decode(), True
        query = environ.get("QUERY_STRING", "")
        pairs = parse_qsl(query, keep_blank_values=True)
        event = {
            **json.loads(json.dumps(template)),
            "httpMethod": environ["REQUEST_METHOD"],
            "path": environ.get("PATH_INFO") or "/",
            "resource": environ.get("PATH_INFO") or "/",
            "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": {p[0]: p[1] for p in pairs} or None,
            "multiValueQueryStringParameters": {p[0]: [p[1]] for p in pairs} or None,
            "body": body if raw else None,
            "isBase64Encoded": encoded,
        }
        response = app.lambda_handler(event, context)
        out_headers: list[tuple[str, str]] = []
        for name, values in (response.get("multiValueHeaders") or {}).items():
            out_headers.extend((name, str(v)) for v in values)
        for name, value in (response.get("headers") or {}).items():
            out_headers.append((name, str(value)))
        payload = response.get("body") or ""
        data = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode()
        status = response["statusCode"]
        start_response(f"{status} {'OK' if status < 400 else 'Error'}", out_headers)
        return [data]

    return wsgi


def test_intake_openapi_document_is_served_without_swagger_ui(
    intake_app: ModuleType, lambda_context: LambdaContext, tally: Tally
) -> None:
    # Given the intake handler
    # When the document and a Swagger UI are asked for
    event = api_event(without_headers=("Content-Type",))
    document = intake_app.lambda_handler(
        {**event, "httpMethod": "GET", "path": "/openapi.json", "body": None}, lambda_context
    )
    swagger = intake_app.lambda_handler(
        {**event, "httpMethod": "GET", "path": "/swagger", "body": None}, lambda_context
    )

    # Then the document lists POST /quote-requests, and there is no Swagger UI
    schema = json.loads(document["body"])
    ok = (
        document["statusCode"] == 200
        and "post" in schema["paths"]["/quote-requests"]
        and swagger["statusCode"] == 404
    )
    tally.tried(ok=ok)
    assert document["statusCode"] == 200
    assert set(schema["paths"]["/quote-requests"]["post"]["responses"]) >= {
        "201",
        "400",
        "409",
        "413",
        "415",
        "422",
        "503",
    }
    assert swagger["statusCode"] == 404
    # And the 201 answer documents its reference, its status link and the Location header
    created = schema["paths"]["/quote-requests"]["post"]["responses"]["201"]
    accepted = schema["components"]["schemas"]["QuoteAccepted"]
    assert set(accepted["required"]) == {"request_id", "reference", "status_url"}
    assert created["headers"]["Location"]["schema"] == {"type": "string", "format": "uri"}


@schema.parametrize()
@settings(deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_intake_answers_what_its_openapi_document_declares(
    case: Any,
    aws: Aws,
    intake_app: ModuleType,
    lambda_context: LambdaContext,
    one_call_at_a_time: None,
    tally: Tally,
) -> None:
    # Given a request schemathesis generated from the document, valid or breaking it on purpose
    # When it is sent to the intake handler
    # Then the answer passes schemathesis' checks (a failure is shrunk and reported with a curl line)
    try:
        case.call_and_validate(app=wsgi_adapter(intake_app, lambda_context))
    except Exception:
        tally.tried(ok=False)
        raise
    tally.tried(ok=True)
