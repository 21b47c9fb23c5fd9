"""A director manages themselves through the local stack: they follow the link in an offer email,
pause for 14 days and get no offer on a new request in their state; resume and get one; change their
fee and the next offer and quote use it. A stale form and a tampered link change nothing."""

from __future__ import annotations

import html
import json
import re
import time
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from directormatch.aws.attributes import from_attributes
from directormatch.aws.directors_table import DirectorStore
from directormatch.directors import Director, Fees, StateLicense, director_items, npi_check_digit
from directormatch.timezones import MOUNTAIN, local_time, start_of_day
from tests.e2e.conftest import ROOT, RunningStack, email_text

pytestmark = pytest.mark.e2e
STATE = "WY"
WAIT_SECONDS = 15
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def director_id(local_stack: RunningStack) -> str:
    """A director licensed in WY who fits an aesthetics and weight-loss clinic as well as anyone can:
    both specialties, years of both, answers fast, insured, room for ten clinics, the lowest fee."""
    first_nine = "177000001"
    director = Director(
        npi=first_nine + npi_check_digit(first_nine),
        first_name="Dana",
        last_name="Whitfield",
        email="dana.whitfield@clinicians.example",
        specialties=["dermatology", "obesity_medicine"],
        modalities=["aesthetics", "weight_loss"],
        modality_years={"aesthetics": 9, "weight_loss": 9},
        max_clinics=10,
        malpractice_per_claim=1_000_000,
        malpractice_aggregate=3_000_000,
        response_rate=1.0,
        median_response_hours=0.5,
        licenses=[
            StateLicense(state=STATE, number="WY-77001", expires_on=date.today() + timedelta(days=700))
        ],
        fees=Fees(base=100),
    )
    # As the roster import writes a director: with the Available index's items matches read.
    DirectorStore("DirectorsTable", "ByState", "AvailabilityTable", client=local_stack.dynamodb()).put_items(
        director_items(director)
    )
    return director.director_id


def submit(stack: RunningStack) -> str:
    body: dict[str, Any] = json.loads((ROOT / "events" / "quote_request.json").read_text())
    body.update(states=[STATE], start_by=(date.today() + timedelta(days=60)).isoformat())
    body["supervisees"] = {"np": 0, "pa": 0}
    status, _, data = stack.request(
        "POST", "/quote-requests", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    assert status == 201, data
    return str(json.loads(data)["request_id"])


def settled(stack: RunningStack, request_id: str) -> dict[str, Any]:
    """The request's items by sort key once matching decided (offers made, or no match)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        response = stack.dynamodb().query(
            TableName="RequestsTable",
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": request_id}},
            ConsistentRead=True,
        )
        items = {i["sk"]: i for i in map(from_attributes, response["Items"])}
        if "MATCH" in items:
            return items
        time.sleep(0.05)
    raise AssertionError(f"request {request_id} was not matched")


def offer_email(stack: RunningStack, request_id: str, director_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        for entry in stack.outbox():
            if (
                entry["kind"] == "offer"
                and entry["message_id"] == f"<offer.{request_id}.{director_id}@directormatch>"
            ):
                return entry
        time.sleep(0.05)
    raise AssertionError("no offer email")


def page(stack: RunningStack, path: str, change: str | None = None, **fields: str) -> tuple[int, str]:
    if change is None:
        status, _, body = stack.request("GET", path)
    else:
        status, _, body = stack.request("POST", f"{path}/{change}", urlencode(fields).encode(), FORM)
    return status, html.unescape(body.decode())


def version(body: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', body)
    assert found is not None, body
    return found.group(1)


def test_manage_a_director_pauses_resumes_and_changes_their_fee_from_the_link_in_an_offer(
    local_stack: RunningStack, director_id: str
) -> None:
    stack = local_stack
    # Given an offer to the director, and the manage link its email carries
    first = submit(stack)
    assert f"OFFER#{director_id}" in settled(stack, first)
    text = email_text(stack, offer_email(stack, first, director_id))
    link = re.search(r"^Manage my availability: (\S+)", text, re.M)
    assert link is not None, text
    path = urlsplit(link.group(1)).path

    # When they open it and pause for 14 days
    status, shown = page(stack, path)
    assert status == 200
    assert "WY license WY-77001" in shown
    until = date.today() + timedelta(days=14)
    status, paused = page(stack, path, "pause", version=version(shown), until=until.isoformat())

    # Then a new request in their state offers them nothing, and its MATCH counts them as paused
    # (until the start of that day in Wyoming, where the director lives, as the page shows it)
    assert status == 200
    resumes = local_time(start_of_day(until, MOUNTAIN), MOUNTAIN)
    assert f"Offers paused until {resumes}." in paused
    assert f"Offers are paused until {resumes}." in paused
    while_paused = settled(stack, submit(stack))
    assert f"OFFER#{director_id}" not in while_paused
    assert while_paused["MATCH"]["excluded"].get("PAUSED", 0) >= 1

    # When a second tab, still showing the page from before the pause, posts its form
    status, stale = page(stack, path, "fees", version=version(shown), base="700")

    # Then nothing changes, and the page says why
    assert status == 409
    assert "Nothing was changed: your profile changed" in stale

    # When they resume and change their fee
    status, resumed = page(stack, path, "resume", version=version(paused))
    assert status == 200
    assert "Offers resumed." in resumed
    status, priced = page(stack, path, "fees", version=version(resumed), base="700")
    assert status == 200
    assert "Your base fee is $700 a month." in priced

    # Then the next request offers them again, at the new fee, and the clinic's quote starts there
    after = settled(stack, submit(stack))
    assert after[f"OFFER#{director_id}"]["fee_monthly"] == 700
    assert after["MATCH"]["quote"]["low"] == 700

    # And a tampered link is refused, as offer links are
    assert page(stack, path[:-3] + "abc")[0] == 403
