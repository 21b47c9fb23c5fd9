"""The directors function: a director's manage link shows their profile (GET changes nothing) and
each form post changes it atomically, audited, on condition of the version the page showed."""

from __future__ import annotations

import email
import html
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from email import policy
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import pytest

from directormatch import keys, tokens
from directormatch.records import Offer
from directormatch.timezones import CENTRAL, local_time, start_of_day
from directormatch.vocabulary import Action
from local.lambdas import LambdaContext
from tests.events import page_event
from tests.integration.conftest import Aws, Handler, call_with, function_app

DIRECTOR = "D-MANAGE"
Loader = Callable[..., list[dict[str, Any]]]


@pytest.fixture
def director(aws: Aws, director_factory: Callable[..., list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """A family physician licensed in TX and OK (aesthetics, weight loss; 1 of 5 clinics), a DEA in TX."""
    items = director_factory(DIRECTOR, ["TX", "OK"], licensed_states=["OK", "TX"], fees={"base": 1200})
    items.append(
        {
            "pk": DIRECTOR,
            "sk": keys.DEA("TX"),
            "dea_state": "TX",
            "dea_number": "AB1234563",
            "dea_expires_on": "2030-01-31",
        }
    )
    aws.director_store().put_items(items)
    return items


@pytest.fixture
def manage(aws: Aws, lambda_context: LambdaContext) -> Handler:
    return call_with(function_app(aws, "DirectorsFunction"), lambda_context)


def manage_token(director_id: str = DIRECTOR, days: int = 30) -> str:
    expires = datetime.now(UTC) + timedelta(days=days)
    return tokens.issue(tokens.keyring(), Action.MANAGE, "R-EMAIL", director_id, expires)


def show(manage: Handler, token: str) -> dict[str, Any]:
    return manage(page_event("GET", "/manage/{token}", {"token": token}))


def post(manage: Handler, token: str, change: str, **fields: Any) -> dict[str, Any]:
    body = urlencode(fields, doseq=True)
    return manage(page_event("POST", "/manage/{token}/{change}", {"token": token, "change": change}, body))


def director_items(aws: Aws) -> dict[str, dict[str, Any]]:
    return {item["sk"]: item for item in aws.items(aws.directors_table) if item["pk"] == DIRECTOR}


def notice(response: dict[str, Any]) -> str:
    found = re.search(r'<p class="status[^"]*" role="status">(.*?)</p>', response["body"], re.S)
    return html.unescape(found.group(1)) if found else ""


def sent(aws: Aws) -> list[email.message.EmailMessage]:
    return [
        email.message_from_string(m.raw_data, policy=policy.default)  # type: ignore[misc]
        for m in aws.sent_emails()
    ]


def test_manage_get_shows_licenses_dea_capacity_fees_and_changes_nothing(
    aws: Aws, director: list[dict[str, Any]], manage: Handler
) -> None:
    # Given a director's manage link
    before = aws.items(aws.directors_table)

    # When it is opened
    response = show(manage, manage_token())

    # Then the page shows what we hold, with the version in every form, and nothing is written
    assert response["statusCode"] == 200
    page = html.unescape(response["body"])
    assert "TX license TX123456" in page
    assert "OK license OK123456" in page
    assert "TX DEA AB1234563" in page
    assert "expires 2030-01-31" in page
    assert "You direct 1 clinic and take at most 5." in page
    assert 'name="base" value="1200"' in page
    assert page.count('name="version" value="0"') == 4  # pause, capacity, services, fees
    assert aws.items(aws.directors_table) == before


def test_manage_page_says_expired_of_a_license_or_dea_whose_day_has_passed(
    aws: Aws, director: list[dict[str, Any]], manage: Handler
) -> None:
    # Given the OK license and the DEA registration lapsed yesterday, the roster still saying ACTIVE
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    lapsed = [
        {**item, "license_expires_on": yesterday} if item["sk"] == keys.LICENSE("OK") else item
        for item in director
    ]
    lapsed = [{**i, "dea_expires_on": yesterday} if i["sk"] == keys.DEA("TX") else i for i in lapsed]
    aws.director_store().put_items(lapsed)

    # When the director opens their page
    page = html.unescape(show(manage, manage_token())["body"])

    # Then those two read as expired, and the TX license as it stands
    assert re.search(rf"OK license OK123456</dt><dd>expired {yesterday}</dd>", page)
    assert re.search(rf"TX DEA AB1234563</dt><dd>expired {yesterday}</dd>", page)
    assert re.search(r"TX license TX123456</dt><dd>active, expires \d{4}-\d{2}-\d{2}</dd>", page)


def test_manage_pause_updates_profile_and_every_license_in_one_change_with_an_audit_and_an_email(
    aws: Aws, director: list[dict[str, Any]], manage: Handler
) -> None:
    # Given the page at version 0, of a director licensed in Texas and Oklahoma (Central time)
    until = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    resumes = start_of_day(date.fromisoformat(until), CENTRAL).astimezone(UTC).isoformat()

    # When the director pauses until a date
    response = post(manage, manage_token(), "pause", version="0", until=until)

    # Then PROFILE and both LICENSE items carry the pause, the version moved, an audit says who/what/how
    assert response["statusCode"] == 200, response["body"]
    # (offers resume at the start of that day where the director lives)
    assert notice(response) == f"Offers paused until {local_time(resumes, CENTRAL)}."
    items = director_items(aws)
    for sk in (keys.PROFILE_SK, keys.LICENSE("TX"), keys.LICENSE("OK")):
        assert items[sk]["paused"] is True
        assert items[sk]["paused_until"] == resumes
    assert items[keys.PROFILE_SK]["version"] == 1
    assert set(items[keys.PROFILE_SK]["self_service"]) == {"paused", "paused_until"}
    [audit] = [item for sk, item in items.items() if sk.startswith(keys.AUDIT)]
    assert audit["change"] == "pause"
    assert audit["who"] == "director"
    assert audit["before"] == {"paused": False, "paused_until": None}
    assert audit["after"] == {"paused": True, "paused_until": resumes}
    assert audit["via"]["channel"] == "manage_link"
    assert audit["via"]["source"] == "R-EMAIL"
    # And the director gets one short confirmation carrying a fresh manage link
    [confirmation] = sent(aws)
    assert confirmation["Subject"] == "Your availability is updated"
    text = confirmation.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"Offers paused until {local_time(resumes, CENTRAL)}." in text
    assert re.search(r"/manage/[A-Za-z0-9_.-]+", text)


def test_manage_stale_form_from_another_tab_changes_nothing_and_says_why(
    aws: Aws, director: list[dict[str, Any]], manage: Handler
) -> None:
    # Given two tabs showing version 0, and a change made in the first
    token = manage_token()
    assert post(manage, token, "capacity", version="0", max_clinics="3")["statusCode"] == 200
    before = aws.items(aws.directors_table)

    # When the second tab posts its form, shown from version 0
    response = post(manage, token, "resume", version="0")

    # Then nothing changes and the page says why
    assert response["statusCode"] == 409
    assert "Nothing was changed: your profile changed since this page was shown" in notice(response)
    assert aws.items(aws.directors_table) == before
    assert len(sent(aws)) == 1


@pytest.mark.parametrize(
    ("change", "fields", "field_words"),
    [
        ("capacity", {"max_clinics": "0"}, "You direct 1 clinics now"),
        ("capacity", {"max_clinics": "51"}, "from 0 to 50"),
        ("pause", {"until": "2001-01-01"}, "must be after today"),
        ("fees", {"base": "99999"}, "less than or equal to 15000"),
        ("fees", {"base": "900", "chart_review_percent": "10"}, "go together"),
        ("fees", {"base": "1,200"}, "digits only"),
        ("modalities", {"modalities": "hospice_care"}, "from the list"),
        ("nonsense", {}, "not a change we know"),
    ],
)
def test_manage_invalid_field_changes_nothing_and_names_the_problem(
    aws: Aws,
    director: list[dict[str, Any]],
    manage: Handler,
    change: str,
    fields: dict[str, str],
    field_words: str,
) -> None:
    # Given the page at version 0
    before = aws.items(aws.directors_table)

    # When a form posts a value that cannot be applied
    response = post(manage, manage_token(), change, version="0", **fields)

    # Then nothing is written and the page says what is wrong
    assert response["statusCode"] == 422
    assert field_words in notice(response)
    assert aws.items(aws.directors_table) == before
    assert sent(aws) == []


def test_manage_fees_and_capacity_reach_the_licenses_the_matcher_reads(
    aws: Aws, director: list[dict[str, Any]], manage: Handler
) -> None:
    # Given the page at version 0
    token = manage_token()

    # When the director changes fees, then (from the page shown after) capacity down to their load
    assert post(manage, token, "fees", version="0", base="950", per_np="100")["statusCode"] == 200
    response = post(manage, token, "capacity", version="1", max_clinics="1")

    # Then every LICENSE item holds the new schedule and capacity, and the page says offers stop
    assert response["statusCode"] == 200
    assert "new offers stop" in notice(response)
    licenses = [aws.director_store().candidates_in(state) for state in ("TX", "OK")]
    for [license_record] in licenses:
        assert license_record.fees is not None
        assert license_record.fees.base == 950
        assert license_record.fees.per_np == 100
        assert license_record.max_clinics == 1


def test_manage_modalities_outside_the_specialties_fit_go_to_ops_not_the_profile(
    aws: Aws, director: list[dict[str, Any]], manage: Handler
) -> None:
    # Given a family physician (fits weight loss, primary care...; not ketamine)
    # When they choose primary care and ask for ketamine
    response = post(
        manage, manage_token(), "modalities", version="0", modalities=["primary_care", "ketamine"]
    )

    # Then primary care is applied everywhere, ketamine is not, and ops are asked
    assert response["statusCode"] == 200
    assert "passed your request for ketamine" in notice(response)
    items = director_items(aws)
    assert items[keys.PROFILE_SK]["modalities"] == ["primary_care"]
    assert items[keys.LICENSE("TX")]["modalities"] == ["primary_care"]
    messages = sent(aws)
    assert [m["To"] for m in messages][1] == "ops@directormatch.example"
    assert "asks to add services" in messages[1]["Subject"]


@pytest.mark.parametrize("kind", ["tampered", "expired", "offer_link"])
def test_manage_refuses_tampered_expired_and_foreign_links(
    aws: Aws, director: list[dict[str, Any]], manage: Handler, kind: str
) -> None:
    # Given a link that is not a valid manage link
    token = {
        "tampered": manage_token()[:-2] + "xx",
        "expired": manage_token(days=-1),
        "offer_link": tokens.issue(
            tokens.keyring(), Action.ACCEPT, "R1", DIRECTOR, datetime.now(UTC) + timedelta(days=1)
        ),
    }[kind]
    before = aws.items(aws.directors_table)

    # When it is opened, or its form posted
    shown, posted = show(manage, token), post(manage, token, "resume", version="0")

    # Then both are refused as offer links are (403, or 410 for an expired one) and nothing changes
    expected = 410 if kind == "expired" else 403
    assert shown["statusCode"] == posted["statusCode"] == expected
    assert "Manage my availability" in html.unescape(shown["body"]) or kind == "expired"
    assert aws.items(aws.directors_table) == before


@pytest.fixture
def one_offer(
    aws: Aws, load_directors: Loader, offered_request: Callable[..., dict[str, Any]], respond_app: ModuleType
) -> Offer:
    """The one open offer of a TX request, two directors licensed there."""
    load_directors(2)
    request = offered_request(wave_size=1)
    [offer] = aws.request_store().offers(request["request_id"])
    return offer


def test_manage_a_director_who_accepted_sees_the_clinic_they_direct(
    aws: Aws, one_offer: Offer, lambda_context: LambdaContext
) -> None:
    # Given a director who accepted an offer
    from directormatch.offers import lifecycle

    offer = one_offer
    request = {"reference": offer.reference}
    lifecycle.accept(
        aws.request_store(), aws.director_store(), offer.request_id, offer.director_id, via="link"
    )

    # When they open their manage page
    handler = call_with(function_app(aws, "DirectorsFunction"), lambda_context)
    response = show(handler, manage_token(offer.director_id))

    # Then the clinic is listed by its reference and states
    page = html.unescape(response["body"])
    assert response["statusCode"] == 200
    assert f"{request['reference']}: TX" in page
    assert "You direct 2 clinics and take at most 5." in page


def test_manage_paused_director_gets_no_offer_until_resumed_and_a_full_one_none(
    aws: Aws,
    load_directors: Loader,
    offered_request: Callable[..., dict[str, Any]],
    lambda_context: LambdaContext,
) -> None:
    # Given the only director licensed in TX pausing for 14 days on their manage page
    [profile, *_] = load_directors(1)
    director_id = profile["pk"]
    handler = call_with(function_app(aws, "DirectorsFunction"), lambda_context)
    token = manage_token(director_id)
    until = (datetime.now(UTC) + timedelta(days=14)).date().isoformat()
    assert post(handler, token, "pause", version="0", until=until)["statusCode"] == 200

    # When a TX request is matched
    paused = offered_request()

    # Then nobody is offered, and the MATCH counts the director as PAUSED
    assert paused["request_status"] == "NO_MATCH"
    match = aws.request_store().get_match(paused["request_id"])
    assert match is not None
    assert match.excluded == {"PAUSED": 1}

    # When they resume and lower their capacity to the clinic they direct, then raise it again
    handler = call_with(function_app(aws, "DirectorsFunction"), lambda_context)
    assert post(handler, token, "resume", version="1")["statusCode"] == 200
    assert post(handler, token, "capacity", version="2", max_clinics="1")["statusCode"] == 200
    full = offered_request()
    handler = call_with(function_app(aws, "DirectorsFunction"), lambda_context)
    assert post(handler, token, "capacity", version="3", max_clinics="2")["statusCode"] == 200
    offered = offered_request()

    # Then a full director gets no offer (NO_CAPACITY), and one with room gets the next
    full_match = aws.request_store().get_match(full["request_id"])
    assert full_match is not None
    assert full_match.excluded == {"NO_CAPACITY": 1}
    assert [o.director_id for o in aws.request_store().offers(offered["request_id"])] == [director_id]


def test_manage_decline_and_pause_link_declines_pauses_and_says_until_when(
    aws: Aws, one_offer: Offer, lambda_context: LambdaContext
) -> None:
    # Given an open offer and its "decline and pause" link
    offer = one_offer
    respond = call_with(function_app(aws, "RespondFunction"), lambda_context)
    token = tokens.issue(
        tokens.keyring(),
        Action.DECLINE_PAUSE,
        offer.request_id,
        offer.director_id,
        datetime.fromisoformat(offer.expires_at),
    )
    parameters = {"token": token, "action": "decline_pause"}

    # When the page is opened, then its button pressed
    before = aws.items(aws.directors_table)
    shown = respond(page_event("GET", "/offers/{token}", {"token": token}))
    unchanged = aws.items(aws.directors_table) == before
    answered = respond(page_event("POST", "/offers/{token}/{action}", parameters))

    # Then the page asked first and changed nothing; the post declined and paused 14 days
    assert "Decline, and pause new offers for 14 days?" in html.unescape(shown["body"])
    assert unchanged
    assert answered["statusCode"] == 200
    assert "New offers are paused until" in html.unescape(answered["body"])
    stored = aws.request_store().get_offer(offer.request_id, offer.director_id)
    profile = aws.director_store().get_profile(offer.director_id, consistent=True)
    assert stored is not None
    assert stored.offer_status == "DECLINED"
    assert profile is not None
    assert profile.paused
    assert profile.paused_until is not None
    audits = [i for i in aws.items(aws.directors_table) if i["sk"].startswith(keys.AUDIT)]
    assert [a["via"] for a in audits] == [{"channel": "offer_link", "source": offer.request_id}]

    # When the button is pressed again
    again = respond(page_event("POST", "/offers/{token}/{action}", parameters))

    # Then it says the offer was declined before, and nothing more is written
    assert again["statusCode"] == 409
    assert len([i for i in aws.items(aws.directors_table) if i["sk"].startswith(keys.AUDIT)]) == 1
