"""The clinic's status page (GET /quote-requests/{id}?token=...) through the intake handler, on moto: a
good link shows the request; a broken one is explained in words for a clinic, never the offer email's."""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from directormatch import links, tokens
from directormatch.directors import Fees
from directormatch.timezones import local_time
from directormatch.vocabulary import Action
from local.lambdas import LambdaContext
from tests.events import INTAKE_POST, api_event, load_event, quote_body, stream_event, stream_record
from tests.integration.conftest import Apps, Aws, roster_director
from tests.integration.test_respond import link_token, offer_event

OTHER_REQUEST = "01J0000000000000000000000Z"


def status_event(request_id: str, token: str) -> dict[str, Any]:
    """API Gateway REST proxy event of GET /quote-requests/{request_id}?token=..., made from the intake
    sample event (sam local generate-event) as a browser sends it."""
    event: dict[str, Any] = load_event(INTAKE_POST)
    resource, path = "/quote-requests/{request_id}", f"/quote-requests/{request_id}"
    for key in ("headers", "multiValueHeaders"):
        event[key] = {k: v for k, v in event[key].items() if k not in ("Content-Type", "Idempotency-Key")}
    event["headers"]["Accept"] = "text/html"
    event["multiValueHeaders"]["Accept"] = ["text/html"]
    event.update(
        body=None,
        resource=resource,
        path=path,
        httpMethod="GET",
        pathParameters={"request_id": request_id},
        queryStringParameters={"token": token},
        multiValueQueryStringParameters={"token": [token]},
    )
    event["requestContext"].update(resourcePath=resource, httpMethod="GET", path=f"/v1{path}")
    return event


def follow(app: ModuleType, context: LambdaContext, url: str) -> dict[str, Any]:
    """The intake handler's answer to a browser opening `url`, a status link under the API's base URL."""
    parts = urlsplit(url)
    request_id = parts.path.rsplit("/", 1)[-1]
    assert url.startswith(os.environ["PUBLIC_BASE_URL"].rstrip("/") + "/quote-requests/"), url
    response: dict[str, Any] = app.lambda_handler(
        status_event(request_id, parse_qs(parts.query)["token"][0]), context
    )
    return response


def page_text(response: dict[str, Any]) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", response["body"]))


def heading(response: dict[str, Any]) -> str:
    found = re.search(r"<h1>(.*?)</h1>", response["body"], re.S)
    assert found, response["body"]
    return html.unescape(found.group(1))


@pytest.fixture
def posted(aws: Aws, intake_app: ModuleType, lambda_context: LambdaContext) -> dict[str, Any]:
    """A stored quote request (status NEW)."""
    response = intake_app.lambda_handler(api_event(), lambda_context)
    assert response["statusCode"] == 201, response["body"]
    request = aws.request_store().get_request(json.loads(response["body"])["request_id"])
    assert request is not None
    return request


def test_status_page_good_link_shows_the_request(
    intake_app: ModuleType, posted: dict[str, Any], lambda_context: LambdaContext
) -> None:
    # Given the status link of the clinic's receipt email
    link = links.status_link("https://api.example", posted["request_id"], posted["created_at"])
    token = link.split("?token=")[1]

    # When the clinic opens it
    response = intake_app.lambda_handler(status_event(posted["request_id"], token), lambda_context)

    # Then the page shows the request by the reference the clinic quotes, its times in Central Time
    # (Texas, the clinic's first state) and named so
    assert response["statusCode"] == 200
    assert heading(response) == "Your medical director request"
    assert f'<strong id="reference">{posted["reference"]}</strong>' in response["body"]
    received = local_time(posted["created_at"], "America/Chicago")
    assert re.search(r", \d{1,2}:\d\d [AP]M C[SD]T$", received)
    assert f">{received}</time>: Request received" in response["body"]


