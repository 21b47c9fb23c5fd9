"""A synthetic roster: plausible, reproducible directors (fake names at .example addresses) for the
local stack, the tests and the benchmarks (`python -m ops.roster generate`)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from directormatch.directors import (
    DeaRegistration,
    Director,
    Fees,
    LicenseStatus,
    Specialty,
    StateLicense,
    Supervision,
    director_items,
    npi_check_digit,
)
from directormatch.vocabulary import US_STATES, Modality

MIN_COUNT = 1
MAX_COUNT = 50_000
# The range the spreads below are tuned for; smaller rosters are allowed (tests use them).
REALISTIC_COUNT = (100, 50_000)
EMAIL_DOMAIN = "roster.directormatch.example"  # .example is reserved (RFC 2606): never deliverable
SYNTHETIC_AREA_CODES = ("512", "214", "602", "303", "305", "312", "404", "617", "702", "971")

STATES: tuple[str, ...] = tuple(sorted(US_STATES))
# Directors guaranteed per state to serve a basic request (aesthetics + weight_loss, DEA, long license).
GUARANTEED_PER_STATE = 3
# Licenses of guaranteed directors outlast the latest start date a request may ask for (365 days)
# plus the 30-day license margin of the matcher.
ELIGIBLE_HORIZON = timedelta(days=400)
MALPRACTICE_FLOOR = (1_000_000, 3_000_000)
# A director takes at most this many extra states for coverage before another director is used.
MAX_COVERAGE_STATES = 3
# Monthly fees in dollars as (low, high, most common); sources in docs/fees.md.
BASE_FEE = (600, 2_000, 900)
PER_SUPERVISEE_FEE = (100, 600, 250)
PER_STATE_FEE = (300, 1_500, 600)
PER_LOCATION_FEE = (150, 800, 300)
CONTROLLED_PREMIUM = (150, 1_000, 300)
CHART_REVIEW_FEE = (100, 600, 250)
CHART_REVIEW_SHARE = 0.4

# 2020 census population in millions: where directors live and practise.
STATE_POPULATION: dict[str, float] = {
    "AL": 5.0, "AK": 0.73, "AZ": 7.2, "AR": 3.0, "CA": 39.5, "CO": 5.8, "CT": 3.6, "DE": 1.0,
    "DC": 0.69, "FL": 21.5, "GA": 10.7, "HI": 1.46, "ID": 1.84, "IL": 12.8, "IN": 6.8, "IA": 3.2,
    "KS": 2.9, "KY": 4.5, "LA": 4.7, "ME": 1.36, "MD": 6.2, "MA": 7.0, "MI": 10.1, "MN": 5.7,
    "MS": 2.96, "MO": 6.15, "MT": 1.08, "NE": 1.96, "NV": 3.1, "NH": 1.38, "NJ": 9.3, "NM": 2.1,
    "NY": 20.2, "NC": 10.4, "ND": 0.78, "OH": 11.8, "OK": 3.96, "OR": 4.2, "PA": 13.0, "RI": 1.1,
    "SC": 5.1, "SD": 0.89, "TN": 6.9, "TX": 29.1, "UT": 3.3, "VT": 0.64, "VA": 8.6, "WA": 7.7,
    "WV": 1.8, "WI": 5.9, "WY": 0.58,
}  # fmt: skip

# Professionally active physicians (MDs and DOs) by state as (primary care, other specialties): KFF
# State Health Facts from Redi-Data, published 2021-09-22, "Primary Care Physicians by Field" and
# "Professionally Active Specialist Physicians by Field", https://www.kff.org/statedata/ (as listed
# by Becker's Hospital Review, September 2021). South Dakota's primary care count is KFF's of
# January 2024 (1,217): the 2021 listing repeats South Carolina's there. About 1.06 million in all.
ACTIVE_PHYSICIANS: dict[str, tuple[int, int]] = {
    "AL": (5_911, 6_732), "AK": (1_078, 833), "AZ": (8_761, 9_908), "AR": (3_648, 4_026),
    "CA": (54_824, 62_015), "CO": (7_486, 7_638), "CT": (7_147, 7_638), "DE": (1_596, 1_704),
    "DC": (3_263, 4_644), "FL": (28_175, 31_992), "GA": (12_865, 13_648), "HI": (1_935, 1_840),
    "ID": (1_778, 1_421), "IL": (23_041, 22_778), "IN": (8_295, 9_076), "IA": (4_867, 4_369),
    "KS": (4_205, 4_016), "KY": (5_532, 6_883), "LA": (6_740, 8_018), "ME": (2_550, 2_384),
    "MD": (11_226, 14_609), "MA": (16_052, 22_211), "MI": (19_350, 22_581), "MN": (9_060, 9_923),
    "MS": (3_345, 3_602), "MO": (9_980, 11_773), "MT": (1_184, 1_159), "NE": (2_931, 2_810),
    "NV": (3_131, 3_323), "NH": (2_093, 2_344), "NJ": (15_106, 17_104), "NM": (3_023, 3_086),
    "NY": (41_526, 55_232), "NC": (13_812, 16_162), "ND": (1_227, 962), "OH": (20_414, 24_869),
    "OK": (4_938, 4_988), "OR": (6_152, 6_438), "PA": (25_611, 29_070), "RI": (2_790, 2_875),
    "SC": (6_730, 7_006), "SD": (1_217, 977), "TN": (8_991, 10_781), "TX": (31_483, 36_714),
    "UT": (3_171, 4_031), "VT": (1_167, 1_286), "VA": (12_096, 13_189), "WA": (11_303, 11_592),
    "WV": (2_984, 3_035), "WI": (8_727, 9_725), "WY": (674, 567),
}  # fmt: skip
# Home states weighted like the physician workforce rather than the population (the scale bench's
# national roster): DC, MA and NY weigh more, and TX, FL and AZ less, than their residents.
PHYSICIAN_WEIGHTS: dict[str, float] = {state: float(sum(n)) for state, n in ACTIVE_PHYSICIANS.items()}

SPECIALTY_WEIGHTS: dict[Specialty, float] = {
    Specialty.FAMILY_MEDICINE: 22,
    Specialty.INTERNAL_MEDICINE: 18,
    Specialty.EMERGENCY_MEDICINE: 11,
    Specialty.DERMATOLOGY: 7,
    Specialty.PLASTIC_SURGERY: 5,
    Specialty.PSYCHIATRY: 7,
    Specialty.ANESTHESIOLOGY: 7,
    Specialty.OBSTETRICS_GYNECOLOGY: 6,
    Specialty.ENDOCRINOLOGY: 3,
    Specialty.UROLOGY: 2,
    Specialty.OBESITY_MEDICINE: 4,
    Specialty.ADDICTION_MEDICINE: 3,
    Specialty.HOSPICE_PALLIATIVE: 2,
    Specialty.PAIN_MEDICINE: 2,
}
SECOND_SPECIALTY_SHARE = 0.12

_M = Modality
# Chance that a director of a specialty offers each modality (dermatology -> aesthetics, etc.).
MODALITY_AFFINITY: dict[Specialty, dict[Modality, float]] = {
    Specialty.FAMILY_MEDICINE: {
        _M.WEIGHT_LOSS: 0.75, _M.PRIMARY_CARE: 0.8, _M.AESTHETICS: 0.55, _M.IV_THERAPY: 0.45,
        _M.HORMONE_THERAPY: 0.45, _M.URGENT_CARE: 0.4, _M.TELEHEALTH: 0.5, _M.MENTAL_HEALTH: 0.15,
        _M.ADDICTION_MEDICINE: 0.15, _M.HOSPICE: 0.1, _M.KETAMINE: 0.05,
    },
    Specialty.INTERNAL_MEDICINE: {
        _M.WEIGHT_LOSS: 0.75, _M.PRIMARY_CARE: 0.75, _M.AESTHETICS: 0.45, _M.IV_THERAPY: 0.4,
        _M.HORMONE_THERAPY: 0.4, _M.TELEHEALTH: 0.5, _M.URGENT_CARE: 0.2, _M.HOSPICE: 0.15,
        _M.ADDICTION_MEDICINE: 0.1, _M.KETAMINE: 0.05,
    },
    Specialty.EMERGENCY_MEDICINE: {
        _M.URGENT_CARE: 0.85, _M.IV_THERAPY: 0.7, _M.KETAMINE: 0.5, _M.AESTHETICS: 0.45,
        _M.WEIGHT_LOSS: 0.4, _M.TELEHEALTH: 0.3, _M.ADDICTION_MEDICINE: 0.15,
    },
    Specialty.DERMATOLOGY: {
        _M.AESTHETICS: 0.97, _M.WEIGHT_LOSS: 0.3, _M.TELEHEALTH: 0.3, _M.HORMONE_THERAPY: 0.1,
        _M.IV_THERAPY: 0.1,
    },
    Specialty.PLASTIC_SURGERY: {
        _M.AESTHETICS: 0.97, _M.WEIGHT_LOSS: 0.35, _M.IV_THERAPY: 0.15, _M.HORMONE_THERAPY: 0.15,
    },
    Specialty.PSYCHIATRY: {
        _M.MENTAL_HEALTH: 0.95, _M.KETAMINE: 0.7, _M.TELEHEALTH: 0.7, _M.ADDICTION_MEDICINE: 0.4,
        _M.WEIGHT_LOSS: 0.1,
    },
    Specialty.ANESTHESIOLOGY: {
        _M.KETAMINE: 0.8, _M.IV_THERAPY: 0.6, _M.AESTHETICS: 0.35, _M.WEIGHT_LOSS: 0.2, _M.OTHER: 0.1,
    },
    Specialty.OBSTETRICS_GYNECOLOGY: {
        _M.HORMONE_THERAPY: 0.8, _M.WEIGHT_LOSS: 0.5, _M.AESTHETICS: 0.45, _M.TELEHEALTH: 0.35,
        _M.PRIMARY_CARE: 0.3,
    },
    Specialty.ENDOCRINOLOGY: {_M.WEIGHT_LOSS: 0.9, _M.HORMONE_THERAPY: 0.85, _M.TELEHEALTH: 0.5},
    Specialty.UROLOGY: {
        _M.HORMONE_THERAPY: 0.85, _M.TELEHEALTH: 0.35, _M.WEIGHT_LOSS: 0.25, _M.AESTHETICS: 0.15,
    },
    Specialty.OBESITY_MEDICINE: {
        _M.WEIGHT_LOSS: 0.98, _M.TELEHEALTH: 0.6, _M.HORMONE_THERAPY: 0.4, _M.AESTHETICS: 0.3,
        _M.IV_THERAPY: 0.25,
    },
    Specialty.ADDICTION_MEDICINE: {
        _M.ADDICTION_MEDICINE: 0.95, _M.TELEHEALTH: 0.6, _M.MENTAL_HEALTH: 0.5, _M.KETAMINE: 0.25,
    },
    Specialty.HOSPICE_PALLIATIVE: {_M.HOSPICE: 0.95, _M.PRIMARY_CARE: 0.3, _M.TELEHEALTH: 0.3},
    Specialty.PAIN_MEDICINE: {
        _M.KETAMINE: 0.6, _M.IV_THERAPY: 0.4, _M.OTHER: 0.3, _M.ADDICTION_MEDICINE: 0.2,
    },
}  # fmt: skip

# How many states a director is licensed in: most one, some 2-4, a few 5-20 (interstate compact).
STATE_COUNT_BANDS: tuple[tuple[float, int, int], ...] = (
    (0.72, 1, 1),
    (0.20, 2, 4),
    (0.06, 5, 9),
    (0.02, 10, 20),
)
MAX_CLINICS_WEIGHTS: tuple[int, ...] = (8, 14, 16, 15, 12, 10, 8, 7, 5, 5)  # for 1..10
FULL_SHARE = 0.15
PAUSED_SHARE = 0.04
INACTIVE_SHARE = 0.02
EXCLUDED_SHARE = 0.01
NEW_DIRECTOR_SHARE = 0.08  # no response history yet
PRESCRIBER_SHARE = 0.9
DEA_PER_STATE_SHARE = 0.9
# (weight, per claim, aggregate): most meet $1M/$3M, some carry less, a few nothing on file.
MALPRACTICE: tuple[tuple[float, int, int], ...] = (
    (0.72, 1_000_000, 3_000_000),
    (0.10, 2_000_000, 4_000_000),
    (0.04, 2_000_000, 6_000_000),
    (0.07, 500_000, 1_500_000),
    (0.04, 250_000, 750_000),
    (0.03, 0, 0),
)

FIRST_NAMES = (
    "Avery", "Jordan", "Priya", "Mateo", "Grace", "Samuel", "Lena", "Omar", "Hannah", "Wei",
    "Isabel", "Marcus", "Nadia", "Theo", "Ruth", "Diego", "Aisha", "Connor", "Mei", "Elijah",
    "Sofia", "Kwame", "Yara", "Daniel", "Ingrid", "Rafael", "Chloe", "Arjun", "Leah", "Tomas",
)  # fmt: skip
LAST_NAMES = (
    "Okafor", "Lindqvist", "Ramirez", "Chen", "Patel", "Hughes", "Novak", "Bennett", "Haddad",
    "Kowalski", "Nguyen", "Fischer", "Abara", "Morales", "Sato", "Whitfield", "Iyer", "Brennan",
    "Delacroix", "Oyelaran", "Petrov", "Quinn", "Yamamoto", "Castillo", "Adeyemi", "Larsen",
    "Mbeki", "Sorensen", "Vargas", "Zhou",
)  # fmt: skip
LICENSE_PREFIXES = ("", "", "MD", "DO", "A", "C", "G", "L", "R")
DEA_REGISTRANT_TYPES = ("A", "B", "F", "F", "F")


# --- the synthetic roster ----------------------------------------------------------------------


@dataclass
class _Draft:
    """A director while being generated (mutable); becomes a Director at the end."""

    npi: str
    first_name: str
    last_name: str
    email: str
    specialties: list[Specialty]
    modalities: list[Modality]
    modality_years: dict[Modality, int]
    max_clinics: int
    active_clinics: int
    active: bool
    paused: bool
    excluded: bool
    malpractice_per_claim: int
    malpractice_aggregate: int
    response_rate: float | None
    median_response_hours: float | None
    licenses: dict[str, StateLicense] = field(default_factory=dict)
    dea: dict[str, DeaRegistration] = field(default_factory=dict)
    supervising: dict[str, Supervision] = field(default_factory=dict)

    def serves_basic_requests(self) -> bool:
        """Profile side of eligibility: available, offers aesthetics and weight loss, has room, insured."""
        return (
            self.active
            and not self.paused
            and not self.excluded
            and Modality.AESTHETICS in self.modalities
            and Modality.WEIGHT_LOSS in self.modalities
            and self.active_clinics < self.max_clinics
            and _insured(self.malpractice_per_claim, self.malpractice_aggregate)
        )

    def eligible_states(self, horizon: date) -> list[str]:
        if not self.serves_basic_requests():
            return []
        return [
            state
            for state, lic in self.licenses.items()
            if lic.status is LicenseStatus.ACTIVE
            and lic.expires_on >= horizon
            and state in self.dea
            and self.dea[state].expires_on >= horizon
            and _light_supervision(self.supervising.get(state))
        ]

    def director(self) -> Director:
        return Director(
            npi=self.npi,
            first_name=self.first_name,
            last_name=self.last_name,
            email=self.email,
            phone=synthetic_phone(self.npi),
            specialties=self.specialties,
            modalities=self.modalities,
            modality_years=self.modality_years,
            max_clinics=self.max_clinics,
            active_clinics=self.active_clinics,
            active=self.active,
            paused=self.paused,
            excluded=self.excluded,
            malpractice_per_claim=self.malpractice_per_claim,
            malpractice_aggregate=self.malpractice_aggregate,
            response_rate=self.response_rate,
            median_response_hours=self.median_response_hours,
            licenses=list(self.licenses.values()),
            dea=list(self.dea.values()),
            supervising=list(self.supervising.values()),
            fees=synthetic_fees(self.npi),
        )


def synthetic_phone(npi: str) -> str:
    """A number reserved for fiction (555-0100 to 555-0199), the same for the same NPI; drawn apart from
    the generator's random stream, so adding it changed no other value of the roster."""
    area = SYNTHETIC_AREA_CODES[int(npi) % len(SYNTHETIC_AREA_CODES)]
    return f"+1{area}55501{npi[-2:]}"


