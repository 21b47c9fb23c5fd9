"""Case 6: races. The same offer accepted and declined at once; accepted while the sweep expires
it; (two sweeps at once: tests/integration/test_sweep.py). Each is run many times, threads
released together, with moto serialising each call (one_call_at_a_time) so that threads
interleave between calls, where races live. Every run must end in one consistent outcome.
"""

from __future__ import annotations

import html
import random
import re
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import ClientError

from directormatch.aws.directors_table import DirectorStore
from directormatch.aws.requests_table import RequestStore
from directormatch.matching.sweep import SweepSettings, sweep
from directormatch.offers import lifecycle as offers
from directormatch.vocabulary import Action
from local.lambdas import LambdaContext
from tests.faults import FaultyClient, client_error, use_client
from tests.integration.conftest import Aws, roster_director
from tests.integration.test_respond import link_token
from tests.reliability.conftest import Tally
from tests.reliability.helpers import post_quote, renew_requests_table, stream_reader

CASE = "6"
RUNS = 20
SETTINGS = SweepSettings(wave_size=3, offer_hours=4, max_waves=3)


def load_roomy_directors(aws: Aws, count: int) -> list[str]:
    """TX directors with room for many clinics (every run may add one to somebody)."""
    items = [i for n in range(1, count + 1) for i in roster_director(n, ("TX",), max_clinics=50)]
    aws.director_store().put_items(items)
    return [i["pk"] for i in items if i["sk"] == "PROFILE"]


NewOffers = Callable[[], tuple[str, list[dict[str, Any]]]]


@pytest.fixture
def new_offers(
    aws: Aws, intake_app: ModuleType, match_app: ModuleType, lambda_context: LambdaContext
) -> NewOffers:
    """Posts a quote through intake and matches it from its stream record (first wave of three);
    returns its request id and offers. Without supervisees: the runs' accepts would otherwise fill
    the directors' TX supervision limit."""

    def make() -> tuple[str, list[dict[str, Any]]]:
        reader = stream_reader(aws, "MatchFunction")
        aws.use_function("MatchFunction")
        request_id = post_quote(intake_app, lambda_context, supervisees={"np": 0, "pa": 0})
        assert match_app.lambda_handler({"Records": reader()}, lambda_context) == {"batchItemFailures": []}
        return request_id, aws.request_store().offers(request_id)

    return make


def heading(body: str) -> str:
    found = re.search(r"<h1>(.*?)</h1>", body, re.S)
    return html.unescape(found.group(1).strip()) if found else ""


def clinics(aws: Aws, director_id: str) -> int:
    profile = aws.director_store().get_profile(director_id)
    assert profile is not None
    return int(profile["active_clinics"])


