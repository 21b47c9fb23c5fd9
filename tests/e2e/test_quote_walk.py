"""Quotes, offers and introductions walked through the local stack as a clinic and its directors
meet them: the quoted range is what the roster's fee schedules give for the directors offered, each
offer itemises that director's own fee, the introduction states the fee accepted; a team is told who
covers which state at every step; a request nobody fits is told within the minute.

Fees are recomputed from the synthetic roster (regenerated here, as the stack generated it) with
tests/fee_oracle.py, never read back from what the stack stored."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import pytest

from directormatch.directors import Director
from directormatch.mail.labels import dollars, us_phone
from ops.roster.synthetic import synthetic_directors
from tests.e2e.conftest import ROSTER_SIZE, RunningStack, email_text
from tests.e2e.test_lifecycle import heading, partition, submit, wait_for, wait_for_offers
from tests.events import quote_body
from tests.fee_oracle import fee_by_hand

pytestmark = pytest.mark.e2e
TEAM_STATES = ["TX", "NM", "OK"]  # no director of the roster is eligible in all three: a team
FEE_LINE = re.compile(r"^  (\S.*?)\s+\$([\d,]+)$")
SAME_MINUTE_SECONDS = 60


@pytest.fixture(scope="module")
def stack(local_stack: RunningStack) -> RunningStack:
    return local_stack


@pytest.fixture(scope="module")
def roster() -> dict[str, Director]:
    """The stack's roster by director id, regenerated from the same seed and size."""
    return {director.director_id: director for director in synthetic_directors(ROSTER_SIZE)}


def fee_for(director: Director, body: dict[str, Any], states: int) -> int:
    """The oracle's monthly fee of a roster director covering `states` of the request `body`."""
    assert director.fees is not None, director.director_id
    supervisees = body["supervisees"]
    return fee_by_hand(
        director.fees.model_dump(),
        np=supervisees["np"],
        pa=supervisees["pa"],
        states=states,
        locations=body["locations"],
        controlled=body["controlled_substances"],
    )


Sent = tuple[dict[str, Any], str]  # an outbox entry and its text part


def texts_by_kind(stack: RunningStack, emails: list[dict[str, Any]]) -> dict[str, list[Sent]]:
    """The request's emails as {kind: [(outbox entry, text part with newline line ends)]}."""
    found: dict[str, list[Sent]] = {}
    for entry in emails:
        text = email_text(stack, entry).replace("\r\n", "\n")
        found.setdefault(entry["kind"], []).append((entry, text))
    return found


def fee_lines(text: str) -> list[tuple[str, int]]:
    """An offer's itemised fee as (label, dollars), from "Your fee for ..." to its total line."""
    block = text.split("\nYour fee for", 1)[1].split("\n\n", 1)[0]
    found = [FEE_LINE.match(line) for line in block.splitlines()[1:]]
    return [(m.group(1), int(m.group(2).replace(",", ""))) for m in found if m]


def expected_lines(director: Director, body: dict[str, Any], states: int) -> list[tuple[str, int]]:
    """The lines an offer should show for the oracle's fee, zero components left out."""
    fees = director.fees
    assert fees is not None
    np, pa, locations = body["supervisees"]["np"], body["supervisees"]["pa"], body["locations"]
    lines = [
        ("Base fee (one state, one location)", fees.base),
        (f"{np} supervised NP{'s' if np != 1 else ''} at {dollars(fees.per_np)}", np * fees.per_np),
        (f"{pa} supervised PA{'s' if pa != 1 else ''} at {dollars(fees.per_pa)}", pa * fees.per_pa),
        (
            f"{states - 1} additional state{'s' if states != 2 else ''} "
            f"at {dollars(fees.per_additional_state)}",
            (states - 1) * fees.per_additional_state,
        ),
        (
            f"{locations - 1} additional location{'s' if locations != 2 else ''} "
            f"at {dollars(fees.per_additional_location)}",
            (locations - 1) * fees.per_additional_location,
        ),
        ("Controlled substances", fees.controlled_premium if body["controlled_substances"] else 0),
    ]
    if fees.chart_review_percent:
        lines.append((f"Chart review ({fees.chart_review_percent}% of charts)", fees.chart_review_fee or 0))
    total = fee_for(director, body, states)
    return [line for n, line in enumerate(lines) if n == 0 or line[1]] + [("Total a month", total)]


