"""The README's "Try it", walked in a real browser at desktop and phone widths: the quote form, the
outbox, an offer, its Accept link and button, the introductions in the outbox; then the same through
the offer page's "Send reply" form; and the moved clock shown in the outbox until it is reset.
Screenshots go to .local/screenshots/try-it-*.png."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e import test_browser as browser_test
from tests.e2e.conftest import ACCEPT, RunningStack, own_stack

pytestmark = pytest.mark.e2e

# One Chromium per module, started as the other browser tests start it.
browser = browser_test.browser
WIDTHS = {"desktop": 1280, "phone": 390}
WAIT_SECONDS = 10


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A stack of its own: the clock test moves its sweep's clock, which expires open offers."""
    with own_stack(tmp_path_factory, "try-it-stack") as running:
        yield running


@pytest.fixture(params=list(WIDTHS))
def viewport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def shoot(page: Page, walk: str, viewport: str, step: str) -> None:
    browser_test.shoot(page, f"try-it-{walk}-{viewport}-{step}")


def assert_fits(page: Page, viewport: str) -> None:
    """No horizontal scrolling at the viewport's width."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTHS[viewport], f"{page.url} is {width} px wide at {WIDTHS[viewport]} px"


def request_quote(page: Page, stack: RunningStack, email: str) -> str:
    """README: open /, fill the form ("tex" and Enter picks Texas), press Request my quote."""
    page.goto(stack.base_url + "/")
    browser_test.fill_valid_form(page, email)
    browser_test.submit(page)
    expect(page.locator("#dm-success")).to_be_visible()
    reference = page.locator("#dm-reference").inner_text()
    assert browser_test.REFERENCE.match(reference), reference
    return browser_test.request_of(stack, reference)


def outbox_group(page: Page, stack: RunningStack, request_id: str, kinds: dict[str, int]) -> Locator:
    """README: open /_outbox; within a couple of seconds it lists the request's emails. The page is
    reloaded, as a reader would, until the request's group holds `kinds` (kind -> count)."""
    page.goto(stack.base_url + "/_outbox")
    group = page.locator(f'section[data-request-id="{request_id}"]')
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        counts = {kind: group.locator(f'li[data-kind="{kind}"]').count() for kind in kinds}
        if counts == kinds or time.monotonic() > deadline:
            break
        time.sleep(0.3)
        page.reload()
    assert counts == kinds, f"request {request_id} in the outbox: {counts}, expected {kinds}"
    return group


def quote_in_outbox(
    browser: Browser, stack: RunningStack, viewport: str, walk: str
) -> tuple[Page, str, Locator]:
    """A clinic's request sent from the quote form (by maria.<walk>.<viewport>@...), then the outbox
    open on it once it lists the receipt and the three offers."""
    page = browser_test.open_page(browser, viewport)
    request_id = request_quote(page, stack, f"maria.{walk}.{viewport}@bluebonnet-aesthetics.example")
    return page, request_id, outbox_group(page, stack, request_id, {"receipt": 1, "offer": 3})


