"""Turning a new request into a MATCH item and its first wave of offers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from directormatch import keys
from directormatch.matching import Need, Shortlist, shortlist
from directormatch.models import OfferStatus, RequestStatus
from directormatch.store import DirectorStore, RequestStore


def need_of(request: dict[str, Any]) -> Need:
    return Need(
        request_id=request["request_id"],
        states=tuple(request["states"]),
        modalities=frozenset(request["modalities"]),
        start_by=date.fromisoformat(request["start_by"]),
    )


def match_request(
    request: dict[str, Any],
    requests: RequestStore,
    directors: DirectorStore,
    wave_size: int,
    offer_hours: int,
    now: datetime | None = None,
) -> tuple[Shortlist, bool]:
    """Returns the shortlist and whether this call recorded it (False: done before)."""
    now = now or datetime.now(UTC)
    need = need_of(request)
    licenses = [lic for state in need.states for lic in directors.licenses_in(state)]
    result = shortlist(need, licenses, wave_size)
    created_at = now.isoformat(timespec="milliseconds")
    expires_at = (now + timedelta(hours=offer_hours)).isoformat(timespec="seconds")
    match_item = {
        "pk": need.request_id,
        "sk": keys.MATCH_SK,
        "created_at": created_at,
        "candidates": result.candidates,
        "excluded": result.excluded,
        "shortlist": [pick.director_id for pick in result.picks],
    }
    offers = [
        {
            "pk": need.request_id,
            "sk": keys.offer_sk(pick.director_id),
            "request_id": need.request_id,
            "director_id": pick.director_id,
            "offer_status": OfferStatus.OPEN.value,
            "wave": 1,
            "score": pick.score,
            "reasons": list(pick.reasons),
            "covers_states": list(pick.states),
            "created_at": created_at,
            "expires_at": expires_at,
            "summary": {
                "states": request["states"],
                "modalities": request["modalities"],
                "supervisees": request["supervisees"],
                "locations": request["locations"],
                "controlled_substances": request["controlled_substances"],
                "start_by": request["start_by"],
            },
        }
        for pick in result.picks
    ]
    status = RequestStatus.OFFERED if offers else RequestStatus.NO_MATCH
    recorded = requests.record_match(need.request_id, match_item, offers, status.value)
    return result, recorded
