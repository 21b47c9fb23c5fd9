"""The respond function on offer links: GET shows, POST accepts or declines, the first accept wins."""

from __future__ import annotations

import email
import html
import re
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email import policy
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import ClientError

from directormatch import tokens
from directormatch.aws.attributes import from_attributes
from directormatch.aws.directors_table import DirectorStore
from directormatch.aws.requests_table import RequestStore
from directormatch.directors import Fees
from directormatch.offers import lifecycle as offers
from directormatch.tokens import Keyring
from directormatch.vocabulary import Action
from local.lambdas import LambdaContext
from tests.events import page_event
from tests.faults import FaultyClient, client_error, use_client
from tests.integration.conftest import Aws, Handler, LoadDirectors, OfferedRequest, call_with, roster_director

SUPERVISEES = {"np": 2, "pa": 1}


@pytest.fixture
def respond(respond_app: ModuleType, lambda_context: LambdaContext) -> Handler:
    """The respond handler, called with an API event and the test's Lambda context."""
    return call_with(respond_app, lambda_context)


def offer_event(method: str, token: str, action: str | None = None) -> dict[str, Any]:
    """API Gateway REST proxy event of GET /offers/{token} or POST /offers/{token}/{action}: a form
    POST has no body."""
    if action is None:
        return page_event(method, "/offers/{token}", {"token": token})
    return page_event(method, "/offers/{token}/{action}", {"token": token, "action": action})


def link_token(
    offer: dict[str, Any],
    action: Action = Action.ACCEPT,
    keyring: Keyring | None = None,
    subject: str | None = None,
    expires: datetime | None = None,
) -> str:
    """The token of the offer email's link (as links.offer_links signs it), or of a link like it for
    another `subject` (director or clinic) or expiry."""
    return tokens.issue(
        keyring or tokens.keyring(),
        action,
        offer["request_id"],
        subject or offer["director_id"],
        expires or datetime.fromisoformat(offer["expires_at"]),
    )


def offers_of(aws: Aws, request_id: str) -> list[dict[str, Any]]:
    return sorted(aws.request_store().offers(request_id), key=lambda o: o["director_id"])


