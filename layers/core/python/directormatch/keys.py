"""Item keys of both tables in one place (ids only: never personal data)."""

from __future__ import annotations

from datetime import date

from ulid import ULID

REQUEST_SK = "REQUEST"
MATCH_SK = "MATCH"
PROFILE_SK = "PROFILE"


class Prefix(str):
    """The start of one family of keys: called with ids, it gives a key of the family
    (`OFFER("D1") == "OFFER#D1"`), and `key.startswith(OFFER)` tells a key's family."""

    __slots__ = ()

    def __call__(self, *ids: str) -> str:
        return self + "#".join(ids)

    @property
    def kind(self) -> str:
        """The family's name, without the separator: "OFFER"."""
        return self.removesuffix("#")


OFFER = Prefix("OFFER#")  # OFFER#<director> in a request's partition
EMAIL = Prefix("EMAIL#")  # EMAIL#<kind>#<recipient>
ALERT = Prefix("ALERT#")  # ALERT#<kind>
# ALERT#STREAM_FAILED#<function>#<sequence number>: one per stream record failed on every retry
STREAM_ALERT = Prefix("ALERT#STREAM_FAILED#")
LICENSE = Prefix("LICENSE#")  # LICENSE#<state> in a director's partition
DEA = Prefix("DEA#")  # DEA#<state>
# AVAIL#<state>#<modalities> in a director's partition of the Availability table (directormatch.availability)
AVAIL = Prefix("AVAIL#")
AUDIT = Prefix("AUDIT#")  # AUDIT#<time>#<change> in a director's partition: their own changes
IDEMPOTENCY = Prefix("IDEMPOTENCY#")  # partition of one Idempotency-Key, by its hash
REFERENCE = Prefix("REFERENCE#")  # partition of one reference code, pointing to its request
STREAM_FAILURE = Prefix("STREAM_FAILURE#")
# Requests-table partition of one director's email markers (expiry warnings, their application)
DIRECTOR = Prefix("DIRECTOR#")  # partition of one stream function's failed records

# Stream sequence numbers are decimal strings of 21 to 40 digits: padded, they sort as numbers.
SEQUENCE_DIGITS = 40


def sequence_sk(sequence_number: str) -> str:
    return sequence_number.zfill(SEQUENCE_DIGITS)


def creation_day(request_id: str) -> date:
    """The UTC day a request was created: its id is the ULID of that moment (intake), so every
    write that knows the id knows the day."""
    return ULID.from_str(request_id).datetime.date()


def status_day(status: str, day: date) -> str:
    """The RequestsByStatusDay index's partition key: one status on one UTC day
    (`OFFERED#2026-12-06`), so no key takes every request's writes and reads."""
    return f"{status}#{day.isoformat()}"


def request_status_day(status: str, request_id: str) -> str:
    """The index key a request in `status` carries."""
    return status_day(status, creation_day(request_id))
