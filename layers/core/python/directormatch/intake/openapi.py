"""The OpenAPI 3.1 document of intake (GET /openapi.json), assembled from the contract models' own
JSON schemas (`model_json_schema`).

Not Powertools' `enable_validation`: it validates before the route runs, so a 100 KB or non-JSON
body would be answered as invalid fields rather than 413/415, the form post (urlencoded, answered
with pages) would need a second route model, and its OpenAPI modules add to every cold start of
intake what a document asked for now and then needs. The models validate in the route
(intake.http.read_quote); the document is made when asked for, since the start dates it lists move
with the day. tests/reliability/test_intake_schema.py checks that bodies generated from the document
are accepted, and bodies breaking it refused.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode

from directormatch.intake.contract import IDEMPOTENCY_KEY_MAX_LENGTH, ErrorBody, QuoteAccepted, QuoteRequest

REF = "#/components/schemas/{model}"
LOCATION = {
    "description": "The request's status page: the signed link of `status_url`",
    "schema": {"type": "string", "format": "uri"},
}
INFO = {"title": "DirectorMatch intake", "version": "1.1", "summary": "Quote requests from clinics"}
# (status, description, body model) of POST /quote-requests.
ANSWERS: list[tuple[int, str, type[BaseModel]]] = [
    (201, "Stored", QuoteAccepted),
    (400, "Unreadable JSON", ErrorBody),
    (409, "Idempotency-Key reused", ErrorBody),
    (413, "Body too large", ErrorBody),
    (415, "Not JSON", ErrorBody),
    (422, "Invalid fields", ErrorBody),
    (503, "Try again", ErrorBody),
]


def component_schemas() -> dict[str, Any]:
    """The request's and the answers' models, and the models they refer to, keyed by name."""
    schemas: dict[str, Any] = {}
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (QuoteRequest, "validation"),
        (QuoteAccepted, "serialization"),
        (ErrorBody, "serialization"),
    ]
    for model, mode in models:
        schema = model.model_json_schema(ref_template=REF, mode=mode)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


def _answer(description: str, model: type[BaseModel]) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}},
    }
    if model is QuoteAccepted:
        answer["headers"] = {"Location": LOCATION}
    return answer


def document() -> dict[str, Any]:
    idempotency_key = {
        "name": "idempotency-key",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH, "title": "Idempotency-Key"},
    }
    create = {
        "summary": "Ask for a medical director quote",
        "operationId": "create_quote_request_quote_requests_post",
        "parameters": [idempotency_key],
        "requestBody": {
            "content": {"application/json": {"schema": {"$ref": REF.format(model="QuoteRequest")}}},
            "required": True,
        },
        "responses": {str(status): _answer(description, model) for status, description, model in ANSWERS},
    }
    return {
        "openapi": "3.1.0",
        "info": INFO,
        "servers": [{"url": "/"}],
        "paths": {"/quote-requests": {"post": create}},
        "components": {"schemas": component_schemas()},
    }