def together(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released at the same moment, each after a random short delay (so
    that over the runs each gets ahead); results in order."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        start.wait()
        threading.Event().wait(random.uniform(0, 0.03))
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_accept_and_decline_of_the_same_offer_at_once_end_in_one_outcome_every_time(
    aws: Aws, new_offers: NewOffers, respond_app: ModuleType, one_call_at_a_time: None, tally: Tally
) -> None:
    # Given directors with room
    load_roomy_directors(aws, 4)
    outcomes: Counter[str] = Counter()
    for _ in range(RUNS):
        # Given a new request's open offer, with its accept and decline links
        renew_requests_table(aws)
        request_id, [offer, *_] = new_offers()
        director_id = offer["director_id"]
        load_before = clinics(aws, director_id)
        aws.use_function("RespondFunction")

        # When the director's accept and decline arrive at the same moment (two tabs, a scanner)
        def press(action: Action, offer: dict[str, Any] = offer) -> tuple[int, str]:
            response = respond_app.answer_offer(link_token(offer, action), action.value)
            return response.status_code, heading(response.body)

        accepted, declined = together(lambda: press(Action.ACCEPT), lambda: press(Action.DECLINE))

        # Then exactly one of them acted, the other was told so, and what is stored agrees
        stored = aws.request_store().get_offer(request_id, director_id)
        request = aws.request_store().get_request(request_id)
        assert stored is not None
        assert request is not None
        if accepted == (200, "You accepted"):
            outcome = "accept won"
            consistent = (
                declined == (409, "Already accepted")
                and stored["offer_status"] == "ACCEPTED"
                and request["request_status"] == "MATCHED"
                and request.get("matched_director_id") == director_id
                and clinics(aws, director_id) == load_before + 1
            )
        else:
            outcome = "decline won"
            consistent = (
                (accepted, declined) == ((409, "Already declined"), (200, "You declined"))
                and stored["offer_status"] == "DECLINED"
                and request["request_status"] == "OFFERED"
                and clinics(aws, director_id) == load_before
            )
        outcomes[outcome] += 1
        tally.tried(ok=consistent)
        assert consistent, (outcome, accepted, declined, stored["offer_status"], request["request_status"])
    print(f"accept vs decline, {RUNS} runs: {dict(outcomes)}")


def accept_at(aws: Aws, request_id: str, director_id: str, now: datetime) -> offers.Answer:
    return offers.accept(aws.request_store(), aws.director_store(), request_id, director_id, "link", now)


def sweep_at(aws: Aws, moment: datetime) -> Any:
    return sweep(aws.request_store(), aws.director_store(), SETTINGS, moment)


def test_accept_while_the_sweep_expires_the_offer_either_matches_or_expires_never_both(
    aws: Aws, new_offers: NewOffers, one_call_at_a_time: None, tally: Tally
) -> None:
    # Given directors enough for a second wave
    load_roomy_directors(aws, 6)
    outcomes: Counter[str] = Counter()
    for _ in range(RUNS):
        # Given a new request whose first-wave offers expire at `expiry` (the only request: the
        # sweep has the same work to do in every run, so neither side is favoured)
        renew_requests_table(aws)
        request_id, first_wave = new_offers()
        offer = first_wave[0]
        director_id = offer["director_id"]
        expiry = datetime.fromisoformat(offer["expires_at"])
        load_before = clinics(aws, director_id)
        aws.use_function("SweepFunction")

        # When the director accepts a second before the expiry (by their clock) while the sweep
        # runs a second after it (by the schedule's)
        answer, _ = together(
            partial(accept_at, aws, request_id, director_id, expiry - timedelta(seconds=1)),
            partial(sweep_at, aws, expiry + timedelta(seconds=1)),
        )

        # Then either the accept won (MATCHED, no second wave) or the expiry did (EXPIRED, the
        # second wave out, the request still searching), never a mix of both
        request = aws.request_store().get_request(request_id)
        assert request is not None
        stored = {o["director_id"]: o for o in aws.request_store().offers(request_id)}
        second_wave = [o for o in stored.values() if o["wave"] == 2]
        if answer.outcome == offers.Outcome.ACCEPTED:
            outcome = "accept won"
            others = {stored[o["director_id"]]["offer_status"] for o in first_wave[1:]}
            consistent = (
                stored[director_id]["offer_status"] == "ACCEPTED"
                and (request["request_status"], request["wave"]) == ("MATCHED", 1)
                and request.get("matched_director_id") == director_id
                and not second_wave
                and others <= {"SUPERSEDED", "EXPIRED"}
                and clinics(aws, director_id) == load_before + 1
            )
        else:
            outcome = "expiry won"
            consistent = (
                answer.outcome == offers.Outcome.EXPIRED
                and stored[director_id]["offer_status"] == "EXPIRED"
                and (request["request_status"], request["wave"]) == ("OFFERED", 2)
                and len(second_wave) == 3
                and {o["offer_status"] for o in second_wave} == {"OPEN"}
                and clinics(aws, director_id) == load_before
            )
        outcomes[outcome] += 1
        tally.tried(ok=consistent)
        assert consistent, (outcome, answer.outcome, request["request_status"], request.get("wave"))
    print(f"accept vs sweep expiry, {RUNS} runs: {dict(outcomes)}")


def _refuse_answer(request: dict[str, Any]) -> ClientError | None:
    if "answered_via" not in request.get("UpdateExpression", ""):
        return None
    return client_error("TransactionConflictException", "UpdateItem", "Transaction is ongoing")


def test_decline_arriving_while_the_accept_transaction_is_in_flight_says_already_accepted(
    aws: Aws, new_offers: NewOffers, respond_app: ModuleType, monkeypatch: pytest.MonkeyPatch, tally: Tally
) -> None:
    # Given an open offer, whose accept (other tab) is being written when the decline arrives
    load_roomy_directors(aws, 3)
    request_id, [offer, *_] = new_offers()
    real = aws.dynamodb
    requests = RequestStore(aws.requests_table, client=real)
    directors = DirectorStore(
        aws.directors_table,
        aws.environment["DIRECTORS_BY_STATE_INDEX"],
        aws.environment["AVAILABILITY_TABLE"],
        client=real,
    )

    def accept_in_other_tab() -> None:
        answer = offers.accept(requests, directors, request_id, offer["director_id"], via="link")
        assert answer.outcome == offers.Outcome.ACCEPTED

    # DynamoDB refuses a write to an item another transaction is writing at that moment: the accept
    # (from the other tab) runs as the decline's UpdateItem arrives, which is refused once meanwhile
    client = FaultyClient(real, "update_item", _refuse_answer, meanwhile=accept_in_other_tab)
    use_client(monkeypatch, RequestStore, client)
    aws.use_function("RespondFunction")

    # When the decline is handled
    response = respond_app.answer_offer(link_token(offer, Action.DECLINE), "decline")

    # Then the director is told the offer was already accepted (not an error page), and the
    # accept stands
    answered = (response.status_code, heading(response.body))
    stored = aws.request_store().get_offer(request_id, offer["director_id"])
    consistent = (
        answered == (409, "Already accepted") and stored is not None and stored["offer_status"] == "ACCEPTED"
    )
    tally.tried(ok=consistent)
    assert answered == (409, "Already accepted")
    assert consistent
