"""The walking skeleton end to end: HTTP in, stream pump, matcher, notifier, outbox out."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, RunningStack, start_stack

pytestmark = pytest.mark.e2e
EMAIL_WAIT_SECONDS = 10


def quote_body(**changes: object) -> dict[str, object]:
    body: dict[str, object] = json.loads((ROOT / "events" / "quote_request.json").read_text())
    body["start_by"] = (date.today() + timedelta(days=60)).isoformat()
    body.update(changes)
    return body


def wait_for_emails(stack: RunningStack, request_id: str, offers: int) -> tuple[list[dict[str, str]], float]:
    started = time.monotonic()
    while time.monotonic() - started < EMAIL_WAIT_SECONDS:
        mine = [e for e in stack.outbox() if request_id in e["message_id"]]
        if any(e["kind"] == "receipt" for e in mine) and sum(e["kind"] == "offer" for e in mine) >= offers:
            return mine, time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"emails for {request_id} did not arrive: {stack.outbox()}")


def test_stack_quote_posted_receipt_and_offers_reach_outbox(local_stack: RunningStack) -> None:
    # Given a quote for a Texas clinic
    body = quote_body(states=["TX"])

    # When it is posted over HTTP
    status, headers, data = local_stack.request(
        "POST", "/quote-requests", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )

    # Then it is accepted, and the receipt and offers arrive in the outbox (how fast is measured by
    # `make bench`, submit -> first offer email: a timed assertion would fail on a busy machine)
    assert status == 201, data
    answer = json.loads(data)
    request_id = answer["request_id"]
    emails, seconds = wait_for_emails(local_stack, request_id, offers=1)
    print(f"submit-to-offer-email: {seconds:.3f}s")
    receipt = next(e for e in emails if e["kind"] == "receipt")
    assert receipt["to"] == body["contact"]["email"]  # type: ignore[index]
    assert receipt["subject"].endswith(f"({answer['reference']})")

    # And Location, the answer's status_url, opens the request's status page on this stack
    assert headers["Location"] == answer["status_url"]
    assert answer["status_url"].startswith(f"{local_stack.base_url}/quote-requests/{request_id}?token=")
    page_status, _, page = local_stack.request("GET", answer["status_url"].removeprefix(local_stack.base_url))
    assert page_status == 200
    assert answer["reference"].encode() in page

    # And every offer went to a director holding an active Texas license
    dynamodb = local_stack.dynamodb()
    for offer in (e for e in emails if e["kind"] == "offer"):
        director_id = offer["message_id"].strip("<>").split("@")[0].split(".")[-1]
        license_item = dynamodb.get_item(
            TableName="DirectorsTable", Key={"pk": {"S": director_id}, "sk": {"S": "LICENSE#TX"}}
        ).get("Item")
        assert license_item is not None
        assert license_item["license_status"]["S"] == "ACTIVE"
        raw = (local_stack.state_dir / "outbox" / offer["file"]).read_bytes()
        message = message_from_bytes(raw, policy=policy.default)
        assert {part.get_content_type() for part in message.walk()} >= {"text/plain", "text/html"}


def test_stack_invalid_quote_rejected_and_nothing_sent(local_stack: RunningStack) -> None:
    # Given a quote for an unknown state
    body = quote_body(states=["XX"])

    # When it is posted
    status, _, data = local_stack.request(
        "POST", "/quote-requests", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )

    # Then it is refused naming the field, and no email mentions it
    assert status == 422
    assert json.loads(data)["errors"][0]["field"] == "states.0"


def test_stack_restarted_on_leftover_state_serves_again(tmp_path: Path) -> None:
    # Given a stack that ran and left its outbox behind
    first = start_stack(tmp_path)
    _, _, data = first.request(
        "POST", "/quote-requests", json.dumps(quote_body()).encode(), {"Content-Type": "application/json"}
    )
    wait_for_emails(first, json.loads(data)["request_id"], offers=1)
    first.stop()
    assert list((tmp_path / "outbox").glob("*.eml"))

    # When it starts again on the same state directory
    second = start_stack(tmp_path)
    try:
        # Then it serves, with a fresh outbox
        assert second.outbox() == []
        status, _, _ = second.request(
            "POST", "/quote-requests", json.dumps(quote_body()).encode(), {"Content-Type": "application/json"}
        )
        assert status == 201
    finally:
        second.stop()
