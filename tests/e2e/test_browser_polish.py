"""Form and page polish in a real browser against the local stack: errors go as fields are fixed, the
summary follows the form's order, the state filter's Enter with several matches, every page readable on
a 390 px phone, a clinic's broken status link worded for clinics, a director pausing and resuming
from their manage page, offer pages headed by their notice, and an icon for every page. Screenshots
go to .local/screenshots/polish-*.png."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Response, expect

from directormatch.intake.form import LABELS
from tests.e2e import test_browser as browser_test
from tests.e2e.conftest import ACCEPT, ROOT, RunningStack, email_text, own_stack

pytestmark = pytest.mark.e2e

# One Chromium per module, started as the other browser tests start it.
browser = browser_test.browser
PHONE_WIDTH = browser_test.VIEWPORTS["phone"]["width"]
WAIT_SECONDS = 10
ICON = re.compile(r"^data:image/svg\+xml,")
# Long words with no break: a phone must wrap them, not scroll sideways.
LONG_CLINIC = "Bluebonnet-Aesthetics-Wellness-and-Hormone-Institute-of-the-Greater-Texas-Hill-Country"
LONG_EMAIL = "maria.delgado-hernandez.practice-manager@bluebonnet-aesthetics-and-wellness.example"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A stack of its own: the last test moves the sweep's clock, which expires every open offer (it
    resets the clock afterwards, but what expired stays expired)."""
    with own_stack(tmp_path_factory, "polish-stack") as running:
        yield running


def open_page(browser: Browser, viewport: str, javascript: bool = True) -> tuple[Page, list[str]]:
    """A page, and the list of requests it made that failed (filled as it loads)."""
    page = browser_test.open_page(browser, viewport, javascript)
    failures: list[str] = []
    page.on("response", lambda r: failures.append(f"{r.status} {r.url}") if _failed(r) else None)
    return page, failures


def _failed(response: Response) -> bool:
    # An error page is an answer (403 for a broken link, 422 for the no-script form), and so is the
    # script's 422: count only what a page loads for itself (styles, scripts, images, an icon).
    return response.status >= 400 and response.request.resource_type not in ("document", "fetch", "xhr")


def shoot(page: Page, name: str) -> None:
    browser_test.shoot(page, f"polish-{name}")


