"""The API contract in pydantic models: the quote request intake validates, and the answers it gives.

JSON bodies and form posts (intake.form maps flat fields onto this input) are validated by these
models, and GET /openapi.json documents them from their JSON schema (intake.openapi). Errors of
the checks written here carry their own `type` (PydanticCustomError), so the form and the site
script choose their wording by type and field, never by English text. Every text field passes the
one text rule (directormatch.text) before its own check; the enums (modalities, malpractice) take
only their fixed words.

The annotations are evaluated as the module runs (no `from __future__ import annotations`): as
strings, pydantic would compile and evaluate each one again while creating the models, at every
cold start of intake.
"""

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    HttpUrl,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, PydanticKnownError, core_schema

from directormatch import snapstart, text
from directormatch.vocabulary import US_STATES, Modality

# Hawaii is the westernmost state: a clinic there may still be on "yesterday" in UTC.
EARLIEST_US_UTC_OFFSET = timedelta(hours=-10)
MAX_DAYS_AHEAD = 365
# The Idempotency-Key header of POST /quote-requests (checked by intake.http, documented by openapi).
IDEMPOTENCY_KEY_MAX_LENGTH = 200
# Who carries malpractice insurance: the clinic names the director on its policy, the director brings
# coverage meeting the $1M/$3M floor, or either will do.
Malpractice = Literal["clinic_policy", "director_policy", "no_preference"]


def _text(value: object, multiline: bool = False) -> object:
    """The text rule, its refusal as the contract's error; a value that is no text goes on to the
    field's own check."""
    if not isinstance(value, str):
        return value
    try:
        return text.checked(value, multiline)
    except text.TextRefused as refused:
        raise PydanticCustomError(refused.reason, refused.message) from None


def _multi_line(value: object) -> object:
    return _text(value, multiline=True)


def _upper_state(value: object) -> object:
    value = _text(value)
    return value.strip().upper() if isinstance(value, str) else value


def _known_state(value: str) -> str:
    if value not in US_STATES:
        raise PydanticCustomError(
            "us_state", "'{state}' is not a USPS code of a US state or DC", {"state": value}
        )
    return value


def _us_phone_e164(value: object) -> object:
    """North American numbers only: 10 digits, area code and exchange not starting with 0 or 1."""
    value = _text(value)
    if not isinstance(value, str):
        return value
    digits = re.sub(_PHONE_SEPARATOR, "", value)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if not re.fullmatch(r"[2-9][0-9]{2}[2-9][0-9]{6}", digits):
        raise PydanticCustomError("us_phone", "must be a US phone number with area code, e.g. (512) 555-0147")
    return f"+1{digits}"


def _raw_length_at_most_200(value: object) -> object:
    """The document's maxLength bounds the text as sent: pydantic would count it once stripped."""
    if isinstance(value, str) and len(value) > 200:
        raise PydanticCustomError(
            "string_too_long", "String should have at most {max_length} characters", {"max_length": 200}
        )
    return value


def _one_line(value: object) -> object:
    """The length as sent first, then the text rule on what lies within the edge spaces (which
    pydantic strips next: a name pasted with a trailing line break is still one line)."""
    value = _raw_length_at_most_200(value)
    return _text(value.strip(WHITE_SPACE)) if isinstance(value, str) else value


def _unique(values: list[Any]) -> list[Any]:
    repeated = sorted(str(v) for v, count in Counter(values).items() if count > 1)
    if repeated:
        raise PydanticCustomError(
            "duplicates", "listed more than once: {repeated}", {"repeated": ", ".join(repeated)}
        )
    return values


def _iso_day(value: object) -> object:
    """Dates travel as ISO text ("2026-12-01"): pydantic would also read a Unix timestamp as a day."""
    value = _text(value)
    if not isinstance(value, str):
        raise PydanticCustomError("date_type", "Input should be a valid date")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value[:10]):
        raise PydanticCustomError("date_parsing", "Input should be a valid date in the format YYYY-MM-DD")
    return value


def start_window(now: datetime | None = None) -> tuple[date, date]:
    """The start dates accepted: from today in Hawaii to MAX_DAYS_AHEAD days ahead."""
    now = now or datetime.now(UTC)
    return (now + EARLIEST_US_UTC_OFFSET).date(), now.date() + timedelta(days=MAX_DAYS_AHEAD)


