"""Case 2: schemathesis against the OpenAPI document intake serves (GET /openapi.json).

In process: a small WSGI adapter turns each request schemathesis makes into the API Gateway proxy
event Lambda would receive and calls the intake handler, with moto's account active. Every answer
must be below 500 and conform to the document (declared status, body matching its model,
content type). And the document says what intake enforces: every request it describes as valid is
stored (201; 409 when a generated Idempotency-Key was already used with another body), every
request breaking it is refused with a 4xx.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis import checks as st_checks

from tests.conftest import FakeLambdaContext
from tests.events import api_event, quote_body
from tests.integration.conftest import Aws
from tests.reliability.conftest import Tally

CASE = "2"
EXAMPLES = 200

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def wsgi_adapter(app: ModuleType, context: FakeLambdaContext) -> Callable[..., Iterable[bytes]]:
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


def no_integral_floats(case: Any) -> bool:
    """JSON Schema counts 2.0 as an integer; the contract's counts are strict integers (2.0 is refused,
    as pydantic's strict int did), a difference the document cannot state: such cases are left out."""

    def floats(value: Any) -> bool:
        if isinstance(value, dict):
            return any(floats(v) for v in value.values())
        if isinstance(value, list):
            return any(floats(v) for v in value)
        return isinstance(value, float) and value.is_integer()

    return not floats(case.body)


def test_intake_openapi_document_is_served_without_swagger_ui(
    intake_app: ModuleType, lambda_context: FakeLambdaContext, tally: Tally
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


def test_intake_fuzzed_from_its_openapi_document_answers_as_declared(
    aws: Aws,
    intake_app: ModuleType,
    lambda_context: FakeLambdaContext,
    one_call_at_a_time: None,
    tally: Tally,
) -> None:
    # Given the document intake serves, loaded through the handler
    schema = schemathesis.openapi.from_wsgi("/openapi.json", wsgi_adapter(intake_app, lambda_context))
    [operation] = [result.ok() for result in schema.get_all_operations()]
    failures: list[str] = []
    statuses: dict[int, int] = {}

    disagreements: list[str] = []
    expected = {
        GenerationMode.POSITIVE: lambda status: status in (201, 409),
        GenerationMode.NEGATIVE: lambda status: 400 <= status < 500,
    }

    @given(
        mode_case=st.one_of(
            st.tuples(
                st.just(GenerationMode.POSITIVE),
                operation.as_strategy(GenerationMode.POSITIVE).filter(no_integral_floats),
            ),
            st.tuples(st.just(GenerationMode.NEGATIVE), operation.as_strategy(GenerationMode.NEGATIVE)),
        )
    )
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(mode_case: tuple[GenerationMode, Any]) -> None:
        # When schemathesis sends a generated request
        mode, case = mode_case
        response = case.call()
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        # Then a request the document calls valid is stored, one it calls invalid is refused
        if not expected[mode](response.status_code):
            disagreements.append(
                f"{mode.value} {response.status_code}: {response.text[:300]} <- {case.body!r:.300}"
            )
        # Then it is below 500 and conforms to the document
        try:
            case.validate_response(
                response,
                checks=[
                    st_checks.not_a_server_error,
                    st_checks.status_code_conformance,
                    st_checks.content_type_conformance,
                    st_checks.response_schema_conformance,
                    st_checks.response_headers_conformance,
                ],
            )
            tally.tried(ok=True)
        except Exception as error:
            tally.tried(ok=False)
            failures.append(f"{response.status_code}: {str(error)[:400]}")

    fuzz()
    # And the sample request, first and replayed with its key, answers 201 as declared
    replies = []
    for _ in range(2):
        case = operation.Case(
            body=quote_body(), headers={"Idempotency-Key": "schema-valid"}, media_type="application/json"
        )
        response = case.call()
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        case.validate_response(response)
        tally.tried(ok=response.status_code == 201)
        replies.append(response.status_code)
    print(f"schemathesis statuses: {dict(sorted(statuses.items()))}")
    assert failures == [], failures[:5]
    assert disagreements == [], disagreements[:5]
    assert all(status < 500 for status in statuses)
    assert replies == [201, 201]
    # And the generated requests reached the store, not only the validation
    assert statuses[201] > EXAMPLES // 10