def synthetic_fees(npi: str) -> Fees:
    """A plausible monthly fee schedule (ranges and their sources: docs/fees.md).

    Drawn from its own generator seeded by the NPI, so fees leave every other draw of the roster as
    it was: the same seed gives the same directors with or without them.
    """
    rng = random.Random(f"fees:{npi}")

    def dollars(low: int, high: int, mode: int, step: int = 25) -> int:
        return round(rng.triangular(low, high, mode) / step) * step

    chart_review = rng.random() < CHART_REVIEW_SHARE
    return Fees(
        base=dollars(*BASE_FEE, step=50),
        per_np=dollars(*PER_SUPERVISEE_FEE),
        per_pa=dollars(*PER_SUPERVISEE_FEE),
        per_additional_state=dollars(*PER_STATE_FEE),
        per_additional_location=dollars(*PER_LOCATION_FEE),
        controlled_premium=dollars(*CONTROLLED_PREMIUM),
        chart_review_percent=rng.choice((5, 10, 15, 20)) if chart_review else None,
        chart_review_fee=dollars(*CHART_REVIEW_FEE) if chart_review else None,
    )


def _insured(per_claim: int, aggregate: int) -> bool:
    return per_claim >= MALPRACTICE_FLOOR[0] and aggregate >= MALPRACTICE_FLOOR[1]


