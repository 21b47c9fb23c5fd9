"""The words every function shares: states, modalities and statuses (no pydantic, so the stream
functions that only need these do not import the API contract)."""

from __future__ import annotations

from enum import StrEnum

US_STATES: frozenset[str] = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "DC",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
    ]
)


class Modality(StrEnum):
    AESTHETICS = "aesthetics"
    WEIGHT_LOSS = "weight_loss"
    KETAMINE = "ketamine"
    IV_THERAPY = "iv_therapy"
    HORMONE_THERAPY = "hormone_therapy"
    PRIMARY_CARE = "primary_care"
    URGENT_CARE = "urgent_care"
    TELEHEALTH = "telehealth"
    MENTAL_HEALTH = "mental_health"
    ADDICTION_MEDICINE = "addiction_medicine"
    HOSPICE = "hospice"
    OTHER = "other"


class RequestStatus(StrEnum):
    NEW = "NEW"
    OFFERED = "OFFERED"
    MATCHED = "MATCHED"
    NO_MATCH = "NO_MATCH"


class OfferStatus(StrEnum):
    OPEN = "OPEN"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"
    EXPIRED = "EXPIRED"
    SUPERSEDED = "SUPERSEDED"
