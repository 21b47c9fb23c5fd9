"""The quote form posted without JavaScript: flat form fields onto the contract, and the pages that answer.

The page (site/quote-form.html) posts JSON when its script runs; without it the browser posts
`application/x-www-form-urlencoded` and expects a page back. Field names here are the form's `name`s;
the labels are the form's labels, so an error page names fields the way the person saw them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from directormatch.intake.contract import FieldError

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# Visually hidden, out of the tab order, autocomplete off: a person never fills it, a form-filling bot does.
HONEYPOT_FIELD = "company_fax"
MAX_FORM_FIELDS = 200

# In the form's order, top to bottom: the error page lists problems in this order.
LABELS: dict[str, str] = {
    "clinic.name": "Clinic name",
    "clinic.website": "Website",
    "contact.name": "Your name",
    "contact.email": "Work email",
    "contact.phone": "Phone",
    "states": "States",
    "modalities": "Services",
    "supervisees.np": "Nurse practitioners",
    "supervisees.pa": "Physician assistants",
    "locations": "Locations",
    "start_by": "Start date",
    "controlled_substances": "Controlled substances",
    "malpractice": "Malpractice coverage",
    "budget_monthly": "Monthly budget",
    "notes": "Notes",
    "consent": "Consent",
}
CHOOSE_ONE = {"states": "Choose at least one state.", "modalities": "Choose at least one service."}
CONSENT_NEEDED = "Please confirm that we may share your request with matching physicians."
# Wording for a person by the error's type (pydantic's, or the contract's own); {limit} is the bound
# broken. The label goes in front. site/quote-form.html words the JSON answers the same way (its
# WORDINGS): change both together.
URL_TYPES = ("url_parsing", "url_scheme", "url_syntax_violation", "url_type")
DATE_TYPES = ("date_type", "date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact")
WORDINGS: dict[str, str] = {
    "int_type": "must be a whole number (0 or more).",
    "greater_than_equal": "must be at least {limit}.",
    "less_than_equal": "must be {limit} or fewer.",
    "string_too_short": "needs at least {limit} characters.",
    "string_too_long": "must be {limit} characters or fewer.",
    **dict.fromkeys(URL_TYPES, "must be a web address, like https://yourclinic.com."),
    **dict.fromkeys(DATE_TYPES, "must be a date."),
    "bool_type": "needs a yes or no.",
    **dict.fromkeys(("enum", "literal_error"), "needs one of the choices."),
    "missing": "is required.",
    # The text rule (directormatch.text): characters pasted from another program, never typed.
    "lone_surrogate": "holds a damaged character; please type it again.",
    "line_separator": "holds a hidden line break, often pasted from a word processor; please type it again.",
    "bidi_control": "holds hidden text-direction marks, often pasted; please type it again.",
    "zero_width": "holds hidden zero-width characters, often pasted; please type it again.",
}
# pydantic's EmailStr reports a "value_error": the field tells it apart.
FIELD_WORDINGS = {("contact.email", "value_error"): "must be an email address, like you@yourclinic.com."}
# The contract's own checks, whose messages are written to follow the label ("Phone must be ...").
PREDICATES = {
    "us_phone",
    "control_characters",
    "email_not_ascii",
    "duplicates",
    "date_too_early",
    "date_too_late",
}


@dataclass(frozen=True)
class FormPost:
    fields: dict[str, Any]
    honeypot: bool


@dataclass(frozen=True)
class Problem:
    """One field error as a person reads it."""

    field: str
    label: str
    text: str


def is_form_post(event: Mapping[str, Any]) -> bool:
    """A browser's form post (no JavaScript): POST with a urlencoded body."""
    if event.get("httpMethod") != "POST":
        return False
    headers = event.get("headers") or {}
    content_type = next((str(v) for k, v in headers.items() if k.lower() == "content-type"), "")
    return content_type.split(";")[0].strip().lower() == FORM_CONTENT_TYPE


def _website(value: str) -> str:
    """People type "yourclinic.com"; the contract wants a URL."""
    return value if not value or "://" in value else f"https://{value}"


def _integer(value: str) -> int | str:
    """A count as an int; anything else stays text, so validation names the field."""
    return int(value) if re.fullmatch(r"\d{1,6}", value) else value


def _present(values: dict[str, Any]) -> dict[str, Any]:
    """Blank answers are left out: the contract then says "is required" (or takes its default)."""
    return {key: value for key, value in values.items() if value != ""}


