"""The quote form in a real browser (Playwright from PyPI driving Debian's Chromium) against the local stack:
fill, submit, see success; the offer email's accept link confirmed in the browser; server field errors shown
beside the fields; the same form without JavaScript. Screenshots go to .local/screenshots/."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from directormatch.directors import npi_check_digit
from tests.e2e.conftest import ACCEPT, ROOT, RunningStack, email_text, own_stack

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling hosts this machine cannot reach.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / ".local" / "screenshots"
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
REFERENCE = re.compile(r"^DM-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")
WAIT_SECONDS = 10
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A stack of its own: other e2e tests move the sweep's clock, which would expire these offers."""
    with own_stack(tmp_path_factory, "browser-stack") as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # make test installs it (make browser); fail saying how rather than skip quietly
    if not CHROMIUM.exists():
        pytest.fail("the browser test needs Debian's Chromium: make browser installs it (make test does)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_page(browser: Browser, viewport: str, javascript: bool = True) -> Page:
    context = browser.new_context(viewport=VIEWPORTS[viewport], java_script_enabled=javascript)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def shoot(page: Page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def fill_valid_form(page: Page, email: str) -> None:
    """A Texas med spa, filled the way a person does: labels, the state filter with Enter, clicks."""
    page.get_by_label("Clinic name").fill("Bluebonnet Aesthetics & Wellness")
    page.get_by_label("Website").fill("bluebonnet-aesthetics.example")
    page.get_by_label("Your name").fill("Maria Delgado, NP")
    page.get_by_label("Work email").fill(email)
    page.get_by_label("Phone").fill("(512) 555-0147")
    choose_texas(page)
    page.get_by_label("Aesthetics").check()
    page.get_by_label("Weight loss").check()
    page.get_by_label("Nurse practitioners").fill("2")
    page.get_by_label("Start date").fill((date.today() + timedelta(days=45)).isoformat())
    page.locator("#controlled_substances-group").get_by_label("No", exact=True).check()
    page.get_by_label("The director brings their own coverage").check()
    page.get_by_role("textbox", name="Notes").fill("Botox, fillers and a GLP-1 program.")
    page.get_by_label("I agree").check()


def choose_texas(page: Page) -> None:
    page.get_by_label("Filter states").fill("tex")
    page.get_by_label("Filter states").press("Enter")
    expect(page.locator("#states-selected")).to_have_text("1 state: Texas")


def submit(page: Page) -> None:
    page.get_by_role("button", name="Request my quote").click()


def outbox_entry(stack: RunningStack, request_id: str, kind: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        for entry in stack.outbox():
            if entry["kind"] == kind and f".{request_id}" in entry["message_id"]:
                return entry
        time.sleep(0.1)
    raise AssertionError(f"no {kind} email for {request_id}")


def request_of(stack: RunningStack, reference: str) -> str:
    """The request id behind a reference code: its receipt's subject quotes the code."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        for entry in stack.outbox():
            if entry["kind"] == "receipt" and entry["subject"].endswith(f"({reference})"):
                return str(entry["request_id"])
        time.sleep(0.1)
    raise AssertionError(f"no receipt quoting {reference}")


def test_browser_quote_form_submitted_then_director_accepts_offer_by_link(
    stack: RunningStack, browser: Browser
) -> None:
    # Given the quote form at / on a desktop-width browser, filled in
    page = open_page(browser, "desktop")
    page.goto(stack.base_url + "/")
    shoot(page, "desktop-form")
    fill_valid_form(page, "maria.delgado@bluebonnet-aesthetics.example")
    shoot(page, "desktop-form-filled")

    # When the clinic submits it
    submit(page)

    # Then success shows the reference code, what happens next and a link to follow the request
    success = page.locator("#dm-success")
    expect(success).to_be_visible()
    expect(success).to_contain_text("Offers within hours")
    expect(success).to_contain_text("Matched within 24 hours")
    expect(success).to_contain_text("No placement fee")
    reference = page.locator("#dm-reference").inner_text()
    assert REFERENCE.match(reference), reference
    assert page.evaluate("document.activeElement.id") == "dm-success"
    shoot(page, "desktop-success")
    # And the receipt quotes that code and states the malpractice preference chosen on the form
    request_id = request_of(stack, reference)
    receipt = email_text(stack, outbox_entry(stack, request_id, "receipt"))
    assert f"Reference:       {reference}" in receipt
    assert "Malpractice:     The director brings coverage of at least $1M/$3M" in receipt

    # When the clinic follows the link on the success page
    status_link = page.locator("#dm-status-link")
    expect(status_link).to_be_visible()
    status_link.click()

    # Then its status page gives the reference, and the time received in Texas's zone, named
    expect(page.get_by_role("heading", level=1)).to_have_text("Your medical director request")
    expect(page.locator("#reference")).to_have_text(reference)
    expect(page.locator("main time").first).to_have_text(re.compile(r" [AP]M C[SD]T$"))
    shoot(page, "desktop-status")

    # When a director opens the accept link of their offer email and presses the button
    offer = email_text(stack, outbox_entry(stack, request_id, "offer"))
    link = re.search(rf"^{ACCEPT}:\s+(\S+)", offer, re.M)
    assert link is not None, offer
    page.goto(link.group(1))
    expect(page.get_by_role("heading", level=1)).to_have_text("Accept this directorship?")
    shoot(page, "desktop-offer-confirm")
    page.get_by_role("button", name="Yes, accept").click()

    # Then the page says they accepted
    expect(page.get_by_role("heading", level=1)).to_have_text("You accepted")
    shoot(page, "desktop-offer-accepted")
    page.context.close()


def fresh_npi() -> str:
    """A valid NPI no other test has applied with: an application per NPI is all the API takes."""
    first_nine = f"1{secrets.randbelow(10**8):08d}"
    return first_nine + npi_check_digit(first_nine)


def fill_valid_application(page: Page, email: str) -> None:
    """A physician licensed in Texas, filled the way a person does: labels, tiles, the first row."""
    page.get_by_label("First name").fill("Elena")
    page.get_by_label("Last name").fill("Vasquez")
    page.get_by_label("NPI").fill(fresh_npi())
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mobile phone").fill("(512) 555-0162")
    page.get_by_label("Family medicine").check()
    page.get_by_label("License 1: state").fill("TX")
    page.get_by_label("License 1: number").fill("Q4821")
    page.get_by_label("License 1: expiry date").fill((date.today() + timedelta(days=700)).isoformat())
    page.get_by_label("Aesthetics").check()
    page.get_by_label("Weight loss").check()
    page.get_by_label("Base fee a month").fill("1200")
    page.get_by_label("Malpractice per claim").fill("1,000,000")
    page.get_by_label("Malpractice aggregate").fill("3,000,000")
    page.get_by_label("I agree").check()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
@pytest.mark.parametrize("form", ["quote", "director"])
def test_browser_server_field_errors_appear_beside_fields_then_fixed_form_is_accepted(
    stack: RunningStack, browser: Browser, viewport: str, form: str
) -> None:
    case = FORMS[form]
    # Given the form with a bad email, a group left empty and no consent (the page leaves checks to the API)
    page = open_page(browser, viewport)
    page.goto(stack.base_url + case.path)
    shoot(page, f"{viewport}-{case.shots}form")
    case.fill(page, "maria-at-bluebonnet")
    case.clear_group(page)
    page.get_by_label("I agree").uncheck()

    # When it is submitted
    page.get_by_role("button", name=case.submit).click()

    # Then the API's errors appear beside their fields, in words, wired for screen readers
    email = page.get_by_label(case.email_label, exact=True)
    email_id = email.get_attribute("id")
    expect(page.locator(f"#{email_id}-error")).to_have_text(case.email_error)
    expect(page.locator(f"#{case.group}-error")).to_have_text(case.group_error)
    expect(page.locator("#consent-error")).to_have_text(case.consent_error)
    expect(email).to_have_attribute("aria-invalid", "true")
    assert f"{email_id}-error" in (email.get_attribute("aria-describedby") or "")
    expect(page.locator(f"#{case.group}-group")).to_have_attribute("aria-invalid", "true")
    # And the summary lists all three and has the focus
    expect(page.locator("#dm-errors li")).to_have_count(3)
    assert page.evaluate("document.activeElement.id") == "dm-errors"
    shoot(page, f"{viewport}-{case.shots}errors")

    # When the summary's link to the email is followed, the answers fixed, and the form sent again
    page.locator("#dm-errors a", has_text=case.email_label).click()
    assert page.evaluate("document.activeElement.id") == email_id
    email.fill(f"{viewport}.{form}@bluebonnet-aesthetics.example")
    case.choose_group(page)
    page.get_by_label("I agree").check()
    page.get_by_role("button", name=case.submit).click()

    # Then it is accepted and the errors are gone
    expect(page.locator("#dm-success")).to_be_visible()
    assert case.reference.match(page.locator("#dm-reference").inner_text())
    expect(page.locator("#dm-errors")).to_be_hidden()
    shoot(page, f"{viewport}-{case.shots}success")
    page.context.close()


@pytest.mark.parametrize("form", ["quote", "director"])
def test_browser_without_javascript_posts_the_form_and_gets_pages(
    stack: RunningStack, browser: Browser, form: str
) -> None:
    case = FORMS[form]
    # Given the form in a browser with JavaScript off, first sent without consent
    page = open_page(browser, "phone", javascript=False)
    page.goto(stack.base_url + case.path)
    case.fill_without_script(page)
    page.get_by_label("I agree").uncheck()

    # When it is posted
    page.get_by_role("button", name=case.submit).click()

    # Then the API answers with a page listing the problem in the form's words
    expect(page.get_by_role("heading", level=1)).to_have_text("Please check this answer")
    expect(page.locator("li[data-field=consent]")).to_contain_text(case.consent_error)
    shoot(page, f"nojs-{case.shots}errors")

    # When the person goes back, consents, and posts again
    page.go_back()
    page.get_by_label("I agree").check()
    page.get_by_role("button", name=case.submit).click()

    # Then the success page shows the stored code and what happens next, and the sender gets a receipt
    expect(page.get_by_role("heading", level=1)).to_contain_text(case.received)
    reference = page.locator("#reference").inner_text()
    assert case.reference.match(reference), reference
    expect(page.locator("main")).to_contain_text(case.promise)
    assert outbox_entry(stack, case.stored_id(stack, reference), case.receipt)
    shoot(page, f"nojs-{case.shots}success")
    page.context.close()


def fill_valid_form_without_script(page: Page) -> None:
    """Without the script there is no state filter: the Texas box is ticked directly."""
    page.get_by_label("Clinic name").fill("Lone Star IV Lounge")
    page.get_by_label("Your name").fill("Sam Ortiz, PA-C")
    page.get_by_label("Work email").fill("sam@lonestar-iv.example")
    page.get_by_label("Phone").fill("214-555-0188")
    page.get_by_role("checkbox", name="Texas").check()
    page.get_by_label("IV therapy").check()
    page.get_by_label("Physician assistants").fill("1")
    page.get_by_label("Start date").fill((date.today() + timedelta(days=30)).isoformat())
    page.locator("#controlled_substances-group").get_by_label("No", exact=True).check()
    page.get_by_label("I agree").check()


def test_browser_retried_submission_reuses_its_idempotency_key(stack: RunningStack, browser: Browser) -> None:
    # Given a network that drops the first two posts (the script retries once by itself)
    page = open_page(browser, "desktop")
    keys: list[str | None] = []

    def flaky(route: Route) -> None:
        keys.append(route.request.headers.get("idempotency-key"))
        if len(keys) <= 2:
            route.abort()
        else:
            route.continue_()

    page.route("**/quote-requests", flaky)
    page.goto(stack.base_url + "/")
    fill_valid_form(page, "retry@bluebonnet-aesthetics.example")

    # When the clinic submits, is told the post failed, and presses the button again
    submit(page)
    expect(page.locator("#dm-errors")).to_contain_text("We could not reach DirectorMatch")
    submit(page)

    # Then the request is received, and all three posts carried one Idempotency-Key
    expect(page.locator("#dm-success")).to_be_visible()
    assert len(keys) == 3
    assert len(set(keys)) == 1
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", keys[0] or "")
    page.context.close()


def test_browser_honeypot_filled_shows_success_posts_nothing(stack: RunningStack, browser: Browser) -> None:
    # Given a bot that fills every field it finds, the hidden company_fax too
    page = open_page(browser, "desktop")
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    page.goto(stack.base_url + "/")
    fill_valid_form(page, "bot@bluebonnet-aesthetics.example")
    page.locator("#company_fax").fill("+1 512 555 0199")

    # When it submits
    submit(page)

    # Then it sees a success page with a reference, and nothing was posted
    expect(page.locator("#dm-success")).to_be_visible()
    assert REFERENCE.match(page.locator("#dm-reference").inner_text())
    expect(page.locator("#dm-status")).to_be_hidden()
    assert posts == []
    page.context.close()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_browser_budget_given_on_the_form_gets_a_quote_email_and_the_status_page_shows_it(
    stack: RunningStack, browser: Browser, viewport: str
) -> None:
    # Given the form filled in with a monthly budget
    page = open_page(browser, viewport)
    page.goto(stack.base_url + "/")
    fill_valid_form(page, f"budget.{viewport}@bluebonnet-aesthetics.example")
    page.get_by_label("Monthly budget").fill("6000")
    shoot(page, f"{viewport}-form-budget")

    # When the clinic submits it
    submit(page)
    expect(page.locator("#dm-success")).to_be_visible()
    request_id = request_of(stack, page.locator("#dm-reference").inner_text())

    # Then its "Your quote" email gives a range within the budget
    quote = email_text(stack, outbox_entry(stack, request_id, "quote"))
    found = re.search(r"^Your quote: (\$[\d,]+(?: to \$[\d,]+)? a month)", quote, re.M)
    assert found is not None, quote
    assert all(int(figure.replace(",", "")) <= 6000 for figure in re.findall(r"\$([\d,]+)", found.group(1)))
    assert "Your budget: $6,000 a month." in quote

    # And the status page, opened from that email, shows the same quote
    link = re.search(r"^Follow your request at any time: (\S+)", quote, re.M)
    assert link is not None, quote
    page.goto(link.group(1))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your medical director request")
    expect(page.locator("dd", has_text=" a month").first).to_have_text(found.group(1))
    shoot(page, f"{viewport}-status-quote")
    page.context.close()


@dataclass(frozen=True)
class FormCase:
    """One of the site's forms, as the browser checks see it: where it is, how a person fills it in,
    and the three problems it leaves to the API (a bad email, a group with nothing chosen, no consent)."""

    path: str
    fill: Callable[[Page, str], None]
    email_label: str
    email_error: str
    group: str
    group_error: str
    clear_group: Callable[[Page], None]
    choose_group: Callable[[Page], None]
    consent_error: str
    submit: str
    reference: re.Pattern[str]
    shots: str  # screenshot name prefix after the viewport
    fill_without_script: Callable[[Page], None]
    received: str  # the heading of the page a stored form gets without script
    promise: str  # a line of that page's "what happens next"
    receipt: str  # the kind of the email its sender gets
    stored_id: Callable[[RunningStack, str], str]  # the id of what was stored, from the code shown


FORMS = {
    "quote": FormCase(
        path="/",
        fill=fill_valid_form,
        email_label="Work email",
        email_error="Work email must be an email address, like you@yourclinic.com.",
        group="states",
        group_error="Choose at least one state.",
        clear_group=lambda page: page.get_by_role("button", name="Clear").click(),
        choose_group=choose_texas,
        consent_error="Please confirm that we may share your request with matching physicians.",
        submit="Request my quote",
        reference=REFERENCE,
        shots="",
        fill_without_script=fill_valid_form_without_script,
        received="Your request is on its way",
        promise="No placement fee",
        receipt="receipt",
        stored_id=request_of,
    ),
    "director": FormCase(
        path="/join",
        fill=fill_valid_application,
        email_label="Email",
        email_error="Email must be an email address, like you@yourpractice.com.",
        group="specialties",
        group_error="Choose at least one specialty.",
        clear_group=lambda page: page.get_by_label("Family medicine").uncheck(),
        choose_group=lambda page: page.get_by_label("Family medicine").check(),
        consent_error="Please confirm that we may verify your licenses and send you offers.",
        submit="Send my application",
        reference=re.compile(r"^D[0-9a-f]{20}$"),
        shots="director-",
        # The application form has nothing the script adds: filled the same way without it.
        fill_without_script=lambda page: fill_valid_application(page, "elena.nojs@practice.example"),
        received="Your application is with our team",
        promise="You stay in control",
        receipt="application_received",
        stored_id=lambda stack, application_id: application_id,
    ),
}