def tables(aws: Aws) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Everything stored: both tables in full."""
    return aws.items(), aws.items(aws.directors_table)


def heading(response: dict[str, Any]) -> str:
    found = re.search(r"<h1>(.*?)</h1>", response["body"], re.S)
    return html.unescape(found.group(1).strip()) if found else ""


def header(response: dict[str, Any], name: str) -> str:
    """A response header; Powertools answers a REST event carrying multiValueHeaders in kind."""
    values = (response.get("multiValueHeaders") or {}).get(name) or [(response.get("headers") or {})[name]]
    return str(values[0])


def director_item(aws: Aws, director_id: str, sk: str) -> dict[str, Any]:
    response = aws.dynamodb.get_item(
        TableName=aws.directors_table, Key={"pk": {"S": director_id}, "sk": {"S": sk}}, ConsistentRead=True
    )
    return from_attributes(response["Item"])


# The offered fixture: the request, and its offers sorted by director.
Offered = tuple[dict[str, Any], list[dict[str, Any]]]


@pytest.fixture
def offered(
    aws: Aws, load_directors: LoadDirectors, offered_request: OfferedRequest, respond_app: ModuleType
) -> Offered:
    """A TX request (2 NPs, 1 PA) offered to three of four directors licensed in TX and OK."""
    load_directors(4, states=("TX", "OK"))
    request = offered_request(supervisees=SUPERVISEES)
    aws.use_function("RespondFunction")
    found = offers_of(aws, request["request_id"])
    assert request["request_status"] == "OFFERED"
    assert len(found) == 3
    return request, found


def test_respond_get_offer_link_shows_the_offer_with_a_form_and_changes_nothing(
    aws: Aws, respond: Handler, offered: Offered
) -> None:
    # Given an open offer and its accept link
    _, [offer, *_] = offered
    token = link_token(offer)
    before = tables(aws)

    # When the link is opened (a director, or a mail scanner)
    response = respond(offer_event("GET", token))

    # Then a page shows the clinic's needs, why this director, and one button posting the answer
    assert response["statusCode"] == 200
    assert header(response, "Content-Type").startswith("text/html")
    assert header(response, "Cache-Control") == "no-store"
    page = html.unescape(response["body"])
    assert heading(response) == "Accept this directorship?"
    assert "<dt>States</dt><dd>TX</dd>" in page
    assert "<dt>Services</dt><dd>aesthetics, weight loss</dd>" in page
    assert "<dt>Supervision</dt><dd>2 NPs, 1 PA</dd>" in page
    assert offer["reasons"]
    for reason in offer["reasons"]:
        assert f"<li>{reason}</li>" in page
    base = aws.environment["PUBLIC_BASE_URL"].rstrip("/")
    assert f'<form method="post" action="{base}/offers/{token}/accept"' in page
    # And nothing changed in either table
    assert tables(aws) == before


def test_respond_post_accept_matches_the_request_and_supersedes_the_other_offers(
    aws: Aws, respond: Handler, offered: Offered
) -> None:
    # Given three open offers of one request, and the first director's load
    request, [offer, *others] = offered
    director_id = offer["director_id"]
    profile_before = director_item(aws, director_id, "PROFILE")
    tx_before = director_item(aws, director_id, "LICENSE#TX")
    ok_before = director_item(aws, director_id, "LICENSE#OK")

    # When the first director accepts by link
    response = respond(offer_event("POST", link_token(offer), "accept"))

    # Then the page confirms it
    assert response["statusCode"] == 200
    assert heading(response) == "You accepted"
    # And the offer is ACCEPTED, the request MATCHED to that director, the other offers SUPERSEDED
    stored = {o["director_id"]: o for o in offers_of(aws, request["request_id"])}
    assert stored[director_id]["offer_status"] == "ACCEPTED"
    assert stored[director_id]["answered_via"] == "link"
    assert {stored[o["director_id"]]["offer_status"] for o in others} == {"SUPERSEDED"}
    matched = aws.request_store().get_request(request["request_id"])
    assert matched is not None
    assert matched["request_status"] == "MATCHED"
    assert matched["matched_director_id"] == director_id
    # And the director carries one more clinic everywhere, and the clinic's NPs and PAs in TX only
    profile = director_item(aws, director_id, "PROFILE")
    tx, ok = director_item(aws, director_id, "LICENSE#TX"), director_item(aws, director_id, "LICENSE#OK")
    assert profile["active_clinics"] == profile_before["active_clinics"] + 1
    assert tx["active_clinics"] == tx_before["active_clinics"] + 1
    assert ok["active_clinics"] == ok_before["active_clinics"] + 1
    assert (tx["supervising_np"], tx["supervising_pa"]) == (
        tx_before["supervising_np"] + SUPERVISEES["np"],
        tx_before["supervising_pa"] + SUPERVISEES["pa"],
    )
    assert (ok["supervising_np"], ok["supervising_pa"]) == (
        ok_before["supervising_np"],
        ok_before["supervising_pa"],
    )
    # And the other directors' loads did not change
    for other in others:
        assert director_item(aws, other["director_id"], "PROFILE")["active_clinics"] == 1


@pytest.mark.parametrize(
    ("first", "then", "status", "expected"),
    [
        pytest.param((0, "accept"), (0, "accept"), 409, "Already accepted", id="accept-twice"),
        pytest.param((0, "accept"), (1, "accept"), 409, "Position filled", id="accept-after-another"),
        pytest.param((0, "accept"), (0, "decline"), 409, "Already accepted", id="decline-after-accept"),
        pytest.param((0, "accept"), (1, "decline"), 409, "Position filled", id="decline-after-another"),
        pytest.param((0, "decline"), (0, "decline"), 409, "Already declined", id="decline-twice"),
        pytest.param((0, "decline"), (0, "accept"), 409, "Already declined", id="accept-after-decline"),
    ],
)
def test_respond_late_or_repeated_answer_refused_and_nothing_changes(
    aws: Aws,
    respond: Handler,
    offered: Offered,
    first: tuple[int, str],
    then: tuple[int, str],
    status: int,
    expected: str,
) -> None:
    # Given one director already answered
    _, found = offered
    index, action = first
    answered = respond(offer_event("POST", link_token(found[index], Action(action)), action))
    assert answered["statusCode"] == 200
    before = tables(aws)

    # When the same or another director answers afterwards
    index, action = then
    response = respond(offer_event("POST", link_token(found[index], Action(action)), action))

    # Then the page says why, with a conflict status, and nothing changed
    assert (response["statusCode"], heading(response)) == (status, expected)
    assert tables(aws) == before


def test_respond_post_decline_declines_only_that_offer(aws: Aws, respond: Handler, offered: Offered) -> None:
    # Given three open offers
    request, [offer, *others] = offered

    # When the first director declines by link
    response = respond(offer_event("POST", link_token(offer, Action.DECLINE), "decline"))

    # Then the page confirms it, the offer is DECLINED, and the search goes on
    assert (response["statusCode"], heading(response)) == (200, "You declined")
    stored = {o["director_id"]: o for o in offers_of(aws, request["request_id"])}
    assert stored[offer["director_id"]]["offer_status"] == "DECLINED"
    assert {stored[o["director_id"]]["offer_status"] for o in others} == {"OPEN"}
    searching = aws.request_store().get_request(request["request_id"])
    assert searching is not None
    assert searching["request_status"] == "OFFERED"
    assert director_item(aws, offer["director_id"], "PROFILE")["active_clinics"] == 1


def other_keyring(kid: str) -> Keyring:
    return Keyring.from_json({"active": kid, "keys": {kid: "another-environment-secret-0123456789"}})


def tampered(token: str) -> str:
    parts = token.split(".")
    parts[3] = "D00000000000000000000"  # another director's id, signature kept
    return ".".join(parts)


NOT_VALID = (403, "Link not valid")
EXPIRED = (410, "Link expired")
NOT_FOUND = (404, "Offer not found")


@pytest.mark.parametrize(
    ("make_token", "answer", "page"),
    [
        pytest.param(lambda o: tampered(link_token(o)), NOT_VALID, NOT_VALID, id="tampered-director"),
        pytest.param(
            lambda o: link_token(o, Action.DECLINE),
            NOT_VALID,
            (200, "Decline this directorship?"),
            id="wrong-action",
        ),
        pytest.param(
            lambda o: link_token(o, keyring=other_keyring("k9")), NOT_VALID, NOT_VALID, id="unknown-kid"
        ),
        pytest.param(
            lambda o: link_token(o, keyring=other_keyring("t1")), NOT_VALID, NOT_VALID, id="other-environment"
        ),
        pytest.param(
            lambda o: link_token(o, expires=datetime.now(UTC) - timedelta(minutes=1)),
            EXPIRED,
            EXPIRED,
            id="expired",
        ),
        pytest.param(
            lambda o: link_token(
                o, Action.STATUS, subject="clinic", expires=datetime.now(UTC) + timedelta(days=1)
            ),
            NOT_VALID,
            NOT_VALID,
            id="clinic-status-token",
        ),
        pytest.param(
            lambda o: link_token(o, subject="D00000000000000000000"), NOT_FOUND, NOT_FOUND, id="no-such-offer"
        ),
    ],
)
def test_respond_post_with_bad_token_refused_and_nothing_changes(
    aws: Aws,
    respond: Handler,
    offered: Offered,
    make_token: Callable[[dict[str, Any]], str],
    answer: tuple[int, str],
    page: tuple[int, str],
) -> None:
    # Given an open offer, and a link to it that is forged, foreign, expired or for something else
    _, [offer, *_] = offered
    token = make_token(offer)
    before = tables(aws)

    # When the link is opened, then posted
    opened = respond(offer_event("GET", token))
    posted = respond(offer_event("POST", token, "accept"))

    # Then each answers with a clear page and status (a decline link shows its own page), and
    # nothing changed
    assert (opened["statusCode"], heading(opened)) == page
    assert (posted["statusCode"], heading(posted)) == answer
    assert tables(aws) == before


def test_respond_accept_by_director_without_room_left_refused_and_nothing_changes(
    aws: Aws, respond: Handler, offered: Offered
) -> None:
    # Given a director who took on clinics elsewhere since the offer: now at max_clinics
    _, [offer, *_] = offered
    aws.dynamodb.update_item(
        TableName=aws.directors_table,
        Key={"pk": {"S": offer["director_id"]}, "sk": {"S": "PROFILE"}},
        UpdateExpression="SET active_clinics = max_clinics",
    )
    before = tables(aws)

    # When that director accepts
    response = respond(offer_event("POST", link_token(offer), "accept"))

    # Then the page says there is no room, and nothing changed
    assert (response["statusCode"], heading(response)) == (409, "No room left")
    assert tables(aws) == before


def test_respond_accept_cancelled_by_a_concurrent_accept_answers_position_filled(
    aws: Aws, respond: Handler, offered: Offered, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two directors accept at the same moment: the second's transaction overlaps the first's,
    # so DynamoDB cancels it with TransactionConflict while the first one lands
    request, [first, second, _] = offered
    real = aws.dynamodb
    env = aws.environment
    requests = RequestStore(aws.requests_table, client=real)
    directors = DirectorStore(
        aws.directors_table, env["DIRECTORS_BY_STATE_INDEX"], env["AVAILABILITY_TABLE"], client=real
    )

    def first_accepts() -> None:
        assert offers.accept(requests, directors, request["request_id"], first["director_id"], "link").changed

    def conflict(request: dict[str, Any]) -> ClientError:
        reasons: list[Any] = [{"Code": "None"} for _ in request["TransactItems"]]
        reasons[1] = {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
        return client_error("TransactionCanceledException", "TransactWriteItems", CancellationReasons=reasons)

    # (DynamoDB cancels a transaction with TransactionConflict while another on the same items is in flight)
    client = FaultyClient(real, "transact_write_items", conflict, meanwhile=first_accepts)
    use_client(monkeypatch, RequestStore, client)

    # When the second director's accept is handled
    response = respond(offer_event("POST", link_token(second), "accept"))

    # Then it is told the position was filled (not an error), and the first director is matched
    assert (response["statusCode"], heading(response)) == (409, "Position filled")
    stored = {o["director_id"]: o["offer_status"] for o in offers_of(aws, request["request_id"])}
    assert stored[first["director_id"]] == "ACCEPTED"
    assert stored[second["director_id"]] == "SUPERSEDED"
    matched = aws.request_store().get_request(request["request_id"])
    assert matched is not None
    assert (matched["request_status"], matched["matched_director_id"]) == ("MATCHED", first["director_id"])


def _refuse_offer_close(request: dict[str, Any]) -> ClientError | None:
    if "closed_at" not in request["UpdateExpression"]:
        return None
    return client_error("TransactionConflictException", "UpdateItem", "Transaction is ongoing")


def test_respond_accept_while_another_answer_is_in_flight_still_supersedes_every_other_offer(
    aws: Aws, respond: Handler, offered: Offered, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given closing one of the other offers briefly conflicts with that director's own accept in flight
    request, [offer, *others] = offered
    # (DynamoDB refuses a write to an item another director's accept transaction is writing)
    client = FaultyClient(aws.dynamodb, "update_item", _refuse_offer_close)
    use_client(monkeypatch, RequestStore, client)

    # When the first director accepts
    response = respond(offer_event("POST", link_token(offer), "accept"))

    # Then the director is told they accepted, and every other offer is SUPERSEDED all the same
    assert (response["statusCode"], heading(response)) == (200, "You accepted")
    assert len(client.refused) == 1
    stored = {o["director_id"]: o["offer_status"] for o in offers_of(aws, request["request_id"])}
    assert stored == {offer["director_id"]: "ACCEPTED", **{o["director_id"]: "SUPERSEDED" for o in others}}


def offer_tokens_from_emails(aws: Aws) -> dict[str, str]:
    """{director id: accept token} from the offer emails SES accepted."""
    found = {}
    for sent in aws.sent_emails():
        raw = sent.raw_data if isinstance(sent.raw_data, bytes) else sent.raw_data.encode()
        message = email.message_from_bytes(raw, policy=policy.default)
        if not str(message["Message-ID"]).startswith("<offer."):
            continue
        text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        link = re.search(r"^Accept:\s+(\S+)", text, re.M)
        assert link is not None, text
        token = link.group(1).rsplit("/offers/", 1)[1]
        found[tokens.verify(tokens.keyring(), token).subject] = token
    return found


def kinds_sent(aws: Aws) -> Counter[str]:
    """How many emails of each kind (the Message-ID starts with it) SES accepted."""
    counts: Counter[str] = Counter()
    for sent in aws.sent_emails():
        raw = sent.raw_data if isinstance(sent.raw_data, bytes) else sent.raw_data.encode()
        message_id = email.message_from_bytes(raw, policy=policy.default)["Message-ID"]
        counts[str(message_id).strip("<").split(".", 1)[0]] += 1
    return counts


def deliver(
    notify_app: ModuleType, records: list[dict[str, Any]], context: LambdaContext, batch_size: int = 10
) -> None:
    """Hand records to the notify handler in batches of the template's BatchSize; none may fail."""
    for start in range(0, len(records), batch_size):
        response = notify_app.lambda_handler({"Records": records[start : start + batch_size]}, context)
        assert response == {"batchItemFailures": []}


