"""A director as the roster (and an application to join) knows them, and the Directors-table
items that represent them.

One PROFILE item (everything, including contact details), one LICENSE#<state> item per state
license and one DEA#<state> item per DEA registration. LICENSE items also carry the profile
fields the hard filters and the score need, so the matcher reads only the ByState index
(one item per director per requested state) and never a profile.
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from directormatch import keys
from directormatch.intake.contract import Email, UsPhone
from directormatch.vocabulary import US_STATES, Modality

# Opaque, stable director ids derived from the NPI, so re-importing a roster updates in place.
DIRECTOR_ID_NAMESPACE = uuid.UUID("6f1d3c2a-5b7e-4a8e-9c1d-2f4b6a8c0e13")
NPI_LUHN_PREFIX = "80840"


class Specialty(StrEnum):
    FAMILY_MEDICINE = "family_medicine"
    INTERNAL_MEDICINE = "internal_medicine"
    EMERGENCY_MEDICINE = "emergency_medicine"
    DERMATOLOGY = "dermatology"
    PLASTIC_SURGERY = "plastic_surgery"
    PSYCHIATRY = "psychiatry"
    ANESTHESIOLOGY = "anesthesiology"
    OBSTETRICS_GYNECOLOGY = "obstetrics_gynecology"
    ENDOCRINOLOGY = "endocrinology"
    UROLOGY = "urology"
    OBESITY_MEDICINE = "obesity_medicine"
    ADDICTION_MEDICINE = "addiction_medicine"
    HOSPICE_PALLIATIVE = "hospice_palliative"
    PAIN_MEDICINE = "pain_medicine"


class LicenseStatus(StrEnum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"
    EXPIRED = "EXPIRED"
    SUSPENDED = "SUSPENDED"
    REVOKED = "REVOKED"


def npi_is_valid(npi: str) -> bool:
    """10 digits whose Luhn check, computed over the 80840 prefix plus the digits, holds (CMS rule)."""
    if not re.fullmatch(r"\d{10}", npi):
        return False
    digits = [int(d) for d in NPI_LUHN_PREFIX + npi]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def npi_check_digit(first_nine: str) -> str:
    """The 10th digit that makes `first_nine` a valid NPI (used by the synthetic roster)."""
    for candidate in "0123456789":
        if npi_is_valid(first_nine + candidate):
            return candidate
    raise ValueError("no check digit")  # unreachable for 9 digits


def dea_is_valid(number: str) -> bool:
    """Two letters and seven digits; the last digit is the DEA checksum of the first six."""
    match = re.fullmatch(r"[A-Z][A-Z9](\d{7})", number)
    if not match:
        return False
    d = [int(c) for c in match.group(1)]
    checksum = (d[0] + d[2] + d[4]) + 2 * (d[1] + d[3] + d[5])
    return checksum % 10 == d[6]


def _npi(value: str) -> str:
    if not npi_is_valid(value):
        raise ValueError("NPI must be 10 digits passing the Luhn check over the 80840 prefix")
    return value


def _state(value: str) -> str:
    if value not in US_STATES:
        raise ValueError(f"'{value}' is not a USPS code of a US state or DC")
    return value


def _dea(value: str) -> str:
    if not dea_is_valid(value):
        raise ValueError(f"'{value}' is not a valid DEA number (2 letters, 7 digits, check digit)")
    return value


def _iso_date(value: object) -> object:
    """A date object, or text written YYYY-MM-DD: pydantic alone would also read a number as a day."""
    if isinstance(value, date) or (isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)):
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


UsState = Annotated[str, AfterValidator(_state)]
Npi = Annotated[str, AfterValidator(_npi)]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class LicenseEntry(BaseModel):
    """A state license as its holder states it (an application); ops verify it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    state: UsState
    number: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{3,20}$")]
    expires_on: IsoDate


class StateLicense(LicenseEntry):
    """A state license as the roster holds it, with the status ops verified."""

    status: LicenseStatus = LicenseStatus.ACTIVE


