"""What an introduction tells the clinic and its director(s) together: who each director is, which
states they cover, their agreed fee, and the whole fee for a team (pure: the sender reads the records)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from directormatch.mail.labels import (
    count,
    modality_label,
    monthly_fee,
    specialty_label,
    supervision,
    us_phone,
)
from directormatch.records import Profile, Request


@dataclass(frozen=True)
class IntroducedDirector:
    """One accepting director: their PROFILE, the states they cover for the clinic, the fee their
    accepted offer agreed (None for a director without a fee schedule) and, of their LICENSE items,
    the numbers on file for those states."""

    profile: Profile
    states: Sequence[str]
    fee_monthly: int | None
    license_numbers: Mapping[str, str]

    def years_in(self, modalities: Sequence[str]) -> list[tuple[str, int]]:
        """(service, years of experience) for each of the clinic's services the director has years on."""
        years = self.profile.modality_years
        return [(modality, int(years[modality])) for modality in modalities if modality in years]


@dataclass(frozen=True)
class Introduction:
    directors: Sequence[IntroducedDirector]

    @property
    def team(self) -> bool:
        return len(self.directors) > 1

    @property
    def total_fee(self) -> int | None:
        """What the clinic pays a month in all; None when any director's fee is still to agree."""
        fees = [director.fee_monthly for director in self.directors]
        return None if None in fees else sum(fee for fee in fees if fee is not None)

    def addresses(self, clinic_address: str) -> list[str]:
        """The clinic's contact first, then each director, each address once."""
        return list(dict.fromkeys([clinic_address, *(d.profile.email for d in self.directors)]))


Rows = list[tuple[str, str]]


def clinic_rows(request: Request) -> Rows:
    """What the director needs to know of the clinic, as (label, value) lines; the notes, the clinic's
    own words, go below them."""
    clinic, contact = request.clinic, request.contact
    return _filled(
        ("Clinic", clinic.name),
        ("Website", clinic.website or ""),
        ("Contact", contact.name),
        ("Email", contact.email),
        ("Phone", us_phone(contact.phone)),
        ("States", ", ".join(request.states)),
        ("Services", ", ".join(modality_label(m) for m in request.modalities)),
        ("Supervision", supervision(request.supervisees)),
        ("Locations", str(request.locations)),
        ("Controlled substances", "yes" if request.controlled_substances else "no"),
        ("Start by", str(request.start_by)),
    )


def director_rows(director: IntroducedDirector, modalities: Sequence[str], team: bool) -> Rows:
    """Who the director is for the clinic, as (label, value) lines: a team member's states first."""
    profile = director.profile
    experience = (f"{modality_label(m)} {_years(years)}" for m, years in director.years_in(modalities))
    licenses = (
        f"{state} {director.license_numbers.get(state, '(number to confirm)')}" for state in director.states
    )
    return _filled(
        ("Covers", ", ".join(director.states) if team else ""),
        ("Specialty", ", ".join(specialty_label(s) for s in profile.specialties)),
        ("Experience", ", ".join(experience)),
        ("Licenses", ", ".join(licenses)),
        ("Email", profile.email),
        ("Phone", us_phone(profile.phone)),
        ("Monthly fee", monthly_fee(director.fee_monthly)),
    )


def _filled(*rows: tuple[str, str]) -> Rows:
    return [(label, value) for label, value in rows if value]


def _years(years: int) -> str:
    return "under a year" if years < 1 else count(years, "year")
