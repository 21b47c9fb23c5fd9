"""site/director-form.html and the server's application form path agree: field names, choices,
labels and wordings; the local stack serves it at /join posting to itself."""

from __future__ import annotations

import json
import re
from typing import Any

from directormatch.applications import form as application_form
from directormatch.directors import FEE_COLUMNS, Specialty
from directormatch.intake.form import WORDINGS
from directormatch.vocabulary import US_STATES, Modality
from local.server import DIRECTOR_FORM, QUOTE_FORM, SITE_PAGES, site_page
from tests.unit.test_site_form import Controls

PAGE = DIRECTOR_FORM.read_text()


def controls() -> Controls:
    parser = Controls()
    parser.feed(PAGE)
    return parser


def script_json(name: str) -> Any:
    """A script variable written as JSON, its keys quoted or plain words."""
    found = re.search(rf"var {name} = ([{{\[].*?[}}\]]);", PAGE, re.S)
    assert found, name
    return json.loads(re.sub(r'(?<=[{,\s])(\w+): "', r'"\1": "', found.group(1)))


def test_director_form_field_names_are_the_ones_the_server_maps() -> None:
    names = {str(c["name"]) for c in controls().controls}

    rows = {f"{prefix}_{part}" for prefix in ("license", "dea") for part in ("state", "number", "expires_on")}
    assert names == {
        "first_name", "last_name", "npi", "email", "phone", "specialties", "modalities", "max_clinics",
        "malpractice_per_claim", "malpractice_aggregate", "consent", application_form.HONEYPOT_FIELD,
        *FEE_COLUMNS, *rows,
    }  # fmt: skip


def test_director_form_offers_every_specialty_modality_and_state() -> None:
    boxes = controls().controls
    assert {c["value"] for c in boxes if c["name"] == "specialties"} == {s.value for s in Specialty}
    assert {c["value"] for c in boxes if c["name"] == "modalities"} == {m.value for m in Modality}
    assert set(re.findall(r'<option value="(\w\w)">', PAGE)) == set(US_STATES)


def test_director_form_every_text_control_has_a_label() -> None:
    parser = controls()
    labelled = [c for c in parser.controls if c.get("type") not in ("checkbox", "radio")]

    assert {str(c["id"]) for c in labelled} <= parser.label_for


def test_director_form_script_words_errors_as_the_server_does() -> None:
    words = application_form.APPLICATION_WORDS

    assert script_json("LABELS") == dict(words.labels)
    assert script_json("CHOOSE_ONE") == dict(words.choose_one)
    assert script_json("FIELD_WORDINGS") == {f"{f} {t}": w for (f, t), w in words.field_wordings.items()}
    wordings = script_json("WORDINGS")
    assert wordings.items() <= {**WORDINGS, "int_parsing": WORDINGS["int_type"]}.items()
    assert words.consent_needed in PAGE


def test_local_stack_serves_the_director_form_at_join_posting_to_itself() -> None:
    assert 'action="https://api.directormatch.example/director-applications"' in PAGE

    served = site_page(*SITE_PAGES["/join"]).decode()

    assert '<form id="dm-apply" method="post" action="/director-applications" novalidate>' in served
    assert served.replace('action="/director-applications"', "") == PAGE.replace(
        'action="https://api.directormatch.example/director-applications"', ""
    )


def stylesheet(page: str) -> list[str]:
    """The lines of a page's <style>, white space trimmed, blank lines and comments left out."""
    found = re.search(r"^<style>$(.*?)^</style>$", page, re.S | re.M)
    assert found, "no <style>"
    lines = (line.strip() for line in found.group(1).splitlines())
    return [line for line in lines if line and not line.startswith("/*")]


def test_director_form_styles_are_the_quote_forms_but_for_its_own_rows() -> None:
    # Each form stays one file (the website embeds the quote form, pasting its <style> in or not), so
    # the director form copies the quote form's styles: a change to one must be made to the other.
    quote_styles = set(stylesheet(QUOTE_FORM.read_text()))

    own = [line for line in stylesheet(PAGE) if line not in quote_styles]

    assert own, "the director form's license and DEA rows have styles of their own"
    assert all(line.startswith(".dm-rows") for line in own), own