def _document_start_window(schema: dict[str, Any]) -> None:
    """The dates accepted today, listed in a pattern (the document is made when asked for), so a
    client generating bodies from the document sends start dates the API takes."""
    first, last = start_window()
    months: dict[str, list[str]] = {}
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        months.setdefault(day.strftime("%Y-%m"), []).append(day.strftime("%d"))
    dates = "|".join(f"{month}-(?:{'|'.join(days)})" for month, days in months.items())
    schema["pattern"] = f"^(?:{dates})$"


# What the OpenAPI document says of the texts checked by the functions above (schemathesis, in
# tests/reliability/test_intake_schema, checks that the document and these checks agree): a name is
# one line, trimmed, of 2 or more characters; notes hold no character the text rule refuses; a phone
# is 10 digits (or 11 starting with 1) among separators. The spaces are the Unicode White_Space that
# pydantic's strip_whitespace removes; a phone's separators are those the text rule takes.
WHITE_SPACE = (
    " \t\n\x0b\x0c\r\x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)
_SPACES = "".join(f"\\u{ord(c):04x}" for c in WHITE_SPACE)
_PHONE_SPACES = "".join(f"\\u{ord(c):04x}" for c in WHITE_SPACE if text.refusal(c) is None)
_PHONE_SEPARATOR = f"[{_PHONE_SPACES}().+-]"


def _character_class(ranges: tuple[tuple[int, int], ...]) -> str:
    """Ranges of code points as the inside of a regex character class: \\uXXXX escapes in the Basic
    Multilingual Plane (JSON Schema's and Python's regexes both read them), the characters themselves
    beyond it."""

    def one(code: int) -> str:
        return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)

    return "".join(one(first) if first == last else f"{one(first)}-{one(last)}" for first, last in ranges)


def _document_one_line(schema: dict[str, Any]) -> None:
    refused = _character_class(text.refused_ranges())
    edge = f"[^{refused}{_SPACES}]"
    schema["pattern"] = f"^[{_SPACES}]*{edge}[^{refused}]*{edge}[{_SPACES}]*$"


def _document_multi_line(schema: dict[str, Any]) -> None:
    schema["pattern"] = f"^[^{_character_class(text.refused_ranges(multiline=True))}]*$"


_SEPARATORS = f"{_PHONE_SEPARATOR}*"
_AREA_OR_EXCHANGE = f"[2-9](?:{_SEPARATORS}[0-9]){{2}}"
US_PHONE_PATTERN = (
    f"^{_SEPARATORS}(?:1{_SEPARATORS})?{_AREA_OR_EXCHANGE}{_SEPARATORS}{_AREA_OR_EXCHANGE}"
    f"(?:{_SEPARATORS}[0-9]){{4}}{_SEPARATORS}$"
)


def _sendable(address: str) -> str:
    """SES sends to 7-bit ASCII addresses only: a domain in Unicode goes out in Punycode
    (mail.render.ascii_address), a local part in Unicode cannot go at all."""
    if not address.partition("@")[0].isascii():
        raise PydanticCustomError(
            "email_not_ascii", "must have only ASCII characters before the @: we cannot send mail to it"
        )
    return address


def _document_email(schema: dict[str, Any]) -> None:
    """email_validator refuses addresses at special-use names (.test, .local, ...), even undelivered.
    Imported here, when the document is made: validation imports it when first building the models."""
    import email_validator

    special_use = "|".join(re.escape(name) for name in email_validator.SPECIAL_USE_DOMAIN_NAMES)
    schema["pattern"] = f"^(?!.*[@.](?:{special_use})$)"


SingleLine = Annotated[
    str,
    BeforeValidator(_one_line),
    StringConstraints(strip_whitespace=True, min_length=2, max_length=200),
    Field(json_schema_extra=_document_one_line),
]
UsState = Annotated[
    str,
    BeforeValidator(_upper_state),
    AfterValidator(_known_state),
    Field(
        json_schema_extra={
            "enum": sorted(US_STATES),
            "description": "USPS code of a state or DC (lower case is read too)",
        }
    ),
]
UsPhone = Annotated[
    str,
    BeforeValidator(_us_phone_e164),
    Field(json_schema_extra={"pattern": US_PHONE_PATTERN, "description": "US phone number; stored as E.164"}),
]
Email = Annotated[
    EmailStr,
    BeforeValidator(_text),
    AfterValidator(_sendable),
    Field(json_schema_extra=_document_email),
]


