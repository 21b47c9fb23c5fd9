"""The offer lifecycle end to end on the local stack: offers by email, accept by link, the first accept
wins, the others hear it was filled; an unanswered wave expires on a moved clock and the next goes out."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections import Counter
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import ACCEPT, ROOT, RunningStack, email_text

pytestmark = pytest.mark.e2e
WAIT_SECONDS = 10
CLOCK_TIMEOUT_SECONDS = 60


@pytest.fixture(scope="module")
def stack(local_stack: RunningStack) -> RunningStack:
    return local_stack


def quote_body() -> dict[str, Any]:
    body: dict[str, Any] = json.loads((ROOT / "events" / "quote_request.json").read_text())
    body["start_by"] = (date.today() + timedelta(days=60)).isoformat()
    return body


def submit(stack: RunningStack, body: dict[str, Any] | None = None) -> str:
    """POST /quote-requests with `body` (the sample quote by default); the new request's id."""
    status, _, data = stack.request(
        "POST",
        "/quote-requests",
        json.dumps(body or quote_body()).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 201, data
    request_id: str = json.loads(data)["request_id"]
    return request_id


def partition(stack: RunningStack, request_id: str) -> list[dict[str, Any]]:
    """The request's items, read from the stack's moto (what ops would see in the table)."""
    from directormatch.aws.attributes import from_attributes

    dynamodb = stack.dynamodb()
    response = dynamodb.query(
        TableName="RequestsTable",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": request_id}},
        ConsistentRead=True,
    )
    return [from_attributes(item) for item in response["Items"]]


def offers_of(stack: RunningStack, request_id: str) -> list[dict[str, Any]]:
    return [i for i in partition(stack, request_id) if i["sk"].startswith("OFFER#")]


def emails_for(stack: RunningStack, request_id: str) -> list[dict[str, Any]]:
    return [e for e in stack.outbox() if f".{request_id}" in e["message_id"]]


def wait_for(stack: RunningStack, request_id: str, expected: dict[str, int]) -> list[dict[str, Any]]:
    """The request's emails once the outbox holds at least `expected` of each kind."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        mine = emails_for(stack, request_id)
        kinds = Counter(e["kind"] for e in mine)
        if all(kinds[kind] >= count for kind, count in expected.items()):
            return mine
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {expected} for {request_id}, outbox has {dict(kinds)}")
        time.sleep(0.05)


def wait_for_offers(stack: RunningStack, request_id: str, wave: int = 1) -> list[dict[str, Any]]:
    """The request's offers once matching (or the sweep) wrote wave `wave`."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        found = offers_of(stack, request_id)
        if any(o["wave"] == wave for o in found):
            return found
        time.sleep(0.05)
    raise AssertionError(f"no wave {wave} offers for {request_id}")


def accept_link(stack: RunningStack, entry: dict[str, str]) -> str:
    """The accept link in an offer email's text part, as the director's mail client shows it."""
    text = email_text(stack, entry)
    found = re.search(rf"^{ACCEPT}:\s+(http://127\.0\.0\.1:\d+/offers/[A-Za-z0-9._-]+)", text, re.M)
    assert found is not None, text
    return found.group(1)


def advance_clock(stack: RunningStack, hours: int) -> dict[str, Any]:
    """POST /_clock/advance: moves the sweep's clock and sweeps at once. It waits for a scheduled run
    in progress (the first daily expiry-warning run emails a whole roster), hence the long timeout."""
    request = urllib.request.Request(f"{stack.base_url}/_clock/advance?hours={hours}", method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=CLOCK_TIMEOUT_SECONDS) as response:  # noqa: S310 - loopback
        assert response.status == 200
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def heading(body: bytes) -> str:
    found = re.search(rb"<h1>(.*?)</h1>", body, re.S)
    return found.group(1).decode().strip() if found else ""


def test_lifecycle_first_accept_by_link_wins_and_the_others_hear_it_was_filled(stack: RunningStack) -> None:
    # Given a quote submitted over HTTP, and its offer emails in the outbox
    request_id = submit(stack)
    offered = wait_for_offers(stack, request_id)
    assert len(offered) >= 2
    emails = wait_for(stack, request_id, {"offer": len(offered)})
    first, second = [e for e in emails if e["kind"] == "offer"][:2]
    first_link, second_link = accept_link(stack, first), accept_link(stack, second)
    assert first_link.startswith(stack.base_url + "/offers/")

    # When the first director opens the accept link
    status, headers, page = stack.request("GET", urlsplit(first_link).path)

    # Then a page shows the offer and a form posting the answer
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    form = re.search(rb'<form method="post" action="([^"]+)"', page)
    assert form is not None, page

    # When the director presses the button, and the second director then accepts too
    action = form.group(1).decode()
    assert action.startswith(stack.base_url + "/offers/")
    accepted = stack.request("POST", action.removeprefix(stack.base_url))
    late = stack.request("POST", urlsplit(second_link).path + "/accept")

    # Then the first is told they accepted, the second that the position was filled
    assert (accepted[0], heading(accepted[2])) == (200, "You accepted")
    assert (late[0], heading(late[2])) == (409, "Position filled")
    # And the outbox holds one introduction to the clinic and the director together, and a "filled"
    # email for every other offered director
    others = len(offered) - 1
    emails = wait_for(stack, request_id, {"introduction": 1, "filled": others})
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for entry in emails:
        by_kind.setdefault(entry["kind"], []).append(entry)
    assert [e["recipients"] for e in by_kind["introduction"]] == [
        [quote_body()["contact"]["email"], first["to"]]
    ]
    offered_to = {e["to"] for e in by_kind["offer"]}
    assert sorted(e["to"] for e in by_kind["filled"]) == sorted(offered_to - {first["to"]})
    assert second["to"] in {e["to"] for e in by_kind["filled"]}
    # And the table agrees: MATCHED, one offer ACCEPTED, the rest SUPERSEDED
    items = {i["sk"]: i for i in partition(stack, request_id)}
    assert items["REQUEST"]["request_status"] == "MATCHED"
    statuses = Counter(i["offer_status"] for sk, i in items.items() if sk.startswith("OFFER#"))
    assert statuses == {"ACCEPTED": 1, "SUPERSEDED": others}


def test_lifecycle_accept_by_reply_wins_and_a_late_reply_is_told_it_was_filled(stack: RunningStack) -> None:
    # Given a quote with at least three offers in the outbox
    request_id = submit(stack)
    offered = wait_for_offers(stack, request_id)
    assert len(offered) >= 3
    emails = wait_for(stack, request_id, {"offer": len(offered)})
    first, second, third = [e for e in emails if e["kind"] == "offer"][:3]

    # When the first director replies ACCEPT (delivered as SES inbound -> SNS -> respond would)
    replied = stack.request("POST", f"/_outbox/{first['file']}/reply", b"body=ACCEPT")
    # And the second then uses their accept link, and the third replies "yes" too
    late_link = stack.request("POST", urlsplit(accept_link(stack, second)).path + "/accept")
    late_reply = stack.request("POST", f"/_outbox/{third['file']}/reply", b"body=Yes%2C+I+accept")

    # Then the reply won, the link says filled, and the late reply was answered without changing anything
    assert (replied[0], json.loads(replied[2])) == (200, [{"outcomes": ["ACTED"]}])
    assert (late_link[0], heading(late_link[2])) == (409, "Position filled")
    assert json.loads(late_reply[2]) == [{"outcomes": ["TOO_LATE"]}]
    emails = wait_for(stack, request_id, {"introduction": 1, "reply_answer": 1})
    [introduction] = [e for e in emails if e["kind"] == "introduction"]
    assert introduction["recipients"][1:] == [first["to"]]
    assert [e["to"] for e in emails if e["kind"] == "reply_answer"] == [third["to"]]
    items = {i["sk"]: i for i in partition(stack, request_id)}
    assert (
        items[f"OFFER#{first['message_id'].strip('<>').split('@')[0].split('.')[-1]}"]["answered_via"]
        == "reply"
    )


def test_lifecycle_unanswered_wave_expires_on_moved_clock_and_next_wave_goes_out(stack: RunningStack) -> None:
    # Given a quote whose first wave of offers went out and nobody answers
    request_id = submit(stack)
    first_wave = wait_for_offers(stack, request_id)
    wait_for(stack, request_id, {"offer": len(first_wave)})

    try:
        # When the sweep's clock moves five hours on (offers are open four)
        advance_clock(stack, hours=5)

        # Then the first wave expired and a second wave went to other directors
        offered = wait_for_offers(stack, request_id, wave=2)
        waves: dict[int, dict[str, str]] = {}
        for offer in offered:
            waves.setdefault(offer["wave"], {})[offer["director_id"]] = offer["offer_status"]
        assert set(waves[1].values()) == {"EXPIRED"}
        assert set(waves[2].values()) == {"OPEN"}
        assert not set(waves[1]) & set(waves[2])
        # And their offer emails and one update to the clinic arrived
        emails = wait_for(stack, request_id, {"offer": len(offered), "clinic_update": 1})
        kinds = Counter(e["kind"] for e in emails)
        assert (kinds["offer"], kinds["clinic_update"]) == (len(offered), 1)
        [update] = [e for e in emails if e["kind"] == "clinic_update"]
        assert update["to"] == quote_body()["contact"]["email"]
    finally:
        # The stack is shared by the session: put its clock back
        advance_clock(stack, hours=-5)
