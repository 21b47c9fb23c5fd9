"""The API contract (quote requests) and the shapes shared by matching and emails."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    HttpUrl,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from directormatch.vocabulary import US_STATES, Modality

# Hawaii is the westernmost state: a clinic there may still be on "yesterday" in UTC.
EARLIEST_US_UTC_OFFSET = timedelta(hours=-10)
MAX_DAYS_AHEAD = 365


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
    if not re.fullmatch(r"[2-9]\d{2}[2-9]\d{6}", digits):
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


UsState = Annotated[
    str,
    BeforeValidator(_upper_state),
    AfterValidator(_known_state),
    WithJsonSchema(
        {"type": "string", "pattern": "^[A-Za-z]{2}$", "description": "USPS code of a state or DC"}
    ),
]
SingleLine = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=2, max_length=200),
    AfterValidator(_no_control_chars),
]
UsPhone = Annotated[
    str,
    BeforeValidator(_us_phone_e164),
    WithJsonSchema({"type": "string", "description": "US phone number; stored as E.164"}),
]
Count = Annotated[int, Field(strict=True, ge=0, le=500)]
# Who carries malpractice insurance: the clinic names the director on its policy, the director brings
# coverage meeting the $1M/$3M floor, or either will do.
Malpractice = Literal["clinic_policy", "director_policy", "no_preference"]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False, frozen=True)


class Clinic(StrictModel):
    name: SingleLine
    website: HttpUrl | None = None


class Contact(StrictModel):
    name: SingleLine
    email: Annotated[EmailStr, AfterValidator(_no_control_chars)]
    phone: UsPhone


class Supervisees(StrictModel):
    np: Count
    pa: Count


class QuoteRequest(StrictModel):
    """Body of POST /quote-requests (contract v1)."""

    clinic: Clinic
    contact: Contact
    states: Annotated[list[UsState], Field(min_length=1, max_length=51)]
    modalities: Annotated[list[Modality], Field(min_length=1, max_length=len(Modality))]
    supervisees: Supervisees
    locations: Annotated[int, Field(strict=True, ge=1, le=500)]
    controlled_substances: StrictBool
    malpractice: Malpractice = "no_preference"
    start_by: date
    notes: Annotated[str, Field(max_length=2000), AfterValidator(_no_nul)] | None = None
    consent: StrictBool

    @field_validator("states", "modalities")
    @classmethod
    def _distinct(cls, values: list[str]) -> list[str]:
        repeated = sorted(value for value, count in Counter(values).items() if count > 1)
        if repeated:
            raise ValueError(f"listed more than once: {', '.join(repeated)}")
        return values

    @field_validator("start_by")
    @classmethod
    def _within_a_year(cls, value: date, info: ValidationInfo) -> date:
        now = (info.context or {}).get("now") or datetime.now(UTC)
        earliest = (now + EARLIEST_US_UTC_OFFSET).date()
        latest = now.date() + timedelta(days=MAX_DAYS_AHEAD)
        if value < earliest:
            raise ValueError("must be today or later")
        if value > latest:
            raise ValueError(f"must be within {MAX_DAYS_AHEAD} days from today")
        return value

    @field_validator("consent")
    @classmethod
    def _consented(cls, value: bool) -> bool:
        if not value:
            raise ValueError("must be true: we need your consent to share the request with physicians")
        return value


class QuoteAccepted(BaseModel):
    """Body of the 201 answer."""

    request_id: str
    status: Literal["NEW"] = "NEW"


class FieldError(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    errors: list[FieldError]