def assert_fits_a_phone(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{page.url} is {width} px wide at {PHONE_WIDTH} px"


def assert_has_icon_and_no_failed_requests(page: Page, failures: list[str]) -> None:
    expect(page.locator('link[rel="icon"]')).to_have_attribute("href", ICON)
    assert failures == []


def tampered(url: str) -> str:
    """The link with the first character of its signature (the token's last part) changed."""
    head, _, signature = url.rpartition(".")
    return f"{head}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"


def quote(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((ROOT / "events" / "quote_request.json").read_text())
    body["start_by"] = (date.today() + timedelta(days=60)).isoformat()
    return {**body, **changes}


def post_quote(stack: RunningStack, body: dict[str, Any]) -> str:
    status, _, data = stack.request(
        "POST", "/quote-requests", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    assert status == 201, data
    request_id: str = json.loads(data)["request_id"]
    return request_id


def emails(stack: RunningStack, request_id: str, kind: str, count: int = 1) -> list[str]:
    """The text parts of the request's emails of one kind, once there are `count` of them."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        found = [e for e in stack.outbox() if e["kind"] == kind and f".{request_id}" in e["message_id"]]
        if len(found) >= count:
            return [email_text(stack, e) for e in found]
        assert time.monotonic() < deadline, f"fewer than {count} {kind} emails for {request_id}"
        time.sleep(0.1)


def link(text: str, label: str) -> str:
    found = re.search(rf"{label}\s+(http\S+)", text)
    assert found, text
    return found.group(1)


def status_link(stack: RunningStack, request_id: str) -> str:
    return link(emails(stack, request_id, "receipt")[0], "Follow your request at any time:")


def offer_links(stack: RunningStack, request_id: str, count: int = 3) -> list[tuple[str, str]]:
    """(accept, decline) links of each offer email of the request."""
    return [(link(t, ACCEPT + ":"), link(t, "Decline:")) for t in emails(stack, request_id, "offer", count)]


def fill_all_but_timing_and_consent(page: Page, email: str, phone: str) -> None:
    """The form as fill_valid_form fills it, leaving out the state, start date, controlled substances
    and consent: the summary then names fields from the middle and the end of the form."""
    page.get_by_label("Clinic name").fill("Bluebonnet Aesthetics & Wellness")
    page.get_by_label("Your name").fill("Maria Delgado, NP")
    page.get_by_label("Work email").fill(email)
    page.get_by_label("Phone").fill(phone)
    page.get_by_label("Aesthetics").check()
    page.get_by_label("Nurse practitioners").fill("2")


def test_polish_errors_follow_the_form_order_and_go_as_each_field_is_fixed(
    stack: RunningStack, browser: Browser
) -> None:
    # Given the form on a phone with a bad email and phone, and no state, start date, controlled
    # substances answer or consent
    page, failures = open_page(browser, "phone")
    page.goto(stack.base_url + "/")
    fill_all_but_timing_and_consent(page, "maria-at-bluebonnet", "555")

    # When it is submitted
    browser_test.submit(page)

    # Then the summary lists the problems in the form's order, top to bottom
    items = page.locator("#dm-errors li")
    expect(items).to_have_count(6)
    fields = [items.nth(i).get_attribute("data-field") for i in range(6)]
    assert fields == [
        "contact_email",
        "contact_phone",
        "states",
        "start_by",
        "controlled_substances",
        "consent",
    ]
    expect(items.nth(3)).to_contain_text("Start date")
    expect(items.nth(4)).to_contain_text("Controlled substances")
    shoot(page, "phone-errors-in-form-order")

    # When the email is corrected (the browser can tell an email address as it is typed)
    email = page.get_by_label("Work email")
    email.fill("maria.delgado@bluebonnet-aesthetics.example")

    # Then its message, its invalid marking and its line in the summary are gone; the others stay
    expect(page.locator("#contact_email-error")).to_be_hidden()
    expect(email).not_to_have_attribute("aria-invalid", "true")
    assert "contact_email-error" not in (email.get_attribute("aria-describedby") or "")
    expect(page.locator("#dm-errors li[data-field=contact_email]")).to_have_count(0)
    expect(items).to_have_count(5)
    expect(page.locator("#dm-errors-title")).to_have_text("Please check 5 answers")
    expect(page.locator("#contact_phone-error")).to_be_visible()

    # When the phone is retyped: free text is judged when the visitor leaves the field
    phone = page.get_by_label("Phone")
    phone.fill("(512) 555-0147")
    expect(page.locator("#contact_phone-error")).to_be_visible()
    phone.press("Tab")
    expect(page.locator("#contact_phone-error")).to_be_hidden()
    expect(phone).not_to_have_attribute("aria-invalid", "true")

    # When a state is picked with the filter, a date entered, controlled substances answered
    browser_test.choose_texas(page)
    expect(page.locator("#states-error")).to_be_hidden()
    expect(page.locator("#states-group")).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#states-group")).not_to_have_class(re.compile(r"\bdm-invalid\b"))
    page.get_by_label("Start date").fill((date.today() + timedelta(days=45)).isoformat())
    expect(page.locator("#start_by-error")).to_be_hidden()
    page.locator("#controlled_substances-group").get_by_label("No", exact=True).check()
    expect(page.locator("#controlled_substances-error")).to_be_hidden()
    expect(items).to_have_count(1)
    expect(page.locator("#dm-errors-title")).to_have_text("Please check your answers")

    # And consent is given: nothing is left to fix, and the summary goes too
    page.get_by_label("I agree").check()
    expect(page.locator("#consent-error")).to_be_hidden()
    expect(page.locator("#dm-errors")).to_be_hidden()
    expect(page.locator("[aria-invalid]")).to_have_count(0)
    expect(page.locator(".dm-invalid")).to_have_count(0)
    shoot(page, "phone-errors-fixed")

    # Then the form is accepted as it stands
    browser_test.submit(page)
    expect(page.locator("#dm-success")).to_be_visible()
    assert_has_icon_and_no_failed_requests(page, failures)
    page.context.close()


def test_polish_state_filter_enter_with_several_matches_moves_to_them(
    stack: RunningStack, browser: Browser
) -> None:
    # Given the form, whose hint tells screen reader users what Enter does
    page, failures = open_page(browser, "phone")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.goto(stack.base_url + "/")
    hint = page.locator("#states-filter-hint")
    expect(hint).to_have_text(re.compile(r"Enter .*one matches.*several"))
    selected = page.locator("#states-selected")
    states_filter = page.get_by_label("Filter states")
    assert_has_icon_and_no_failed_requests(page, failures)

    # When "new" is typed and Enter pressed, where four states match
    states_filter.fill("new")
    states_filter.press("Enter")

    # Then the live line says which match, and the focus is on the first of them
    expect(selected).to_have_text(
        "4 states match: New Hampshire, New Jersey, New Mexico, New York. "
        "Space selects the state in focus, Tab moves to the next."
    )
    assert page.evaluate("document.activeElement.value") == "NH"

    # When Space ticks it, Tab moves on and Enter ticks the next
    page.keyboard.press("Space")
    expect(selected).to_have_text("1 state: New Hampshire")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.value") == "NJ"
    page.keyboard.press("Enter")

    # Then both are chosen, and Enter on a box did not send the form
    expect(selected).to_have_text("2 states: New Hampshire, New Jersey")
    expect(page.locator("#dm-errors")).to_be_hidden()
    assert posts == []

    # When "tex" and Enter: one match, chosen at once, as before
    states_filter.fill("tex")
    states_filter.press("Enter")
    expect(selected).to_have_text("3 states: New Hampshire, New Jersey, Texas")
    expect(states_filter).to_have_value("")
    assert page.evaluate("document.activeElement.id") == "states-filter"

    # When nothing matches, the live line says so
    states_filter.fill("xq")
    states_filter.press("Enter")
    expect(selected).to_have_text("No state matches \u201cxq\u201d.")
    shoot(page, "phone-state-filter-no-match")
    # And typing again brings the selection back
    states_filter.fill("")
    expect(selected).to_have_text("3 states: New Hampshire, New Jersey, Texas")
    page.context.close()


def test_polish_every_page_fits_a_phone_and_has_an_icon(stack: RunningStack, browser: Browser) -> None:
    # Given a request from a clinic with a long, unbroken name and email, one director's acceptance,
    # and a request nobody can take (50 PAs in Georgia, where a physician supervises at most 4)
    request_id = post_quote(
        stack, quote(clinic={"name": LONG_CLINIC}, contact={**quote()["contact"], "email": LONG_EMAIL})
    )
    no_match_id = post_quote(stack, quote(states=["GA"], supervisees={"np": 0, "pa": 50}))
    status_url = status_link(stack, request_id)
    accept, _ = offer_links(stack, request_id)[0]
    page, failures = open_page(browser, "phone")

    # When each page a clinic or director meets is opened at 390 px, the two forms first
    for form in ("/", "/join"):
        page.goto(stack.base_url + form)
        assert_fits_a_phone(page)
        assert_has_icon_and_no_failed_requests(page, failures)

    page.goto(status_url)
    expect(page.locator(".status")).to_contain_text("Offered to physicians")
    assert_fits_a_phone(page)
    shoot(page, "phone-status-offered")

    page.goto(accept)
    expect(page.get_by_role("heading", level=1)).to_have_text("Accept this directorship?")
    assert_fits_a_phone(page)
    page.get_by_role("button", name="Yes, accept").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You accepted")
    assert_fits_a_phone(page)
    assert_has_icon_and_no_failed_requests(page, failures)

    page.goto(status_url)
    expect(page.locator(".status")).to_contain_text("Matched")
    expect(page.locator("main")).to_contain_text(LONG_CLINIC)
    expect(page.locator("main")).to_contain_text("Your director")
    assert_fits_a_phone(page)
    shoot(page, "phone-status")

    emails(stack, no_match_id, "ops_no_match")  # the matcher has given up: status NO_MATCH
    page.goto(status_link(stack, no_match_id))
    expect(page.locator(".status")).to_contain_text("Needs our team")
    expect(page.locator("main")).to_contain_text("What we tried")
    expect(page.locator("main")).to_contain_text("You will hear from us by")
    assert_fits_a_phone(page)
    shoot(page, "phone-status-no-match")

    page.goto(tampered(status_url))
    expect(page.get_by_role("heading", level=1)).to_have_text("Link not valid")
    assert_fits_a_phone(page)
    assert_has_icon_and_no_failed_requests(page, failures)

    # Then none scrolled sideways (asserted at each), every page had an icon, and /favicon.ico answers
    status, headers, body = stack.request("GET", "/favicon.ico")
    assert (status, headers["Content-Type"]) == (200, "image/svg+xml"), body
    assert body.startswith(b"<svg")
    page.context.close()


def test_polish_pages_without_javascript_fit_a_phone_and_list_problems_in_form_order(
    stack: RunningStack, browser: Browser
) -> None:
    # Given the form with JavaScript off, with a bad phone and no state, start date, controlled
    # substances answer or consent
    page, failures = open_page(browser, "phone", javascript=False)
    page.goto(stack.base_url + "/")
    fill_all_but_timing_and_consent(page, LONG_EMAIL, "555")

    # When it is posted
    browser_test.submit(page)

    # Then the page lists the problems in the form's order, and fits the phone
    expect(page.get_by_role("heading", level=1)).to_have_text("Please check these answers")
    problems = page.locator("li[data-field]")
    fields = [problems.nth(i).get_attribute("data-field") for i in range(problems.count())]
    assert fields == ["contact.phone", "states", "start_by", "controlled_substances", "consent"]
    assert fields == sorted(fields, key=lambda field: list(LABELS).index(str(field)))
    assert_fits_a_phone(page)
    assert_has_icon_and_no_failed_requests(page, failures)
    shoot(page, "phone-nojs-errors")
    page.context.close()


def test_polish_clinic_status_link_broken_tells_the_clinic_what_to_do(
    stack: RunningStack, browser: Browser
) -> None:
    # Given a clinic's status link, and the same link with its signature altered
    request_id = post_quote(stack, quote())
    good = status_link(stack, request_id)
    page, failures = open_page(browser, "phone")

    # When the clinic opens the altered link
    response = page.goto(tampered(good))

    # Then it is refused in words for a clinic: its receipt email, its reference; no offer email
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Link not valid")
    main = page.locator("main")
    expect(main).to_contain_text("receipt email")
    expect(main).to_contain_text("reference")
    expect(main).not_to_contain_text("offer email")
    assert_fits_a_phone(page)
    assert_has_icon_and_no_failed_requests(page, failures)
    shoot(page, "phone-status-link-not-valid")
    page.context.close()


def test_polish_manage_page_pauses_and_resumes_on_a_phone(stack: RunningStack, browser: Browser) -> None:
    # Given the manage link an offer email carries (every email to a director has one)
    request_id = post_quote(stack, quote())
    manage = link(emails(stack, request_id, "offer")[0], "Manage my availability:")
    page, failures = open_page(browser, "phone")

    # When the director opens it on a phone
    page.goto(manage)

    # Then it is their page: receiving offers, readable at 390 px, with the icon
    expect(page.get_by_role("heading", level=1)).to_have_text("Manage my availability")
    expect(page.locator("#availability")).to_have_text("You are receiving offers.")
    assert_fits_a_phone(page)
    assert_has_icon_and_no_failed_requests(page, failures)
    shoot(page, "phone-manage")

    # When they choose the day offers resume and pause
    until = (date.today() + timedelta(days=14)).isoformat()
    page.get_by_label("Resume offers on (blank: until I resume)").fill(until)
    page.get_by_role("button", name="Pause offers").click()

    # Then the page says so, and shows them paused until the start of that day where they live, the
    # notice and the page naming the same moment
    day = date.fromisoformat(until)
    resumes = re.compile(rf"Offers paused until \w{{3}}, {day:%b} {day.day}, 12:00 AM [A-Z]{{3,4}}\.")
    expect(page.get_by_role("status")).to_have_text(resumes)
    notice = page.get_by_role("status").inner_text().removeprefix("Offers paused until ")
    expect(page.locator("#availability")).to_contain_text(f"Offers are paused until {notice}")
    assert_fits_a_phone(page)
    shoot(page, "phone-manage-paused")

    # When they resume
    page.get_by_role("button", name="Resume offers now").click()

    # Then offers come again (the module's later tests need this director), and nothing failed to load
    expect(page.get_by_role("status")).to_have_text("Offers resumed.")
    expect(page.locator("#availability")).to_have_text("You are receiving offers.")
    assert_has_icon_and_no_failed_requests(page, failures)
    page.context.close()


def test_polish_offer_page_heading_says_what_its_notice_says(stack: RunningStack, browser: Browser) -> None:
    """Last in the module: moving the stack's clock expires every open offer, of other tests too."""
    # Given a request whose first director accepted, and another request still open
    filled_id = post_quote(stack, quote())
    (accepted, _), (other_accept, other_decline), _ = offer_links(stack, filled_id)
    open_id = post_quote(stack, quote())
    open_accept, _ = offer_links(stack, open_id)[0]
    page, failures = open_page(browser, "phone")
    page.goto(accepted)
    page.get_by_role("button", name="Yes, accept").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You accepted")

    # When the accepting director opens their link again
    page.goto(accepted)
    # Then the heading says what the notice says, and no button is offered
    expect(page.get_by_role("heading", level=1)).to_have_text("Already accepted")
    expect(page.locator(".status")).to_have_text("You accepted this offer earlier.")
    expect(page.get_by_role("button")).to_have_count(0)

    # When another director of the filled request opens either link
    for other in (other_accept, other_decline):
        page.goto(other)
        # Then it says the position was filled
        expect(page.get_by_role("heading", level=1)).to_have_text("Position filled")
        expect(page.locator(".status")).to_contain_text("Another physician accepted first")
    assert_fits_a_phone(page)

    # When the open request's offers expire (the sweep's clock moved past them) and a link is opened
    # Every open request of the module's stack expires and gets its next wave before this answers.
    status, _, data = stack.request("POST", "/_clock/advance?hours=5", timeout=60)
    assert status == 200, data
    try:
        page.goto(open_accept)
    finally:
        # Back to real time: offers made after this are open for their full four hours again.
        assert stack.request("POST", "/_clock/reset")[0] == 200

    # Then the page is headed "Offer expired", fits the phone and carries the icon
    expect(page.get_by_role("heading", level=1)).to_have_text("Offer expired")
    expect(page.locator(".status")).to_have_text("This offer is no longer open.")
    expect(page.get_by_role("button")).to_have_count(0)
    assert_fits_a_phone(page)
    assert_has_icon_and_no_failed_requests(page, failures)
    shoot(page, "phone-offer-expired")
    page.context.close()
