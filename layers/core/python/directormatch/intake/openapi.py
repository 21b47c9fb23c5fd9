"""The OpenAPI 3.1 document of intake (GET /openapi.json), made from the rules intake enforces.

The request body's JSON Schema comes from `models.QUOTE_REQUEST`, the rules intake validates with
(each rule describes itself: directormatch.intake.schema); tests/unit/test_openapi.py checks that bodies
generated from the document are accepted, and bodies breaking it refused.
"""

from __future__ import annotations

from typing import Any

from directormatch.intake.contract import IDEMPOTENCY_KEY_MAX_LENGTH, QUOTE_REQUEST
from directormatch.intake.schema import REF

INFO = {"title": "DirectorMatch intake", "version": "1", "summary": "Quote requests from clinics"}
# (status, description, body schema) of POST /quote-requests; every answer but 201 is an ErrorBody.
ANSWERS = [
    (201, "Stored", "QuoteAccepted"),
    (400, "Unreadable JSON", "ErrorBody"),
    (409, "Idempotency-Key reused", "ErrorBody"),
    (413, "Body too large", "ErrorBody"),
    (415, "Not JSON", "ErrorBody"),
    (422, "Invalid fields", "ErrorBody"),
    (503, "Try again", "ErrorBody"),
]
# The answers' bodies (models.QuoteAccepted, models.ErrorBody, models.FieldError).
ANSWER_SCHEMAS: dict[str, Any] = {
    "QuoteAccepted": {
        "type": "object",
        "title": "QuoteAccepted",
        "description": "Body of the 201 answer.",
        "properties": {
            "request_id": {"type": "string", "title": "Request Id"},
            "status": {"type": "string", "const": "NEW", "title": "Status", "default": "NEW"},
        },
        "required": ["request_id"],
    },
    "ErrorBody": {
        "type": "object",
        "title": "ErrorBody",
        "properties": {
            "errors": {"type": "array", "title": "Errors", "items": {"$ref": REF.format("FieldError")}}
        },
        "required": ["errors"],
    },
    "FieldError": {
        "type": "object",
        "title": "FieldError",
        "properties": {
            "field": {"type": "string", "title": "Field"},
            "message": {"type": "string", "title": "Message"},
        },
        "required": ["field", "message"],
    },
}


def request_body_schemas() -> dict[str, Any]:
    """QuoteRequest and the objects it refers to, as JSON Schemas keyed by name."""
    definitions: dict[str, Any] = {}
    QUOTE_REQUEST.json_schema(definitions)
    return definitions


def document() -> dict[str, Any]:
    """Made at each ask (a few ms): the start dates it lists move with the day."""

    def answer(description: str, model: str) -> dict[str, Any]:
        return {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": REF.format(model)}}},
        }

    idempotency_key = {
        "name": "idempotency-key",
        "in": "header",
        "required": False,
        "schema": {
            "anyOf": [{"type": "string", "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH}, {"type": "null"}],
            "title": "Idempotency-Key",
        },
    }
    create = {
        "summary": "Ask for a medical director quote",
        "operationId": "create_quote_request_quote_requests_post",
        "parameters": [idempotency_key],
        "requestBody": {
            "content": {"application/json": {"schema": {"$ref": REF.format("QuoteRequest")}}},
            "required": True,
        },
        "responses": {str(status): answer(description, model) for status, description, model in ANSWERS},
    }
    return {
        "openapi": "3.1.0",
        "info": INFO,
        "servers": [{"url": "/"}],
        "paths": {"/quote-requests": {"post": create}},
        "components": {"schemas": {**request_body_schemas(), **ANSWER_SCHEMAS}},
    }