def test_try_it_by_link_form_outbox_offer_accept_then_introductions_in_outbox(
    stack: RunningStack, browser: Browser, viewport: str
) -> None:
    # Given a clinic's request sent from the quote form
    # When the outbox is opened
    page, request_id, group = quote_in_outbox(browser, stack, viewport, "link")

    # Then it lists the clinic's receipt and three offers under the request, and fits the screen
    expect(group.get_by_role("heading", level=2)).to_contain_text("Bluebonnet Aesthetics & Wellness")
    expect(group).to_contain_text("OFFERED")
    assert_fits(page, viewport)
    shoot(page, "link", viewport, "1-outbox")
    # And the receipt carries a working link to the clinic's status page
    group.locator('li[data-kind="receipt"] a').click()
    status_link = page.frame_locator("iframe.mail").get_by_role("link", name="Follow your request")
    expect(status_link).to_have_attribute("href", re.compile(rf"/quote-requests/{request_id}\?"))
    expect(page.locator(".text a", has_text="/quote-requests/")).to_have_count(1)
    assert_fits(page, viewport)
    page.go_back()

    # When an offer is opened
    group.locator('li[data-kind="offer"] a').first.click()

    # Then it reads as an email: headers, the HTML part, the text part, a raw .eml, the reply form
    expect(page.get_by_role("heading", level=1)).to_contain_text("Medical director opportunity")
    expect(page.locator(".headers dt")).to_have_text(["From", "To", "Reply-To", "Subject", "Date"])
    expect(page.get_by_role("link", name="Raw .eml")).to_have_attribute("href", re.compile(r"\.eml$"))
    expect(page.locator(".text")).to_contain_text(re.compile(rf"{ACCEPT}:\s+http://"))
    expect(page.get_by_role("heading", name="Send reply")).to_be_visible()
    expect(page.locator("#reply")).to_contain_text("OPEN")
    mail = page.frame_locator("iframe.mail")
    expect(mail.get_by_text("Why you")).to_be_visible()
    assert_fits(page, viewport)
    shoot(page, "link", viewport, "2-offer")

    # When the director follows its Accept link and presses the button
    mail.get_by_role("link", name=re.compile(rf"^{ACCEPT}$")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Accept this directorship?")
    assert "/offers/" in page.url
    page.get_by_role("button", name="Yes, accept").click()

    # Then the page says they accepted
    expect(page.get_by_role("heading", level=1)).to_have_text("You accepted")
    shoot(page, "link", viewport, "3-accepted")

    # And the outbox holds the introduction and tells the other two the position is filled
    group = outbox_group(
        page,
        stack,
        request_id,
        {"receipt": 1, "offer": 3, "introduction": 1, "filled": 2},
    )
    expect(group).to_contain_text("MATCHED")
    expect(group.locator('li[data-kind="offer"]', has_text="ACCEPTED")).to_have_count(1)
    assert_fits(page, viewport)
    shoot(page, "link", viewport, "4-introduced")
    group.locator('li[data-kind="introduction"] a').click()
    expect(page.locator(".headers")).to_contain_text(f"maria.link.{viewport}@bluebonnet-aesthetics.example")
    assert_fits(page, viewport)
    page.context.close()


def test_try_it_by_reply_form_accept_shows_decision_and_introductions(
    stack: RunningStack, browser: Browser, viewport: str
) -> None:
    # Given a request's offer open in the outbox
    page, request_id, group = quote_in_outbox(browser, stack, viewport, "reply")
    offer = group.locator('li[data-kind="offer"] a').first
    director = offer.locator(".details").inner_text().split(" to ", 1)[1].split(" · ")[0]
    offer.click()
    reply = page.get_by_role("textbox", name="Reply")
    expect(reply).to_have_value("ACCEPT")

    # When the director's reply, ACCEPT as prefilled, is sent
    page.get_by_role("button", name="Send reply").click()

    # Then the page shows what the system decided and the introduction it sent
    decision = page.locator(".decision")
    expect(decision).to_have_count(1)
    expect(decision).to_contain_text("You replied “ACCEPT”")
    expect(decision).to_contain_text("ACTED")
    expect(page.locator("#reply")).to_contain_text("ACCEPTED (answered by reply)")
    introduction = decision.get_by_role("link", name="Introduction: clinic and director(s)")
    expect(introduction).to_have_count(1)
    assert page.url.endswith("#reply")
    assert_fits(page, viewport)
    shoot(page, "reply", viewport, "1-decision")

    # And the introduction is there to read, addressed to them, and it is in their mailbox
    introduction.click()
    expect(page.locator(".headers")).to_contain_text(director)
    page.locator("a.mailbox").filter(has_text=director).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Mailbox of {director}")
    mine = page.locator(f'section[data-request-id="{request_id}"] li[data-kind="introduction"]')
    expect(mine).to_have_count(1)
    assert_fits(page, viewport)
    shoot(page, "reply", viewport, "2-introduction")
    page.context.close()


def test_try_it_moved_clock_shown_in_outbox_until_reset(stack: RunningStack, browser: Browser) -> None:
    # Given the sweep's clock moved 5 hours ahead
    page = browser_test.open_page(browser, "phone")
    status, _, _ = stack.request("POST", "/_clock/advance?hours=5", timeout=60)
    assert status == 200
    try:
        # When the outbox is opened
        page.goto(stack.base_url + "/_outbox")

        # Then it says so, and how long it lasts
        clock = page.locator("#clock")
        expect(clock).to_contain_text("Local clock 5 h ahead of real time")
        expect(clock).to_contain_text("until reset or restart")
        assert_fits(page, "phone")
        shoot(page, "clock", "phone", "1-ahead")

        # When its button resets the clock
        page.get_by_role("button", name="Reset the clock").click()

        # Then the outbox shows no offset, and the clock reads real time again
        expect(page.get_by_role("heading", level=1)).to_have_text("Outbox")
        expect(page.locator("#clock")).to_have_count(0)
        assert json.loads(stack.request("GET", "/_clock")[2])["offset_seconds"] == 0
        # And scripts get the offset back as JSON from both routes
        assert json.loads(stack.request("POST", "/_clock/advance?hours=1")[2])["offset_seconds"] == 3600
        assert json.loads(stack.request("POST", "/_clock/reset")[2])["offset_seconds"] == 0
    finally:
        stack.request("POST", "/_clock/reset")
    page.context.close()