def row(label: str, value: str) -> str:
    """One "label: value" line of an introduction, as its text part aligns them."""
    return f"  {label + ':':<23} {value}\n"


def director_of(entry: dict[str, Any], roster: dict[str, Director]) -> Director:
    """The roster director an offer email went to (its Message-ID names the offer's director)."""
    director_id = entry["message_id"].strip("<>").split("@")[0].split(".")[-1]
    return roster[director_id]


def accept(stack: RunningStack, offer_text: str) -> tuple[int, str, str]:
    """(status, heading, message) of the page after the director presses Accept on their link's page."""
    status, _, page = stack.request("POST", urlsplit(accept_link_in(offer_text)).path + "/accept")
    message = re.search(rb'role="status">(.*?)</p>', page, re.S)
    assert message is not None, page
    return status, heading(page), " ".join(message.group(1).decode().split())


def accept_link_in(text: str) -> str:
    found = re.search(r"^Accept at \$[\d,]+ a month:\s+(\S+)", text, re.M)
    assert found is not None, text
    return found.group(1)


def test_quote_walk_tx_range_offers_and_introduction_give_the_roster_fees(
    stack: RunningStack, roster: dict[str, Director]
) -> None:
    # Given a TX clinic with 3 NPs and controlled substances, posted to the stack
    body = quote_body(supervisees={"np": 3, "pa": 0}, controlled_substances=True)
    request_id = submit(stack, body)
    offers = wait_for_offers(stack, request_id)
    emails = texts_by_kind(stack, wait_for(stack, request_id, {"quote": 1, "offer": len(offers)}))
    expected = {o["director_id"]: fee_for(roster[o["director_id"]], body, states=1) for o in offers}

    # Then the "Your quote" range is the lowest and highest of the offered directors' own fees
    [(_, quote)] = emails["quote"]
    low, high = min(expected.values()), max(expected.values())
    assert f"Your quote: {dollars(low)} to {dollars(high)} a month" in quote
    # And the eligible count and the typical fee are what the matcher stored
    stored = {item["sk"]: item for item in partition(stack, request_id)}["MATCH"]["quote"]
    assert (stored["low"], stored["high"]) == (low, high)
    assert stored["eligible"] >= len(offers) > 1
    assert (
        f"Across all {stored['eligible']} physicians who qualify, "
        f"the typical fee is {dollars(stored['median'])} a month."
    ) in quote

    # And each offer itemises that director's own fee, and its accept line names it
    for entry, text in emails["offer"]:
        director = director_of(entry, roster)
        assert fee_lines(text) == expected_lines(director, body, states=1), text
        assert f"Accept at {dollars(expected[director.director_id])} a month: " in text

    # When one director accepts by link
    entry, text = emails["offer"][-1]
    chosen = director_of(entry, roster)
    fee = dollars(expected[chosen.director_id])
    status, title, message = accept(stack, text)

    # Then the page says the fee accepted, and one introduction goes to the clinic and that director
    assert (status, title) == (200, "You accepted")
    assert f"you accepted at {fee} a month" in message
    [(introduction, intro)] = texts_by_kind(stack, wait_for(stack, request_id, {"introduction": 1}))[
        "introduction"
    ]
    assert introduction["recipients"] == [body["contact"]["email"], chosen.email]
    # stating the fee, the TX license number and both phones as people write them
    [tx_license] = [lic.number for lic in chosen.licenses if lic.state == "TX"]
    assert row("Monthly fee", f"{fee} a month") in intro
    assert row("Licenses", f"TX {tx_license}") in intro
    assert row("Phone", us_phone(chosen.phone)) in intro
    assert row("Phone", "(512) 555-0147") in intro
    assert re.search(r"\+1\d{10}", intro) is None


