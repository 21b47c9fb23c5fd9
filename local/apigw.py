"""HTTP request <-> API Gateway REST proxy event.

The event has the shape `sam local generate-event apigateway aws-proxy` gives.
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any
from urllib.parse import parse_qs

from local.template import Route


def match_route(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    parts = tuple(path.strip("/").split("/"))
    for route in routes:
        if len(route.parts) != len(parts) or (route.method != method and method != "OPTIONS"):
            continue
        params: dict[str, str] = {}
        for expected, actual in zip(route.parts, parts, strict=True):
            if expected.startswith("{") and expected.endswith("}"):
                params[expected[1:-1]] = actual
            elif expected != actual:
                break
        else:
            return route, params
    return None


def proxy_event(
    route: Route,
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    path_parameters: dict[str, str],
    source_ip: str,
) -> dict[str, Any]:
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    multi_query = parse_qs(query, keep_blank_values=True) if query else {}
    now = time.time()
    return {
        "body": text if body else None,
        "resource": route.path,
        "path": path,
        "httpMethod": method,
        "isBase64Encoded": encoded,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "requestContext": {
            "accountId": "123456789012",
            "resourceId": "local",
            "stage": "v1",
            "requestId": str(uuid.uuid4()),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent", "")},
            "path": f"/v1{path}",
            "resourcePath": route.path,
            "httpMethod": method,
            "apiId": "local",
            "protocol": "HTTP/1.1",
        },
    }


def response_parts(response: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    headers: list[tuple[str, str]] = []
    for name, value in (response.get("headers") or {}).items():
        headers.append((name, str(value)))
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers.extend((name, str(v)) for v in values if (name, str(v)) not in headers)
    body = response.get("body") or ""
    data = base64.b64decode(body) if response.get("isBase64Encoded") else str(body).encode()
    return int(response.get("statusCode", 502)), headers, data