class DeaRegistration(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    state: UsState
    number: Annotated[str, AfterValidator(_dea)]
    expires_on: IsoDate


class Supervision(BaseModel):
    """NPs and PAs a director already supervises or collaborates with in one state."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    state: UsState
    np: int = Field(default=0, ge=0, le=500)
    pa: int = Field(default=0, ge=0, le=500)


# Highest monthly amounts (whole US dollars) a schedule may name: several times the published market
# rates (docs/fees.md), so a typo such as an annual figure or an extra zero is refused.
FEE_MAXIMUM: dict[str, int] = {
    "base": 15_000,
    "per_np": 5_000,
    "per_pa": 5_000,
    "per_additional_state": 10_000,
    "per_additional_location": 10_000,
    "controlled_premium": 5_000,
    "chart_review_fee": 10_000,
}
MAX_CHART_REVIEW_PERCENT = 100


class Fees(BaseModel):
    """A director's monthly fee schedule (directormatch.records.FeeSchedule as the roster reads it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base: int = Field(ge=0, le=FEE_MAXIMUM["base"])
    per_np: int = Field(default=0, ge=0, le=FEE_MAXIMUM["per_np"])
    per_pa: int = Field(default=0, ge=0, le=FEE_MAXIMUM["per_pa"])
    per_additional_state: int = Field(default=0, ge=0, le=FEE_MAXIMUM["per_additional_state"])
    per_additional_location: int = Field(default=0, ge=0, le=FEE_MAXIMUM["per_additional_location"])
    controlled_premium: int = Field(default=0, ge=0, le=FEE_MAXIMUM["controlled_premium"])
    chart_review_percent: int | None = Field(default=None, ge=1, le=MAX_CHART_REVIEW_PERCENT)
    chart_review_fee: int | None = Field(default=None, ge=0, le=FEE_MAXIMUM["chart_review_fee"])

    @model_validator(mode="after")
    def _chart_review_whole(self) -> Fees:
        if (self.chart_review_percent is None) != (self.chart_review_fee is None):
            raise ValueError("chart_review_percent and chart_review_fee go together: give both or neither")
        return self


# The fee schedule as flat fields (roster CSV columns, the application form's fields) -> Fees' fields:
# "fee_base" for base, the chart review's as they are.
FEE_COLUMNS: dict[str, str] = {
    (name if name.startswith("chart_review") else f"fee_{name}"): name for name in Fees.model_fields
}


class Director(BaseModel):
    """One roster row: the source of truth that the Directors-table items are built from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    npi: Npi
    first_name: Name
    last_name: Name
    email: Email  # the quote form's: the text rule, and an address SES can send to
    phone: UsPhone | None = None  # the quote form's rule; stored as E.164, shown in introductions
    specialties: list[Specialty] = Field(min_length=1)
    modalities: list[Modality] = Field(min_length=1)
    modality_years: dict[Modality, int] = Field(default_factory=dict)
    max_clinics: int = Field(ge=0, le=50)
    active_clinics: int = Field(default=0, ge=0, le=50)
    active: bool = True
    paused: bool = False
    excluded: bool = False  # on the OIG LEIE or SAM.gov exclusion lists
    malpractice_per_claim: int = Field(default=0, ge=0)
    malpractice_aggregate: int = Field(default=0, ge=0)
    response_rate: float | None = Field(default=None, ge=0, le=1)
    median_response_hours: float | None = Field(default=None, ge=0)
    licenses: list[StateLicense] = Field(min_length=1)
    dea: list[DeaRegistration] = Field(default_factory=list)
    supervising: list[Supervision] = Field(default_factory=list)
    fees: Fees | None = None  # no schedule on file: not priced in quotes

    @model_validator(mode="after")
    def _consistent(self) -> Director:
        for name, states in (
            ("licenses", [lic.state for lic in self.licenses]),
            ("dea", [reg.state for reg in self.dea]),
            ("supervising", [sup.state for sup in self.supervising]),
        ):
            if len(states) != len(set(states)):
                raise ValueError(f"{name} lists a state more than once")
        return self

    @property
    def director_id(self) -> str:
        return director_id_for(self.npi)


def director_id_for(npi: str) -> str:
    return "D" + uuid.uuid5(DIRECTOR_ID_NAMESPACE, npi).hex[:20]


def _filter_fields(director: Director) -> dict[str, Any]:
    """Profile fields the matcher needs, copied onto every LICENSE item."""
    return {
        "modalities": sorted(m.value for m in director.modalities),
        "modality_years": {m.value: years for m, years in director.modality_years.items()},
        "specialties": sorted(s.value for s in director.specialties),
        "max_clinics": director.max_clinics,
        "active_clinics": director.active_clinics,
        "active": director.active,
        "paused": director.paused,
        "excluded": director.excluded,
        "malpractice_per_claim": director.malpractice_per_claim,
        "malpractice_aggregate": director.malpractice_aggregate,
        "response_rate": director.response_rate,
        "median_response_hours": director.median_response_hours,
        "licensed_states": sorted(lic.state for lic in director.licenses),
        "fees": director.fees.model_dump(exclude_none=True) if director.fees else None,
    }


def director_items(director: Director) -> list[dict[str, Any]]:
    """PROFILE, LICENSE#<state> and DEA#<state> items (None values are left out when stored)."""
    director_id = director.director_id
    shared = _filter_fields(director)
    dea_by_state = {reg.state: reg for reg in director.dea}
    supervision = {sup.state: sup for sup in director.supervising}
    profile = {
        "pk": director_id,
        "sk": keys.PROFILE_SK,
        "director_id": director_id,
        "npi": director.npi,
        "first_name": director.first_name,
        "last_name": director.last_name,
        "email": str(director.email),
        "phone": director.phone,
        **shared,
        "dea_states": sorted(dea_by_state),
    }
    items = [profile]
    for lic in director.licenses:
        dea = dea_by_state.get(lic.state)
        sup = supervision.get(lic.state)
        items.append(
            {
                "pk": director_id,
                "sk": keys.LICENSE(lic.state),
                "license_state": lic.state,
                "license_number": lic.number,
                "license_status": lic.status.value,
                "license_expires_on": lic.expires_on.isoformat(),
                **_expiry_index(lic.expires_on),
                "dea_expires_on": dea.expires_on.isoformat() if dea else None,
                "supervising_np": sup.np if sup else 0,
                "supervising_pa": sup.pa if sup else 0,
                **shared,
            }
        )
    for reg in director.dea:
        items.append(
            {
                "pk": director_id,
                "sk": keys.DEA(reg.state),
                "dea_state": reg.state,
                "dea_number": reg.number,
                "dea_expires_on": reg.expires_on.isoformat(),
                **_expiry_index(reg.expires_on),
            }
        )
    return items


def _expiry_index(expires_on: date) -> dict[str, str]:
    """Keys of the ByExpiryMonth index, which the sweep reads to warn before a license or DEA lapses."""
    return {"expiry_month": f"{expires_on:%Y-%m}", "expires_on": expires_on.isoformat()}