@dataclass(frozen=True)
class WholeNumber:
    """A count between `ge` and `le`, read as JSON Schema reads `"type": "integer"`: any number whose
    fraction is zero. 270.0 (or 2.7e2) is the integer 270; 270.5, true and "270" are refused.

    Why accept 270.0 rather than refuse it: the OpenAPI document cannot say "integer, but not 270.0",
    since in JSON Schema 270.0 *is* an integer and there is no keyword excluding it. Refusing it made
    the document and the validator disagree (clients and schemathesis, ST202, generate 270.0 from a
    document that allows it). JSON has one number type; many encoders write whole floats as 270.0.

    A number too large for a float arrives as +-inf (intake.http reads an integer too long for int()
    that way too): it is out of range, and answered with the bound it breaks, as 10**30 is.
    """

    ge: int
    le: int

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        counted = core_schema.int_schema(strict=True, ge=self.ge, le=self.le)
        return core_schema.no_info_before_validator_function(self._whole, counted)

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        document = handler(schema)
        document["description"] = "A whole number; a number with a zero fraction (3.0) counts as one (3)."
        return document

    def _whole(self, value: object) -> object:
        if not isinstance(value, float):
            return value
        if value == math.inf:
            raise PydanticKnownError("less_than_equal", {"le": self.le})
        if value == -math.inf:
            raise PydanticKnownError("greater_than_equal", {"ge": self.ge})
        return int(value) if value.is_integer() else value


Count = Annotated[int, WholeNumber(ge=0, le=500)]
MAX_BUDGET_MONTHLY = 100_000
Notes = Annotated[
    str,
    Field(max_length=2000, json_schema_extra=_document_multi_line),
    BeforeValidator(_multi_line),
]


