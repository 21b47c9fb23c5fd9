"""site/quote-form.html and the server's form path agree: field names, labels, wordings; the local stack
serves the file with its action pointed at itself."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

from directormatch.intake import form as quote_form
from directormatch.mail.render import TEMPLATES
from directormatch.vocabulary import US_STATES, Modality
from local.server import QUOTE_FORM, favicon, quote_form_page

PAGE = QUOTE_FORM.read_text()
ICON_LINK = re.compile(r'<link rel="icon" href="(data:image/svg\+xml,[^"]+)">')


class Controls(HTMLParser):
    """Every form control's name, id and value, and every label's `for`."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("input", "textarea", "select") and values.get("name"):
            self.controls.append(values)
        if tag == "label" and values.get("for"):
            self.label_for.add(str(values["for"]))


def controls() -> Controls:
    parser = Controls()
    parser.feed(PAGE)
    return parser


def js_object(name: str) -> dict[str, str]:
    found = re.search(rf"var {name} = (\{{.*?\}});", PAGE, re.S)
    assert found, name
    return dict(json.loads(re.sub(r"(\w+):", r'"\1":', found.group(1))))


def test_site_form_field_names_are_the_ones_the_server_maps() -> None:
    # Given the form's controls
    names = {str(c["name"]) for c in controls().controls}

    # When compared with what quote_form.contract_fields reads (and the honeypot)
    expected = {
        "clinic_name",
        "clinic_website",
        "contact_name",
        "contact_email",
        "contact_phone",
        "states",
        "modalities",
        "supervisees_np",
        "supervisees_pa",
        "locations",
        "start_by",
        "controlled_substances",
        "malpractice",
        "budget_monthly",
        "notes",
        "consent",
        quote_form.HONEYPOT_FIELD,
    }

    # Then they are the same
    assert names == expected


def test_site_form_offers_every_state_and_modality_of_the_contract() -> None:
    # Given the checkboxes of the form
    boxes = controls().controls
    states = {c["value"] for c in boxes if c["name"] == "states"}
    modalities = {c["value"] for c in boxes if c["name"] == "modalities"}

    # Then they are exactly the contract's 51 USPS codes and its modalities
    assert states == set(US_STATES)
    assert modalities == {m.value for m in Modality}


def test_site_form_every_text_control_has_a_label() -> None:
    # Given the form's text, number, date and textarea controls
    parser = controls()
    labelled = [c for c in parser.controls if c.get("type") not in ("checkbox", "radio")]

    # Then each has a <label for=...> (checkboxes and radios are wrapped in theirs)
    assert {str(c["id"]) for c in labelled} <= parser.label_for


def test_site_form_honeypot_is_out_of_reach_of_people() -> None:
    # Given the honeypot control
    [honeypot] = [c for c in controls().controls if c["name"] == quote_form.HONEYPOT_FIELD]

    # Then it is out of the tab order, never autofilled, inside an aria-hidden, visually hidden box
    assert honeypot["tabindex"] == "-1"
    assert honeypot["autocomplete"] == "off"
    assert re.search(r'<div class="dm-hp" aria-hidden="true">\s*<label for="company_fax">', PAGE)


def js_json(name: str) -> Any:
    """A script variable written as JSON (quoted keys)."""
    found = re.search(rf"var {name} = ([{{\[].*?[}}\]]);", PAGE, re.S)
    assert found, name
    return json.loads(found.group(1))


def test_site_form_script_words_errors_as_the_server_does() -> None:
    # Given the script's labels and wordings
    labels = js_object("LABELS")

    # Then they match the no-JavaScript page's (directormatch.intake.form)
    assert labels == quote_form.LABELS
    assert js_json("WORDINGS") == quote_form.WORDINGS
    assert js_json("FIELD_WORDINGS") == {f"{f} {t}": w for (f, t), w in quote_form.FIELD_WORDINGS.items()}
    assert sorted(js_json("PREDICATES")) == sorted(quote_form.PREDICATES)


def test_site_form_script_words_errors_by_type_never_by_english_text() -> None:
    # Given the script's describe()
    describe = PAGE[PAGE.index("function describe(") : PAGE.index("function payload(")]

    # Then it reads the error's type, and matches no pattern against the message
    assert "error.type" in describe
    assert not re.search(r"message\.match|\.test\(message\)", describe)


def test_local_stack_serves_the_form_posting_to_itself() -> None:
    # Given the embeddable file, whose action points at a deployed API
    assert 'action="https://api.directormatch.example/quote-requests"' in PAGE

    # When the local stack serves it
    served = quote_form_page().decode()

    # Then only the action changed: it posts to this stack
    assert '<form id="dm-quote" method="post" action="/quote-requests" novalidate>' in served
    assert served.replace('action="/quote-requests"', "") == PAGE.replace(
        'action="https://api.directormatch.example/quote-requests"', ""
    )


def test_site_form_labels_run_in_the_form_order_of_its_fields() -> None:
    # Given the order of the form's error messages, top to bottom (one beside each field)
    beside_fields = re.findall(r'<p class="dm-error" id="([a-z_]+)-error"', PAGE)

    # Then the labels (the order both error summaries follow) list the fields in that order
    assert [field.replace(".", "_") for field in quote_form.LABELS] == beside_fields
    assert list(js_object("LABELS")) == list(quote_form.LABELS)


def test_site_form_and_pages_carry_one_inline_icon_which_the_local_stack_serves() -> None:
    # Given the form and the layout of every page
    layout = (TEMPLATES / "_page.html").read_text()
    form_icon, page_icon = ICON_LINK.search(PAGE), ICON_LINK.search(layout)

    # Then both carry the same icon as a data: URI (no request; the API has no /favicon.ico route)
    assert form_icon is not None
    assert page_icon is not None
    assert form_icon.group(1) == page_icon.group(1)
    # And the local stack's /favicon.ico answers with that SVG
    assert favicon().startswith(b"<svg xmlns='http://www.w3.org/2000/svg'")
    assert favicon().endswith(b"</svg>")