def test_quote_walk_team_says_who_covers_which_state_at_every_step(
    stack: RunningStack, roster: dict[str, Director]
) -> None:
    # Given a clinic in TX, NM and OK, which no single director of the roster can take
    body = quote_body(states=TEAM_STATES)
    request_id = submit(stack, body)
    offers = wait_for_offers(stack, request_id)
    emails = texts_by_kind(stack, wait_for(stack, request_id, {"quote": 1, "offer": len(offers)}))
    covers = {o["director_id"]: o["covers_states"] for o in offers}
    assert len(covers) > 1
    assert sorted(s for states in covers.values() for s in states) == sorted(TEAM_STATES)
    fees = {d: fee_for(roster[d], body, states=len(states)) for d, states in covers.items()}

    # Then each member's offer names the states they would cover, their fee for those, and when the
    # introduction goes out
    for entry, text in emails["offer"]:
        director = director_of(entry, roster)
        states = ", ".join(covers[director.director_id])
        assert f"  You would cover: {states}\n" in text
        assert f"Your fee for covering {states}:" in text
        assert fee_lines(text) == expected_lines(director, body, len(covers[director.director_id])), text
        assert "the introduction to the clinic goes out once every state is covered" in text
    # And the clinic's quote is the team's total, saying who covers which state
    [(_, quote)] = emails["quote"]
    assert f"Your quote: {dollars(sum(fees.values()))} a month" in quote
    for director_id, states in covers.items():
        assert f"  One physician for {', '.join(states)}: {dollars(fees[director_id])} a month\n" in quote
    assert "introduced to you together by one email once every state is covered" in quote

    # When the first member accepts by link
    (first, first_text), *rest = emails["offer"]
    first_states = ", ".join(covers[director_of(first, roster).director_id])
    status, title, message = accept(stack, first_text)

    # Then their page says which states they accepted, at what fee, and that the introduction waits
    assert (status, title) == (200, "You accepted")
    assert message.startswith(
        f"Thank you: you accepted to cover {first_states} at "
        f"{dollars(fees[director_of(first, roster).director_id])} a month."
    )
    assert "by one email once every state is covered" in message
    request = {item["sk"]: item for item in partition(stack, request_id)}["REQUEST"]
    assert request["request_status"] == "OFFERED"

    # When every other member accepts
    for _, text in rest:
        assert accept(stack, text)[:2] == (200, "You accepted")

    # Then one introduction goes to the clinic and every member, each covering their states at their fee
    [(introduction, intro)] = texts_by_kind(stack, wait_for(stack, request_id, {"introduction": 1}))[
        "introduction"
    ]
    members = [director_of(entry, roster) for entry, _ in emails["offer"]]
    clinic, *directors = introduction["recipients"]
    assert (clinic, sorted(directors)) == (body["contact"]["email"], sorted(m.email for m in members))
    for member in members:
        section = intro.split(f"Dr. {member.first_name} {member.last_name}\n", 1)[1].split("\n\n")[0] + "\n"
        assert row("Covers", ", ".join(covers[member.director_id])) in section
        assert row("Monthly fee", f"{dollars(fees[member.director_id])} a month") in section
    assert f"Total for the clinic: {dollars(sum(fees.values()))} a month" in intro


def test_quote_walk_request_nobody_fits_tells_the_clinic_within_the_minute(stack: RunningStack) -> None:
    # Given a Georgia clinic with 50 PAs (a Georgia physician supervises at most 4)
    body = quote_body(states=["GA"], supervisees={"np": 0, "pa": 50})

    # When it is posted
    request_id = submit(stack, body)

    # Then the clinic's no-match email arrives within the minute the request was made, saying why
    [entry] = [e for e in wait_for(stack, request_id, {"no_match": 1}) if e["kind"] == "no_match"]
    request = {item["sk"]: item for item in partition(stack, request_id)}["REQUEST"]
    assert request["request_status"] == "NO_MATCH"
    waited = datetime.fromisoformat(entry["sent_at"]) - datetime.fromisoformat(request["created_at"])
    assert waited.total_seconds() < SAME_MINUTE_SECONDS
    assert entry["to"] == body["contact"]["email"]
    text = email_text(stack, entry)
    assert "have no room under the state's limits to supervise 50 PAs." in text
    assert "You will hear from us by " in text