def _light_supervision(sup: Supervision | None) -> bool:
    """Room for a basic request's NPs/PAs under every state's ratio (the tightest allows 4)."""
    return sup is None or (sup.np <= 1 and sup.pa <= 1)


def _weighted(rng: random.Random, weights: dict[Any, float]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()), k=1)[0]


def _weighted_sample(rng: random.Random, weights: dict[str, float], k: int) -> list[str]:
    """k distinct keys, drawn one by one in proportion to their weights."""
    pool = dict(weights)
    chosen: list[str] = []
    for _ in range(min(k, len(pool))):
        pick = _weighted(rng, pool)
        chosen.append(pick)
        del pool[pick]
    return chosen


def _band(rng: random.Random, bands: tuple[tuple[float, int, int], ...]) -> int:
    low, high = rng.choices([(lo, hi) for _, lo, hi in bands], weights=[w for w, _, _ in bands], k=1)[0]
    return rng.randint(low, high)


def _npi(rng: random.Random, taken: set[str]) -> str:
    while True:
        first_nine = f"{rng.choice('12')}{rng.randrange(10**8):08d}"
        npi = first_nine + npi_check_digit(first_nine)
        if npi not in taken:
            taken.add(npi)
            return npi


def dea_number(registrant_type: str, last_name: str, six_digits: str) -> str:
    """A DEA number: registrant type, last-name initial, six digits and their check digit."""
    d = [int(c) for c in six_digits]
    check = ((d[0] + d[2] + d[4]) + 2 * (d[1] + d[3] + d[5])) % 10
    initial = last_name[:1].upper() if last_name[:1].isalpha() else "9"
    return f"{registrant_type}{initial}{six_digits}{check}"


