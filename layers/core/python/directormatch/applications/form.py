"""The director application form (site/director-form.html) posted without JavaScript: its flat fields
onto the contract (applications.contract), and the words its pages use. The page's script posts the
same fields as JSON (its payload() mirrors contract_fields).

The fee fields are the roster CSV's fee columns (directors.FEE_COLUMNS). License and DEA rows
repeat their fields (license_state, license_number, license_expires_on, once per row, in order); a
row left wholly blank is not a row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from directormatch.directors import FEE_COLUMNS
from directormatch.intake.form import MAX_FORM_FIELDS, WORDINGS, FormPost, FormWords, render_page

HONEYPOT_FIELD = "practice_fax"
ROW_FIELDS = {"licenses": ("state", "number", "expires_on"), "dea": ("state", "number", "expires_on")}

LABELS: dict[str, str] = {
    "first_name": "First name",
    "last_name": "Last name",
    "npi": "NPI",
    "email": "Email",
    "phone": "Mobile phone",
    "specialties": "Specialties",
    "licenses": "State licenses",
    "licenses.#.state": "License {n}: state",
    "licenses.#.number": "License {n}: number",
    "licenses.#.expires_on": "License {n}: expiry date",
    "dea": "DEA registrations",
    "dea.#.state": "DEA registration {n}: state",
    "dea.#.number": "DEA registration {n}: number",
    "dea.#.expires_on": "DEA registration {n}: expiry date",
    "modalities": "Services",
    "max_clinics": "Clinics you can take on",
    "fees": "Fee schedule",
    "fees.base": "Base fee",
    "fees.per_np": "Per nurse practitioner",
    "fees.per_pa": "Per physician assistant",
    "fees.per_additional_state": "Per additional state",
    "fees.per_additional_location": "Per additional location",
    "fees.controlled_premium": "Controlled substances premium",
    "fees.chart_review_percent": "Chart review share",
    "fees.chart_review_fee": "Chart review fee",
    "malpractice_per_claim": "Malpractice per claim",
    "malpractice_aggregate": "Malpractice aggregate",
    "consent": "Consent",
}
APPLICATION_WORDS = FormWords(
    labels=LABELS,
    choose_one={
        "specialties": "Choose at least one specialty.",
        "modalities": "Choose at least one service.",
        "licenses": "Add at least one state license.",
    },
    consent_needed="Please confirm that we may verify your licenses and send you offers.",
    field_wordings={
        ("email", "value_error"): "must be an email address, like you@yourpractice.com.",
        ("npi", "value_error"): "must be your 10-digit NPI (it failed the NPI check digit).",
        ("licenses.#.state", "value_error"): "must be a US state or DC.",
        ("dea.#.state", "value_error"): "must be a US state or DC.",
        ("licenses.#.number", "string_pattern_mismatch"): "must be 3 to 20 letters, digits or dashes.",
        ("dea.#.number", "value_error"): "must be 2 letters and 7 digits, with a valid check digit.",
        ("licenses.#.expires_on", "value_error"): WORDINGS["date_type"],
        ("dea.#.expires_on", "value_error"): WORDINGS["date_type"],
    },
    fallback="Your application",
)


def _integer(value: str) -> int | str:
    """A whole number typed with or without $ and commas; anything else stays text for the contract."""
    plain = value.replace(",", "").removeprefix("$")
    return int(plain) if re.fullmatch(r"\d{1,9}", plain) else value


def _rows(form: Mapping[str, list[str]], name: str) -> list[dict[str, str]]:
    parts = ROW_FIELDS[name]
    prefix = "license" if name == "licenses" else name
    columns = [[value.strip() for value in form.get(f"{prefix}_{part}", [])] for part in parts]
    height = max(len(column) for column in columns)
    rows = []
    for n in range(height):
        row = {
            part: column[n] if n < len(column) else "" for part, column in zip(parts, columns, strict=True)
        }
        if any(row.values()):
            rows.append({part: value for part, value in row.items() if value})
    return rows


def contract_fields(form: Mapping[str, list[str]]) -> dict[str, Any]:
    """The form's flat fields as the input of the contract's model (contract.DirectorApplication)."""

    def one(name: str) -> str:
        return (form.get(name) or [""])[-1].strip()

    def many(name: str) -> list[str]:
        return [value.strip() for value in form.get(name, []) if value.strip()]

    fees = {field: _integer(one(name)) for name, field in FEE_COLUMNS.items() if one(name)}
    fields: dict[str, Any] = {
        "first_name": one("first_name"),
        "last_name": one("last_name"),
        "npi": re.sub(r"[\s-]", "", one("npi")),
        "email": one("email"),
        "phone": one("phone"),
        "specialties": many("specialties"),
        "licenses": _rows(form, "licenses"),
        "dea": _rows(form, "dea"),
        "modalities": many("modalities"),
        "max_clinics": _integer(one("max_clinics")),
        "fees": fees or "",
        "malpractice_per_claim": _integer(one("malpractice_per_claim")),
        "malpractice_aggregate": _integer(one("malpractice_aggregate")),
        "consent": one("consent") == "yes",
    }
    return {key: value for key, value in fields.items() if value != ""}


def parse(body: str) -> FormPost:
    """Raises ValueError when the body holds more fields than the form has."""
    form = parse_qs(body, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    honeypot = any(value.strip() for value in form.get(HONEYPOT_FIELD, []))
    return FormPost(fields=contract_fields(form), honeypot=honeypot)


def received_page(application_id: str = "") -> str:
    """The thank-you page: what happens next (the id is ops' handle, shown for a stored application)."""
    return render_page("page_application_received", application_id=application_id)