def test_respond_twenty_concurrent_accepts_one_wins_and_one_introduction_is_sent(
    aws: Aws,
    load_directors: LoadDirectors,
    offered_request: OfferedRequest,
    respond_app: ModuleType,
    notify_app: ModuleType,
    notify_stream: Callable[[], list[dict[str, Any]]],
    one_call_at_a_time: None,
    lambda_context: LambdaContext,
) -> None:
    # Given a request offered to twenty directors at once, whose offer emails went out
    load_directors(20)
    request = offered_request(wave_size=20)
    request_id = request["request_id"]
    assert len(offers_of(aws, request_id)) == 20
    deliver(notify_app, notify_stream(), lambda_context)
    accept_tokens = offer_tokens_from_emails(aws)
    assert len(accept_tokens) == 20
    aws.use_function("RespondFunction")
    sent_before = kinds_sent(aws)

    # When all twenty press "accept" at the same moment. Each thread runs the POST route of the
    # respond function; not lambda_handler, because Powertools keeps the current event on a class
    # attribute (BaseRouter.current_event), so one process cannot resolve two events at once.
    start = threading.Barrier(20)

    def press_accept(token: str) -> tuple[int, str]:
        start.wait()
        response = respond_app.answer_offer(token, "accept")
        return response.status_code, heading({"body": response.body})

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(press_accept, accept_tokens.values()))

    # Then exactly one was told "You accepted", the other nineteen "Position filled"
    assert Counter(answers) == {(200, "You accepted"): 1, (409, "Position filled"): 19}
    # And one offer is ACCEPTED, nineteen SUPERSEDED, and the request MATCHED to the winner
    statuses = {o["director_id"]: o["offer_status"] for o in offers_of(aws, request_id)}
    assert Counter(statuses.values()) == {"ACCEPTED": 1, "SUPERSEDED": 19}
    [winner] = [d for d, s in statuses.items() if s == "ACCEPTED"]
    matched = aws.request_store().get_request(request_id)
    assert matched is not None
    assert (matched["request_status"], matched["matched_director_id"]) == ("MATCHED", winner)
    # And only the winner's load went up
    loads = {d: director_item(aws, d, "PROFILE")["active_clinics"] for d in statuses}
    assert loads == {d: 2 if d == winner else 1 for d in statuses}

    # When notify receives what the stream carried since
    changes = notify_stream()
    deliver(notify_app, changes, lambda_context)

    # Then one introduction went out, and a "filled" email to each of the nineteen others
    sent = kinds_sent(aws) - sent_before
    assert sent == {"introduction": 1, "filled": 19}
    assert sum(1 for r in changes if r["eventName"] == "MODIFY") == 20

    # When the same records are delivered again
    deliver(notify_app, changes, lambda_context)

    # Then nothing more is sent
    assert kinds_sent(aws) - sent_before == sent


