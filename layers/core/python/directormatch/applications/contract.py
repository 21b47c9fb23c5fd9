"""A physician's application to join (POST /director-applications), validated as the roster import
validates a row: the roster's own models (directormatch.directors: NPI Luhn, USPS states, license and
DEA numbers, dates, the fee schedule) inside the API contract's conventions (directormatch.intake.contract:
the text rule, US phones, sendable emails, errors typed per field).

An application becomes a PENDING director: the roster's items (PROFILE, LICENSE#, DEA#), inactive
until ops approve it, so the matcher never offers it work.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from pydantic import Field, StrictBool, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from directormatch import keys
from directormatch.directors import (
    DeaRegistration,
    Director,
    Fees,
    LicenseEntry,
    Npi,
    Specialty,
    director_items,
)
from directormatch.errors import ApplicationInvalid
from directormatch.intake.contract import (
    Contract,
    Email,
    FieldError,
    SingleLine,
    UsPhone,
    WholeNumber,
    consent_given,
    field_errors,
)
from directormatch.vocabulary import US_STATES, ApplicationStatus, Modality

MAX_CLINICS = 50
# Coverage beyond any policy written for one physician: a typo (an extra zero), not a policy.
MAX_MALPRACTICE = 50_000_000
# A license renews every one to three years; further ahead is a typo.
MAX_YEARS_AHEAD = 10
# PROFILE, the licenses and the DEA registrations are written in one transaction (100 items at most).
MAX_REGISTRATIONS = 99

Dollars = Annotated[int, WholeNumber(ge=0, le=MAX_MALPRACTICE)]


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


class DirectorApplication(Contract):
    """Body of POST /director-applications."""

    first_name: SingleLine
    last_name: SingleLine
    npi: Npi
    email: Email
    phone: UsPhone
    specialties: Annotated[list[Specialty], Field(min_length=1, max_length=len(Specialty))]
    licenses: Annotated[list[LicenseEntry], Field(min_length=1, max_length=len(US_STATES))]
    dea: Annotated[list[DeaRegistration], Field(default_factory=list, max_length=len(US_STATES))]
    modalities: Annotated[list[Modality], Field(min_length=1, max_length=len(Modality))]
    max_clinics: Annotated[int, WholeNumber(ge=1, le=MAX_CLINICS)]
    fees: Fees | None = None
    malpractice_per_claim: Dollars
    malpractice_aggregate: Dollars
    consent: Annotated[StrictBool, Field(json_schema_extra={"const": True})]

    @model_validator(mode="before")
    @classmethod
    def _codes_in_capitals(cls, data: Any) -> Any:
        """People type "tx" and "ab1234563"; the roster's models take the codes in capitals."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name in ("licenses", "dea"):
            if isinstance(data.get(name), list):
                data[name] = [_entry_in_capitals(entry, name == "dea") for entry in data[name]]
        return data

    @field_validator("specialties", "modalities")
    @classmethod
    def _listed_once(cls, values: list[Any]) -> list[Any]:
        repeated = sorted(str(v) for v, count in Counter(values).items() if count > 1)
        if repeated:
            raise PydanticCustomError(
                "duplicates", "listed more than once: {repeated}", {"repeated": ", ".join(repeated)}
            )
        return values

    @field_validator("licenses", "dea")
    @classmethod
    def _one_per_state(cls, entries: list[Any]) -> list[Any]:
        cls._listed_once([entry.state for entry in entries])
        return entries

    @field_validator("consent")
    @classmethod
    def _consented(cls, consent: bool) -> bool:
        return consent_given(consent, "verify your licenses and send you offers")

    def problems(self, today: date) -> list[FieldError]:
        """What the fields allow one by one but not together, or not today: a DEA registration in a
        state without a license, more registrations than one write takes, an aggregate limit below the
        per-claim one, a license or registration expired (or dated further ahead than any renews)."""
        found: list[FieldError] = []
        licensed = {lic.state for lic in self.licenses}
        for n, reg in enumerate(self.dea):
            if reg.state not in licensed:
                found.append(
                    _problem(f"dea.{n}.state", "no_license", f"{reg.state} is not among your licenses")
                )
        if len(self.licenses) + len(self.dea) > MAX_REGISTRATIONS:
            message = (
                f"at most {MAX_REGISTRATIONS} licenses and DEA registrations together; send ops the rest"
            )
            found.append(_problem("dea", "too_many_registrations", message))
        if self.malpractice_aggregate < self.malpractice_per_claim:
            message = "cannot be less than the per-claim limit"
            found.append(_problem("malpractice_aggregate", "aggregate_below_per_claim", message))
        last = today + timedelta(days=365 * MAX_YEARS_AHEAD)
        dated: tuple[tuple[str, Sequence[LicenseEntry | DeaRegistration]], ...] = (
            ("licenses", self.licenses),
            ("dea", self.dea),
        )
        for name, entries in dated:
            for n, entry in enumerate(entries):
                where = f"{name}.{n}.expires_on"
                if entry.expires_on <= today:
                    found.append(_problem(where, "date_too_early", "must be after today: it has expired"))
                elif entry.expires_on > last:
                    found.append(_problem(where, "date_too_late", f"must be within {MAX_YEARS_AHEAD} years"))
        return found

    def director(self) -> Director:
        """The roster's Director for this application (the fields both have): inactive until ops
        approve it; its licenses ACTIVE as stated, for ops to verify."""
        shared = set(Director.model_fields) & set(type(self).model_fields)
        return Director.model_validate({**self.model_dump(include=shared), "active": False})

    def body_hash(self) -> str:
        """The validated answers' hash: the same application sent twice is one application."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def items(self, now: datetime) -> list[dict[str, Any]]:
        """The Directors-table items of the PENDING director, as the roster import writes a director's."""
        items = director_items(self.director())
        profile = items[0]
        assert profile["sk"] == keys.PROFILE_SK
        profile.update(
            application_status=ApplicationStatus.PENDING.value,
            applied_at=now.isoformat(timespec="seconds"),
            application_hash=self.body_hash(),
        )
        return items


def _entry_in_capitals(entry: Any, dea: bool) -> Any:
    if not isinstance(entry, dict):
        return entry
    capitals = {"state": _upper(entry["state"])} if "state" in entry else {}
    if dea and "number" in entry:
        capitals["number"] = _upper(entry["number"])
    return {**entry, **capitals}


def _problem(field: str, type_: str, message: str) -> FieldError:
    return FieldError(field=field, message=message, type=type_)


class ApplicationAccepted(Contract):
    """Body of the 201 answer."""

    application_id: str
    status: ApplicationStatus = ApplicationStatus.PENDING


def validate_application(fields: Any, today: date) -> DirectorApplication:
    """The input as an application, or ApplicationInvalid listing every problem (field by field
    first; what holds across fields once each field is valid)."""
    try:
        application = DirectorApplication.model_validate(fields)
    except ValidationError as error:
        raise ApplicationInvalid(field_errors(error.errors(include_input=False, include_url=False))) from None
    problems = application.problems(today)
    if problems:
        raise ApplicationInvalid(problems)
    return application


# The models whose field names an application's error may name (in logs: intake.contract.loggable_field).
APPLICATION_MODELS = (DirectorApplication, LicenseEntry, DeaRegistration, Fees)