def contract_fields(form: Mapping[str, list[str]]) -> dict[str, Any]:
    """The form's flat fields as the input of the contract's model (contract.QuoteRequest)."""

    def one(name: str) -> str:
        return (form.get(name) or [""])[-1].strip()

    def many(name: str) -> list[str]:
        return [value.strip() for value in form.get(name, []) if value.strip()]

    controlled = one("controlled_substances")
    fields: dict[str, Any] = {
        "clinic": _present({"name": one("clinic_name"), "website": _website(one("clinic_website"))}),
        "contact": _present(
            {"name": one("contact_name"), "email": one("contact_email"), "phone": one("contact_phone")}
        ),
        "states": many("states"),
        "modalities": many("modalities"),
        "supervisees": _present(
            {"np": _integer(one("supervisees_np")), "pa": _integer(one("supervisees_pa"))}
        ),
        "locations": _integer(one("locations")),
        "controlled_substances": {"yes": True, "no": False}.get(controlled, controlled),
        "malpractice": one("malpractice"),
        "budget_monthly": _integer(one("budget_monthly").replace(",", "").removeprefix("$")),
        "start_by": one("start_by"),
        "notes": one("notes"),
        "consent": one("consent") == "yes",
    }
    return _present(fields)


def parse(body: str) -> FormPost:
    """Raises ValueError when the body holds more fields than the form has."""
    form = parse_qs(body, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    honeypot = any(value.strip() for value in form.get(HONEYPOT_FIELD, []))
    return FormPost(fields=contract_fields(form), honeypot=honeypot)


@dataclass(frozen=True)
class FormWords:
    """How one form names its fields to a person: labels in the form's order ("licenses.#.number"
    stands for each row, {n} its number), the groups that need a choice, and the consent wanted."""

    labels: Mapping[str, str]
    choose_one: Mapping[str, str]
    consent_needed: str
    field_wordings: Mapping[tuple[str, str], str]
    fallback: str


QUOTE_WORDS = FormWords(LABELS, CHOOSE_ONE, CONSENT_NEEDED, FIELD_WORDINGS, "Your request")


def _row_key(field: str) -> str:
    return re.sub(r"\.\d+(?=\.|$)", ".#", field)


def _label(field: str, words: FormWords) -> str:
    """The label of a field, or of the nearest enclosing one; a row's with its number."""
    row = re.search(r"\.(\d+)(?=\.|$)", field)
    parts = _row_key(field).split(".")
    for end in range(len(parts), 0, -1):
        label = words.labels.get(".".join(parts[:end]))
        if label is not None:
            return label.format(n=int(row.group(1)) + 1 if row else "")
    return words.fallback


def describe(error: FieldError, words: FormWords = QUOTE_WORDS) -> Problem:
    """A field error in words, led by the form's label ("states.3" belongs to the States group)."""
    group = error.field.split(".")[0]
    # An item of a group ("states.3") is the group's problem; a field of a row ("licenses.0.state") its own.
    field = (
        group if group in words.choose_one and re.fullmatch(r"[a-z_]+(\.\d+)?", error.field) else error.field
    )
    label = _label(field, words)
    wording = words.field_wordings.get((_row_key(field), error.type or "")) or WORDINGS.get(error.type or "")
    if field == "consent":
        text = words.consent_needed
    elif field in words.choose_one and error.type == "too_short":
        text = words.choose_one[field]
    elif wording:
        text = f"{label} {wording.format(limit=error.limit)}"
    elif error.type in PREDICATES:
        text = f"{label} {error.message}."
    else:
        text = f"{label}: {error.message[:1].upper()}{error.message[1:].rstrip('.')}."
    return Problem(field=field, label=label, text=text)


def in_form_order(problems: list[Problem], words: FormWords = QUOTE_WORDS) -> list[Problem]:
    """Problems as the form shows its fields, top to bottom (the API reports them in the contract's
    order); problems with no field of the form come last, in the order given."""
    fields = list(words.labels)

    def position(problem: Problem) -> int:
        # A whole group ("clinic" is required) sits where its first field does.
        path = _row_key(problem.field)
        return next(
            (i for i, field in enumerate(fields) if field == path or field.startswith(f"{path}.")),
            len(fields),
        )

    return sorted(problems, key=position)


def back_link(referer: str | None) -> str | None:
    """Where "back to the form" goes: the page that posted, when it is a web page."""
    if not referer:
        return None
    parts = urlsplit(referer)
    return referer if parts.scheme in ("http", "https") and parts.netloc else None


def render_page(name: str, **context: Any) -> str:
    """mail.render.render_page, imported when a page is rendered: a JSON request never renders one,
    so Jinja2 stays off intake's cold start."""
    from directormatch.mail import render as emails

    return emails.render_page(name, **context)


def received_page(reference: str, status_url: str = "") -> str:
    """The thank-you page: the code to quote and, for a stored request, the link to follow it."""
    return render_page("page_quote_received", reference=reference, status_url=status_url)


def invalid_page(errors: list[FieldError], referer: str | None, words: FormWords = QUOTE_WORDS) -> str:
    return render_page(
        "page_quote_invalid",
        problems=in_form_order([describe(e, words) for e in errors], words),
        back_url=back_link(referer),
    )


def problem_page(heading: str, message: str, referer: str | None = None) -> str:
    return render_page("page_quote_problem", heading=heading, message=message, back_url=back_link(referer))