def _license(rng: random.Random, state: str, today: date, home: bool) -> StateLicense:
    number = f"{rng.choice(LICENSE_PREFIXES)}{rng.randint(10_000, 9_999_999)}"
    roll = rng.random()
    lapse_share = 0.02 if home else 0.06
    if roll < lapse_share:  # lapsed: the board says EXPIRED, or the date has passed unrenewed
        status = LicenseStatus.EXPIRED if rng.random() < 0.6 else LicenseStatus.ACTIVE
        expires = today - timedelta(days=rng.randint(1, 400))
    elif roll < lapse_share + 0.01:
        status = rng.choice((LicenseStatus.INACTIVE, LicenseStatus.INACTIVE, LicenseStatus.SUSPENDED))
        expires = today + timedelta(days=rng.randint(30, 700))
    elif roll < lapse_share + 0.01 + 0.06:  # renewal due within 60 days
        status = LicenseStatus.ACTIVE
        expires = today + timedelta(days=rng.randint(1, 60))
    else:
        status = LicenseStatus.ACTIVE
        expires = today + timedelta(days=rng.randint(61, 1100))
    return StateLicense(state=state, number=number, status=status, expires_on=expires)


def _dea(rng: random.Random, state: str, last_name: str, today: date) -> DeaRegistration:
    number = dea_number(rng.choice(DEA_REGISTRANT_TYPES), last_name, f"{rng.randrange(10**6):06d}")
    roll = rng.random()
    if roll < 0.02:
        expires = today - timedelta(days=rng.randint(1, 200))
    elif roll < 0.05:
        expires = today + timedelta(days=rng.randint(1, 60))
    else:
        expires = today + timedelta(days=rng.randint(61, 1095))
    return DeaRegistration(state=state, number=number, expires_on=expires)