def _signed(request_id: str, action: Action = Action.STATUS, days: float = 90) -> str:
    return tokens.issue(
        tokens.keyring(), action, request_id, "clinic", datetime.now(UTC) + timedelta(days=days)
    )


def _tampered(request_id: str) -> str:
    token = _signed(request_id)
    head, _, signature = token.rpartition(".")
    return f"{head}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"


@pytest.mark.parametrize(
    ("make_token", "status_code", "expected"),
    [
        pytest.param(_tampered, 403, "Link not valid", id="tampered"),
        pytest.param(lambda r: _signed(r, days=-1), 410, "Link expired", id="expired"),
        pytest.param(lambda r: _signed(OTHER_REQUEST), 403, "Link not valid", id="other-request"),
        pytest.param(lambda r: _signed(r, Action.ACCEPT), 403, "Link not valid", id="offer-token"),
        pytest.param(lambda r: "not-a-token", 403, "Link not valid", id="malformed"),
    ],
)
def test_status_page_broken_link_tells_the_clinic_what_to_do(
    intake_app: ModuleType,
    posted: dict[str, Any],
    lambda_context: LambdaContext,
    make_token: Callable[[str], str],
    status_code: int,
    expected: str,
) -> None:
    # Given a clinic's status link that was altered, has expired, or is not a status link of this request
    token = make_token(posted["request_id"])

    # When it is opened
    response = intake_app.lambda_handler(status_event(posted["request_id"], token), lambda_context)

    # Then the page says so, and points the clinic at its receipt email and reference, not at offers
    assert (response["statusCode"], heading(response)) == (status_code, expected)
    text = page_text(response)
    assert "receipt email" in text
    assert "quote your reference" in text
    assert "offer email" not in text
    assert "buttons" not in text


def test_status_page_says_who_covers_which_state_for_a_team_offered_then_matched(
    aws: Aws, apps: Apps, respond_app: ModuleType
) -> None:
    # Given a clinic in Texas and New Mexico that only a team can take: one director licensed in
    # each state, at different fees, offered the request together
    schedules = {"TX": Fees(base=1_000), "NM": Fees(base=1_800)}
    aws.director_store().put_items(
        [
            item
            for n, (state, fees) in enumerate(schedules.items(), 1)
            for item in roster_director(n, (state,), fees=fees)
        ]
    )
    posted = apps.intake.lambda_handler(api_event(body=quote_body(states=["TX", "NM"])), apps.context)
    body = json.loads(posted["body"])
    request = aws.request_store().get_request(body["request_id"])
    assert request is not None
    assert apps.match.lambda_handler(stream_event(stream_record(request)), apps.context) == {
        "batchItemFailures": []
    }
    offers = {o["covers_states"][0]: o for o in aws.items_with_sk("OFFER#", prefix=True)}
    assert sorted(offers) == ["NM", "TX"]

    # When the clinic opens its status page
    offered = " ".join(page_text(follow(apps.intake, apps.context, body["status_url"])).split())

    # Then it says when a team is introduced, and gives the team's total and each member's states
    # and fee, in the clinic's state order
    assert "they are introduced to you together once every state is covered" in offered
    assert "the first to accept is introduced" not in offered
    members = "One physician for TX: $1,000 a month One physician for NM: $1,800 a month"
    assert f"Your quote $2,800 a month, the team's total: {members}" in offered

    # When both members accept
    aws.use_function("RespondFunction")
    for offer in offers.values():
        accepted = respond_app.lambda_handler(offer_event("POST", link_token(offer), "accept"), apps.context)
        assert accepted["statusCode"] == 200, accepted["body"]

    # Then the page names who covers which state, and no longer lists the offered team
    matched = page_text(follow(apps.intake, apps.context, body["status_url"]))
    assert "Matched" in matched
    assert "Dr. Robin1 Achebe1, for TX" in matched
    assert "Dr. Robin2 Achebe2, for NM" in matched
    assert "One physician for" not in matched
