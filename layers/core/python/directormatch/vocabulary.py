"""The words every function shares: states, modalities, statuses and link actions (no pydantic, so
the stream functions that only need these do not import the API contract)."""

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
    """OPEN until answered (ACCEPTED, DECLINED) or closed (EXPIRED, SUPERSEDED)."""

    OPEN = "OPEN"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"
    EXPIRED = "EXPIRED"
    SUPERSEDED = "SUPERSEDED"


class EmailStatus(StrEnum):
    """An EMAIL marker's state: queued for the sender (a message in the send queue), claimed while
    sending, then sent or suppressed (never sent again)."""

    QUEUED = "QUEUED"
    SENDING = "SENDING"
    SENT = "SENT"
    SUPPRESSED = "SUPPRESSED"


class AlertKind(StrEnum):
    """Why an ALERT item asks ops to step in."""

    NO_MATCH = "NO_MATCH"  # no director left to offer the request to
    SLA_20H = "SLA_20H"  # no accept 20 hours after the request
    STUCK_NEW = "STUCK_NEW"  # not matched 15 minutes after the request
    STREAM_FAILED = "STREAM_FAILED"  # one of its stream records failed every retry (one alert per record)


class Action(StrEnum):
    """What a signed link lets its holder do: a director answers an offer (ACCEPT, DECLINE, DECLINE_PAUSE
    to decline and pause new offers, or REPLY, the reply-to address of an offer email) and manages
    their availability (MANAGE); a clinic sees its request (STATUS)."""

    ACCEPT = "accept"
    DECLINE = "decline"
    DECLINE_PAUSE = "decline_pause"
    STATUS = "status"
    REPLY = "reply"
    MANAGE = "manage"


class ApplicationStatus(StrEnum):
    """A director who applied to join: PENDING (stored, never matched) until ops approve or reject."""

    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