def _modalities(rng: random.Random, specialties: list[Specialty]) -> list[Modality]:
    chance: dict[Modality, float] = {}
    for specialty in specialties:
        for modality, p in MODALITY_AFFINITY[specialty].items():
            chance[modality] = max(chance.get(modality, 0.0), p)
    offered = [m for m in Modality if m in chance and rng.random() < chance[m]]
    if not offered:
        offered = [max(chance, key=lambda m: chance[m])]
    return offered


def _draft(
    rng: random.Random, n: int, today: date, npis: set[str], state_weights: dict[str, float]
) -> _Draft:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    primary = _weighted(rng, SPECIALTY_WEIGHTS)
    specialties = [primary]
    if rng.random() < SECOND_SPECIALTY_SHARE:
        second = _weighted(rng, {s: w for s, w in SPECIALTY_WEIGHTS.items() if s is not primary})
        specialties.append(second)
    modalities = _modalities(rng, specialties)
    career = rng.randint(1, 35)
    modality_years = {m: min(career, int(rng.expovariate(1 / 5))) for m in modalities}
    max_clinics = rng.choices(range(1, 11), weights=MAX_CLINICS_WEIGHTS, k=1)[0]
    full = rng.random() < FULL_SHARE
    active_clinics = max_clinics if full else rng.randint(0, max_clinics - 1)
    _, per_claim, aggregate = rng.choices(MALPRACTICE, weights=[w for w, _, _ in MALPRACTICE], k=1)[0]
    new = career <= 1 or rng.random() < NEW_DIRECTOR_SHARE
    draft = _Draft(
        npi=_npi(rng, npis),
        first_name=first,
        last_name=last,
        email=f"{first}.{last}.{n:05d}@{EMAIL_DOMAIN}".lower(),
        specialties=specialties,
        modalities=modalities,
        modality_years=modality_years,
        max_clinics=max_clinics,
        active_clinics=active_clinics,
        active=rng.random() >= INACTIVE_SHARE,
        paused=rng.random() < PAUSED_SHARE,
        excluded=rng.random() < EXCLUDED_SHARE,
        malpractice_per_claim=per_claim,
        malpractice_aggregate=aggregate,
        response_rate=None if new else round(rng.betavariate(6, 1.5), 2),
        median_response_hours=None if new else round(min(72.0, max(0.2, rng.lognormvariate(1.0, 0.8))), 1),
    )
    states = _weighted_sample(rng, state_weights, _band(rng, STATE_COUNT_BANDS))
    prescriber = rng.random() < PRESCRIBER_SHARE
    for i, state in enumerate(states):
        lic = _license(rng, state, today, home=i == 0)
        draft.licenses[state] = lic
        in_good_standing = lic.status is LicenseStatus.ACTIVE and lic.expires_on >= today
        if prescriber and in_good_standing and (i == 0 or rng.random() < DEA_PER_STATE_SHARE):
            draft.dea[state] = _dea(rng, state, last, today)
        if in_good_standing and rng.random() < (0.5 if active_clinics else 0.15):
            np, pa = rng.randint(0, 6), rng.choice((0, 0, 0, 1, 2, 3, 4))
            if np or pa:
                draft.supervising[state] = Supervision(state=state, np=np, pa=pa)
    return draft