def test_respond_accept_link_shows_the_fee_and_accepting_names_it(
    aws: Aws, offered_request: OfferedRequest, respond: Handler
) -> None:
    # Given a director whose schedule prices a TX request for 2 NPs and 1 PA, and their open offer
    fees = Fees(base=1_000, per_np=200, per_pa=150)
    aws.director_store().put_items(roster_director(1, fees=fees))
    request = offered_request(supervisees=SUPERVISEES)
    aws.use_function("RespondFunction")
    [offer] = offers_of(aws, request["request_id"])
    token = link_token(offer)
    before = tables(aws)

    # When the accept link is opened
    page = html.unescape(respond(offer_event("GET", token))["body"])

    # Then the page itemises the fee, and its button says what accepting accepts; nothing changed
    assert '<tr><td>2 supervised NPs at $200</td><td style="text-align:right;">$400</td></tr>' in page
    assert "<strong>$1,550</strong>" in page
    assert ">Yes, accept at $1,550 a month</button>" in page
    assert tables(aws) == before

    # When the director presses the button
    response = respond(offer_event("POST", token, "accept"))

    # Then the result page says the fee accepted, and the request is matched
    assert response["statusCode"] == 200
    assert "Thank you: you accepted at $1,550 a month." in html.unescape(response["body"])
    matched = aws.request_store().get_request(request["request_id"])
    assert matched is not None
    assert matched["request_status"] == "MATCHED"
