"""The forged-sender corpus (tests/forged_replies.py) through the local stack: each raw message POSTed to
/_inbound, received as SES would and delivered to respond by SNS, changes nothing and sends nothing;
the director's genuine reply then accepts."""

from __future__ import annotations

import json
import subprocess
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.e2e.conftest import ROOT, RunningStack
from tests.e2e.test_lifecycle import emails_for, partition, submit, wait_for, wait_for_offers
from tests.forged_replies import ATTACKER, FORGERIES, GENUINE, Forgery

pytestmark = pytest.mark.e2e
README_COMMAND = (
    "curl -X POST --data-binary @forged.eml 'http://127.0.0.1:3000/_inbound?dmarc_domain=evil.example'"
)


@pytest.fixture(scope="module")
def stack(local_stack: RunningStack) -> RunningStack:
    return local_stack


def first_offer(stack: RunningStack) -> tuple[str, list[dict[str, str]], str, str]:
    """A new quote's request id, its emails once its offers and its quote are out, and the first
    offer's director and reply address."""
    request_id = submit(stack)
    offered = wait_for_offers(stack, request_id)
    emails = wait_for(stack, request_id, {"offer": len(offered), "quote": 1})
    offer = next(e for e in emails if e["kind"] == "offer")
    status, _, raw = stack.request("GET", f"/_outbox/{offer['file']}")
    assert status == 200
    return request_id, emails, offer["to"], str(message_from_bytes(raw, policy=policy.default)["Reply-To"])


def offer_state(stack: RunningStack, request_id: str) -> list[dict[str, object]]:
    """The request's items but its email markers: those of the emails already under way (receipt,
    quote) change as they go out; what a reply causes to be sent is read from the outbox."""
    return [i for i in partition(stack, request_id) if not str(i["sk"]).startswith("EMAIL#")]


def receive(stack: RunningStack, forgery: Forgery, director: str, reply_to: str) -> tuple[int, object]:
    query = urlencode(forgery.query(director, reply_to))
    status, _, data = stack.request(
        "POST", f"/_inbound?{query}", forgery.message(director, reply_to).encode()
    )
    return status, json.loads(data)


def test_forged_replies_through_inbound_change_nothing_then_the_genuine_reply_accepts(
    stack: RunningStack,
) -> None:
    # Given a quote whose offers are in the outbox, and the first offer's director and reply address
    request_id, emails, director, reply_to = first_offer(stack)
    items_before = offer_state(stack, request_id)

    # When every forged reply of the corpus reaches SES's inbound, all verdicts as the forgery says
    answers = {forgery.name: receive(stack, forgery, director, reply_to) for forgery in FORGERIES}

    # Then respond refused each, and no item of the request changed
    assert answers == {f.name: (200, [{"outcomes": [f.outcome]}]) for f in FORGERIES}
    assert offer_state(stack, request_id) == items_before

    # When the director's own reply arrives
    genuine = receive(stack, GENUINE, director, reply_to)

    # Then it accepts; by the time its introduction is out, the forgeries had caused no email at all
    assert genuine == (200, [{"outcomes": ["ACTED"]}])
    after = wait_for(stack, request_id, {"introduction": 1})
    [introduction] = [e for e in after if e["kind"] == "introduction"]
    assert director in introduction["recipients"]
    caused = [e for e in emails_for(stack, request_id) if e not in emails]
    assert {e["kind"] for e in caused} <= {"introduction", "filled"}
    assert ATTACKER not in {address for e in stack.outbox() for address in e["recipients"]}


@pytest.mark.parametrize(
    ("query", "field"),
    [("dmarc=MAYBE", "dmarc"), ("spf=PASS&spf=FAIL", "spf"), ("verdict=PASS", "verdict"), ("", "rcpt")],
)
def test_inbound_bad_parameter_answers_400_naming_it(stack: RunningStack, query: str, field: str) -> None:
    # Given a message with no To, and a bad or missing parameter / When POSTed to /_inbound
    status, _, data = stack.request("POST", f"/_inbound?{query}", b"From: a@b.example\r\n\r\nACCEPT\r\n")

    # Then 400 names the parameter
    assert (status, json.loads(data)["errors"][0]["field"]) == (400, field)


def test_readme_inbound_command_refuses_the_reported_forgery(stack: RunningStack, tmp_path: Path) -> None:
    # Given the README's POST /_inbound example, and the reported forgery of an open offer saved as forged.eml
    assert README_COMMAND in " ".join((ROOT / "README.md").read_text().split())
    request_id, _, director, reply_to = first_offer(stack)
    [reported] = [f for f in FORGERIES if f.name == "display_name_is_the_director"]
    (tmp_path / "forged.eml").write_text(reported.message(director, reply_to))
    items_before = offer_state(stack, request_id)

    # When the command runs, pointed at the started stack
    done = subprocess.run(
        ["/bin/sh", "-c", README_COMMAND.replace("http://127.0.0.1:3000", stack.base_url)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )

    # Then respond refused the sender and nothing changed
    assert json.loads(done.stdout) == [{"outcomes": ["REFUSED_SENDER"]}]
    assert offer_state(stack, request_id) == items_before


def test_reply_whose_first_line_only_sounds_like_yes_changes_nothing_and_gets_the_help_answer(
    stack: RunningStack,
) -> None:
    # Given an open offer, and its director's own reply whose first line is "No problem, I accept"
    request_id, _, director, reply_to = first_offer(stack)
    offers_before = offer_state(stack, request_id)
    message = GENUINE.message(director, reply_to, body="No problem, I accept")

    # When it reaches SES's inbound
    status, _, data = stack.request(
        "POST", f"/_inbound?{urlencode(GENUINE.query(director, reply_to))}", message.encode()
    )

    # Then respond read it as unclear: the request and its offers are as they were, and the director
    # gets the one helpful answer
    assert (status, json.loads(data)) == (200, [{"outcomes": ["UNCLEAR"]}])
    assert offer_state(stack, request_id) == offers_before
    answers = wait_for(stack, request_id, {"reply_answer": 1})
    assert [e["to"] for e in answers if e["kind"] == "reply_answer"] == [director]