def _promote(draft: _Draft) -> None:
    """Make a director able to serve a basic request (used only when coverage needs more)."""
    draft.active, draft.paused, draft.excluded = True, False, False
    for modality in (Modality.AESTHETICS, Modality.WEIGHT_LOSS):
        if modality not in draft.modalities:
            draft.modalities.append(modality)
            draft.modality_years.setdefault(modality, 1)
    draft.max_clinics = max(draft.max_clinics, 2)
    draft.active_clinics = min(draft.active_clinics, draft.max_clinics - 1)
    if not _insured(draft.malpractice_per_claim, draft.malpractice_aggregate):
        draft.malpractice_per_claim, draft.malpractice_aggregate = MALPRACTICE_FLOOR


def _cover(rng: random.Random, draft: _Draft, state: str, today: date) -> None:
    """Give a director an active license, a DEA registration and light supervision in `state`."""
    number = draft.licenses[state].number if state in draft.licenses else None
    draft.licenses[state] = StateLicense(
        state=state,
        number=number or f"{rng.choice(LICENSE_PREFIXES)}{rng.randint(10_000, 9_999_999)}",
        status=LicenseStatus.ACTIVE,
        expires_on=today + ELIGIBLE_HORIZON + timedelta(days=rng.randint(0, 700)),
    )
    if state not in draft.dea or draft.dea[state].expires_on < today + ELIGIBLE_HORIZON:
        number = dea_number(rng.choice(DEA_REGISTRANT_TYPES), draft.last_name, f"{rng.randrange(10**6):06d}")
        expires = today + ELIGIBLE_HORIZON + timedelta(days=rng.randint(0, 600))
        draft.dea[state] = DeaRegistration(state=state, number=number, expires_on=expires)
    if not _light_supervision(draft.supervising.get(state)):
        draft.supervising[state] = Supervision(state=state, np=1, pa=0)


