"""The API contract (quote requests) and the shapes shared by matching and emails.

The contract is one set of rules, `QUOTE_REQUEST` (directormatch.intake.schema): intake validates with it
and directormatch.intake.openapi documents it. No pydantic: its import and model building doubled intake's
cold start (issue 8). The rules answer in pydantic's words and locations, as the models they
replaced did; validated bodies become the immutable values below (NamedTuples: a frozen dataclass
cost ~0.7 ms to create at import, a NamedTuple ~0.15 ms).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, NamedTuple, cast

import email_validator

from directormatch.intake.schema import (
    WHITE_SPACE,
    Before,
    Boolean,
    Choice,
    Day,
    Field,
    HttpUrl,
    Integer,
    ListOf,
    Nullable,
    Obj,
    Problem,
    Text,
)
from directormatch.vocabulary import US_STATES, Modality

# Hawaii is the westernmost state: a clinic there may still be on "yesterday" in UTC.
EARLIEST_US_UTC_OFFSET = timedelta(hours=-10)
MAX_DAYS_AHEAD = 365
# The Idempotency-Key header of POST /quote-requests (checked by api.read_quote, documented by openapi).
IDEMPOTENCY_KEY_MAX_LENGTH = 200
# What pydantic's EmailStr allowed (and how it read "Name <address>"); the address is what is kept.
MAX_EMAIL_LENGTH = 2048
_NAME_CHARS = r"[\w.!#$%&\'*+\-/=?^_`{|}~]"
PRETTY_EMAIL = re.compile(rf'\s*(?:((?:{_NAME_CHARS}+\s+)*{_NAME_CHARS}+)|"((?:[^"]|\")+)")?\s*<(.+)>\s*')
# Who carries malpractice insurance: the clinic names the director on its policy, the director brings
# coverage meeting the $1M/$3M floor, or either will do.
Malpractice = Literal["clinic_policy", "director_policy", "no_preference"]
MALPRACTICE_CHOICES: list[Malpractice] = ["clinic_policy", "director_policy", "no_preference"]


def _upper_state(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def _known_state(value: str) -> str:
    if value not in US_STATES:
        raise ValueError(f"'{value}' is not a USPS code of a US state or DC")
    return value


def _us_phone_e164(value: object) -> object:
    """North American numbers only: 10 digits, area code and exchange not starting with 0 or 1."""
    if not isinstance(value, str):
        return value
    digits = re.sub(r"[\s().+-]", "", value)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if not re.fullmatch(r"[2-9][0-9]{2}[2-9][0-9]{6}", digits):
        raise ValueError("must be a US phone number with area code, e.g. (512) 555-0147")
    return f"+1{digits}"


def _no_control_chars(value: str) -> str:
    if re.search(r"[\x00-\x1f\x7f]", value):
        raise ValueError("must not contain line breaks or control characters")
    return value


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _email(value: str) -> str:
    """email_validator's normalised address, without a deliverability check (as pydantic's EmailStr)."""

    def invalid(reason: str) -> Problem:
        return Problem("value_error", f"value is not a valid email address: {reason}")

    if len(value) > MAX_EMAIL_LENGTH:
        raise invalid(f"Length must not exceed {MAX_EMAIL_LENGTH} characters")
    if "\r" in value or "\n" in value:
        raise invalid("Carriage return and line feed characters are not allowed")
    pretty = PRETTY_EMAIL.fullmatch(value)
    address = pretty.group(3) if pretty else value
    try:
        parts = email_validator.validate_email(address.strip(), check_deliverability=False)
    except email_validator.EmailNotValidError as error:
        raise invalid(str(error.args[0])) from None
    return str(parts.normalized)


def start_window(context: Mapping[str, Any]) -> tuple[date, date]:
    """The start dates accepted: from today in Hawaii to MAX_DAYS_AHEAD days ahead (context "now")."""
    now = context.get("now") or datetime.now(UTC)
    return (now + EARLIEST_US_UTC_OFFSET).date(), now.date() + timedelta(days=MAX_DAYS_AHEAD)


# What the OpenAPI document says of the texts checked by the functions above (test_intake_schema
# checks that the document and these checks agree): a name is one line, trimmed, of 2 or more
# characters; notes hold no NUL; a phone is 10 digits (or 11 starting with 1) among separators.
_SPACES = "".join(f"\\u{ord(c):04x}" for c in WHITE_SPACE)
_SPACE = f"[{_SPACES}]"
_LINE_CHAR = "[^\\u0000-\\u001f\\u007f]"
_EDGE_CHAR = f"[^\\u0000-\\u001f\\u007f{_SPACES}]"
SINGLE_LINE_PATTERN = f"^{_SPACE}*{_EDGE_CHAR}{_LINE_CHAR}*{_EDGE_CHAR}{_SPACE}*$"
_SEPARATORS = "[\\s().+-]*"
_AREA_OR_EXCHANGE = f"[2-9](?:{_SEPARATORS}[0-9]){{2}}"
US_PHONE_PATTERN = (
    f"^{_SEPARATORS}(?:1{_SEPARATORS})?{_AREA_OR_EXCHANGE}{_SEPARATORS}{_AREA_OR_EXCHANGE}"
    f"(?:{_SEPARATORS}[0-9]){{4}}{_SEPARATORS}$"
)


SINGLE_LINE = Text(
    min_length=2,
    max_length=200,
    strip=True,
    checks=[_no_control_chars],
    described={"pattern": SINGLE_LINE_PATTERN},
)
US_STATE = Before(
    _upper_state,
    Text(checks=[_known_state]),
    {"enum": sorted(US_STATES), "description": "USPS code of a state or DC (lower case is read too)"},
)
US_PHONE = Before(
    _us_phone_e164,
    Text(),
    {"pattern": US_PHONE_PATTERN, "description": "US phone number; stored as E.164"},
)
# email_validator refuses addresses at special-use names (.test, .local, ...), even undelivered.
_SPECIAL_USE = "|".join(re.escape(name) for name in email_validator.SPECIAL_USE_DOMAIN_NAMES)
EMAIL = Text(
    checks=[_email, _no_control_chars],
    described={"format": "email", "pattern": f"^(?!.*[@.](?:{_SPECIAL_USE})$)"},
)
COUNT = Integer(ge=0, le=500)

QUOTE_REQUEST = Obj(
    "QuoteRequest",
    {
        "clinic": Field(
            Obj("Clinic", {"name": Field(SINGLE_LINE), "website": Field(Nullable(HttpUrl()), None)})
        ),
        "contact": Field(
            Obj("Contact", {"name": Field(SINGLE_LINE), "email": Field(EMAIL), "phone": Field(US_PHONE)})
        ),
        "states": Field(ListOf(US_STATE, min_length=1, max_length=51, unique=True)),
        "modalities": Field(
            ListOf(
                Choice(list(Modality), enum=Modality),
                min_length=1,
                max_length=len(Modality),
                unique=True,
            )
        ),
        "supervisees": Field(Obj("Supervisees", {"np": Field(COUNT), "pa": Field(COUNT)})),
        "locations": Field(Integer(ge=1, le=500)),
        "controlled_substances": Field(Boolean()),
        "malpractice": Field(Choice(MALPRACTICE_CHOICES), "no_preference"),
        "start_by": Field(
            Day(start_window, "must be today or later", f"must be within {MAX_DAYS_AHEAD} days from today")
        ),
        "notes": Field(
            Nullable(Text(max_length=2000, checks=[_no_nul], described={"pattern": "^[^\\u0000]*$"})), None
        ),
        "consent": Field(
            Boolean(
                only=True, refusal="must be true: we need your consent to share the request with physicians"
            )
        ),
    },
    description="Body of POST /quote-requests (contract v1).",
)


class Clinic(NamedTuple):
    name: str
    website: str | None = None


class Contact(NamedTuple):
    name: str
    email: str
    phone: str


class Supervisees(NamedTuple):
    np: int
    pa: int


class QuoteRequest(NamedTuple):
    """Body of POST /quote-requests (contract v1), validated and normalised."""

    clinic: Clinic
    contact: Contact
    states: list[str]
    modalities: list[Modality]
    supervisees: Supervisees
    locations: int
    controlled_substances: bool
    start_by: date
    consent: bool
    malpractice: Malpractice = "no_preference"
    notes: str | None = None

    @classmethod
    def validate(cls, body: Any, now: datetime | None = None) -> QuoteRequest:
        """The body as a QuoteRequest, or schema.ContractError listing every invalid field.

        `now` moves "today" for the start date rules (tests).
        """
        fields = QUOTE_REQUEST.parse(body, {"now": now} if now else None)
        return cls(
            **fields
            | {
                "clinic": Clinic(**fields["clinic"]),
                "contact": Contact(**fields["contact"]),
                "supervisees": Supervisees(**fields["supervisees"]),
            }
        )

    def to_json(self, exclude_none: bool = False) -> dict[str, Any]:
        """The request as JSON values, fields in the contract's order (what was pydantic's model_dump)."""
        body: dict[str, Any] = {
            "clinic": {"name": self.clinic.name, "website": self.clinic.website},
            "contact": {"name": self.contact.name, "email": self.contact.email, "phone": self.contact.phone},
            "states": list(self.states),
            "modalities": [m.value for m in self.modalities],
            "supervisees": {"np": self.supervisees.np, "pa": self.supervisees.pa},
            "locations": self.locations,
            "controlled_substances": self.controlled_substances,
            "malpractice": self.malpractice,
            "start_by": self.start_by.isoformat(),
            "notes": self.notes,
            "consent": self.consent,
        }
        return cast(dict[str, Any], _without_none(body)) if exclude_none else body


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    return value


class QuoteAccepted(NamedTuple):
    """Body of the 201 answer."""

    request_id: str
    status: Literal["NEW"] = "NEW"

    def to_json(self) -> dict[str, str]:
        return {"request_id": self.request_id, "status": self.status}


class FieldError(NamedTuple):
    field: str
    message: str


class ErrorBody(NamedTuple):
    errors: list[FieldError]

    def to_json(self) -> dict[str, list[dict[str, str]]]:
        return {"errors": [{"field": e.field, "message": e.message} for e in self.errors]}