class Contract(BaseModel):
    """Exactly the fields documented (others are errors); validated values never change.

    Validators are built at first use (defer_build), not at import: intake's cold start then pays
    for pydantic's import only, and a request is validated the moment its body is read."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _readable_keys(cls, data: Any) -> Any:
        """pydantic cannot read a key holding a lone surrogate (JSON's "\\ud800"): it would answer
        "unable to parse raw data as a unicode string" for the whole object. With U+FFFD in its
        place the key is named, as a field this request does not have."""
        if isinstance(data, dict) and not all(isinstance(k, str) and k.isascii() for k in data):
            return {text.unicode_safe(k) if isinstance(k, str) else k: v for k, v in data.items()}
        return data


class Clinic(Contract):
    name: SingleLine
    # The document's "uri" format already leaves out every character the text rule refuses.
    website: (
        Annotated[
            HttpUrl, BeforeValidator(_text), Field(json_schema_extra={"pattern": "^[Hh][Tt][Tt][Pp][Ss]?://"})
        ]
        | None
    ) = None


class Contact(Contract):
    name: SingleLine
    email: Email
    phone: UsPhone


class Supervisees(Contract):
    np: Count
    pa: Count


class QuoteRequest(Contract):
    """Body of POST /quote-requests (contract v1.1: v1 and the optional budget_monthly)."""

    clinic: Clinic
    contact: Contact
    states: Annotated[
        list[UsState], Field(min_length=1, max_length=51, json_schema_extra={"uniqueItems": True})
    ]
    modalities: Annotated[
        list[Modality],
        Field(min_length=1, max_length=len(Modality), json_schema_extra={"uniqueItems": True}),
    ]
    supervisees: Supervisees
    locations: Annotated[int, WholeNumber(ge=1, le=500)]
    controlled_substances: StrictBool
    malpractice: Malpractice = "no_preference"
    # The most the clinic will pay its director(s) a month, whole US dollars; directors above it are
    # not offered. Absent: every fee is quoted.
    budget_monthly: Annotated[int, WholeNumber(ge=1, le=MAX_BUDGET_MONTHLY)] | None = None
    start_by: Annotated[date, BeforeValidator(_iso_day), Field(json_schema_extra=_document_start_window)]
    notes: Notes | None = None
    consent: Annotated[StrictBool, Field(json_schema_extra={"const": True})]

    @field_validator("states", "modalities")
    @classmethod
    def _listed_once(cls, values: list[Any]) -> list[Any]:
        return _unique(values)

    @field_validator("start_by")
    @classmethod
    def _within_window(cls, day: date, info: ValidationInfo) -> date:
        """ "Today" comes from the validation context's "now" when given (tests move it)."""
        first, last = start_window((info.context or {}).get("now"))
        if day < first:
            raise PydanticCustomError("date_too_early", "must be today or later")
        if day > last:
            raise PydanticCustomError("date_too_late", f"must be within {MAX_DAYS_AHEAD} days from today")
        return day

    @field_validator("consent")
    @classmethod
    def _consented(cls, consent: bool) -> bool:
        return consent_given(consent, "share the request with physicians")


def consent_given(consent: bool, to: str) -> bool:
    """A form's consent, which must be given; `to` says what it allows."""
    if not consent:
        raise PydanticCustomError(
            "consent_required", "must be true: we need your consent to {to}", {"to": to}
        )
    return consent


class QuoteAccepted(BaseModel):
    """Body of the 201 answer."""

    model_config = ConfigDict(defer_build=True)

    request_id: Annotated[str, Field(description="The request's id (a ULID)")]
    reference: Annotated[
        str,
        Field(
            description="The code the clinic quotes, as its emails and status page show it",
            examples=["DM-4F7K-92Q5"],
            json_schema_extra={"pattern": "^DM-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$"},
        ),
    ]
    status: Literal["NEW"] = "NEW"
    status_url: Annotated[
        str, Field(description="The signed link to the request's status page (also the Location header)")
    ]


class FieldError(BaseModel):
    """One problem: the field as a dotted path ("contact.email", "states.1", "Idempotency-Key"), the
    message, and what clients key their own wording on: pydantic's error type and the limit broken."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    field: str
    message: str
    type: str | None = None
    limit: int | None = None


class ErrorBody(BaseModel):
    """Body of every answer but 201."""

    model_config = ConfigDict(defer_build=True)

    errors: list[FieldError]


def build_validators() -> None:
    """Build now what defer_build leaves to the first request (validators, email_validator's import).
    Intake runs it before Lambda takes its SnapStart snapshot, so every restored copy starts built."""
    for model in (QuoteRequest, QuoteAccepted, ErrorBody):
        model.model_rebuild(force=True)


def register_before_snapshot() -> bool:
    """Have Lambda's runtime build the validators before the snapshot; False outside Lambda."""
    return snapstart.register("register_before_snapshot", build_validators)


def field_errors(errors: Sequence[Any]) -> list[FieldError]:
    """pydantic's errors (`ValidationError.errors(include_input=False)`) as FieldErrors, which never
    carry the input."""
    return [_field_error(error) for error in errors]


LIMITS = ("ge", "le", "min_length", "max_length")
# Names a field path may hold besides the contract's own fields.
OTHER_PATH_NAMES = frozenset({"body", "content-type", "Idempotency-Key"})


QUOTE_MODELS: tuple[type[BaseModel], ...] = (QuoteRequest, Clinic, Contact, Supervisees)


def loggable_field(path: str, models: Sequence[type[BaseModel]] = QUOTE_MODELS) -> str:
    """The field path as a log may carry it. A key the client chose (an unknown or repeated field)
    could be anything, an email address included, so only the names `models` declare and positions
    are kept."""
    declared = OTHER_PATH_NAMES.union(*(model.model_fields for model in models))
    return path if all(part.isdigit() or part in declared for part in path.split(".")) else "(undeclared)"


def _field_error(error: Any) -> FieldError:
    field = ".".join(str(part) for part in error["loc"]) or "body"
    if error["type"] == "extra_forbidden":
        message = "is not a field of this request"
    elif error["type"] == "missing":
        message = "is required"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
    ctx = error.get("ctx") or {}
    limit = next((ctx[key] for key in LIMITS if isinstance(ctx.get(key), int)), None)
    return FieldError(field=field, message=message, type=error["type"], limit=limit)