def _ensure_coverage(rng: random.Random, drafts: list[_Draft], today: date, target: int) -> None:
    """Every state gets `target` directors who can serve a basic request there.

    Directors who already serve basic requests take extra states first (as interstate-compact
    licensees do), at most MAX_COVERAGE_STATES each; only then are others made available.
    """
    horizon = today + ELIGIBLE_HORIZON
    rank = list(range(len(drafts)))
    rng.shuffle(rank)
    position = {index: p for p, index in enumerate(rank)}
    eligible = [set(d.eligible_states(horizon)) for d in drafts]
    counts = {state: 0 for state in STATES}
    for states in eligible:
        for state in states:
            counts[state] += 1
    added = [0] * len(drafts)
    for state in STATES:
        while counts[state] < target:
            choices = [i for i in range(len(drafts)) if state not in eligible[i]]
            if not choices:
                break
            i = min(
                choices,
                key=lambda i: (
                    added[i] >= MAX_COVERAGE_STATES,
                    not drafts[i].serves_basic_requests(),
                    added[i],
                    position[i],
                ),
            )
            if not drafts[i].serves_basic_requests():
                _promote(drafts[i])
            _cover(rng, drafts[i], state, today)
            added[i] += 1
            now = set(drafts[i].eligible_states(horizon))
            for gained in now - eligible[i]:
                counts[gained] += 1
            eligible[i] = now


def coverage_target(count: int) -> int:
    """Directors per state guaranteed to serve a basic request, for a roster of `count`."""
    if count >= REALISTIC_COUNT[0]:
        return GUARANTEED_PER_STATE
    return 1 if count >= len(STATES) else 0


def synthetic_directors(
    count: int,
    seed: int = 7,
    today: date | None = None,
    state_weights: dict[str, float] = STATE_POPULATION,
) -> list[Director]:
    """A deterministic roster of `count` directors for a seed (realistic for 100 to 50,000).

    Home states follow `state_weights` (population, or PHYSICIAN_WEIGHTS); most directors hold one
    license, some 2-4, a few 5-20.
    Modalities follow specialty; some licenses lapse or are due within 60 days; some directors are
    paused, inactive, excluded, full or under-insured; new ones have no response history. With
    100 or more directors every state and DC has at least GUARANTEED_PER_STATE directors who can
    take a basic request (aesthetics + weight loss): available, with room, insured $1M/$3M, an ACTIVE
    license and a DEA registration there lasting ELIGIBLE_HORIZON. From 51 directors every state
    has one; below that, nothing is guaranteed.
    """
    if not MIN_COUNT <= count <= MAX_COUNT:
        raise ValueError(f"count must be {MIN_COUNT} to {MAX_COUNT:,} (realistic from {REALISTIC_COUNT[0]})")
    today = today or date.today()
    rng = random.Random(seed)
    npis: set[str] = set()
    drafts = [_draft(rng, n, today, npis, state_weights) for n in range(count)]
    _ensure_coverage(rng, drafts, today, coverage_target(count))
    return [draft.director() for draft in drafts]


def synthetic_roster(
    count: int = 600,
    seed: int = 7,
    today: date | None = None,
    state_weights: dict[str, float] = STATE_POPULATION,
) -> list[dict[str, Any]]:
    """The Directors-table items (PROFILE, LICENSE#, DEA#) of synthetic_directors(...)."""
    directors = synthetic_directors(count, seed, today, state_weights)
    return [item for director in directors for item in director_items(director)]
