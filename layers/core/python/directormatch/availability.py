"""The Availability table's items: which directors could take work, keyed by state and modalities.

For each LICENSE item whose director can take work there (active, not on an exclusion list, a
clinic slot free, the license ACTIVE), one AVAIL#<state>#<modalities> item per offered modality and
per pair of offered modalities, a copy of the LICENSE item's filters, in the director's partition
of the Availability table (a table of its own: derived, rebuilt by `python -m ops.roster
availability`, and never part of the roster's transactions). Its Available index key is
`<state>#<modalities>#<shard>` and its sort key the license's expiry, so a match Queries the
request's modalities (both of a two-modality request) in each state from the day its licenses must
last. Pauses stay out of the key (a pause can end on its own at `paused_until`): the engine still
applies every hard filter; the index only narrows what it reads.

Pure: `availability_items` derives the items from a director's LICENSE items, and
DirectorStore.refresh_availability writes the difference.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from itertools import combinations
from typing import Any

from directormatch import keys

INDEX = "Available"
INDEX_KEY = "available_key"
STATE = "available_state"
# LICENSE attributes an AVAIL item leaves out: the state is in `available_state`, the expiry in
# `license_expires_on`, and the license number is not needed to match.
NOT_COPIED = frozenset({"sk", "license_state", "license_number", "expiry_month", "expires_on"})

# Partitions per state for the write-sharded keys: enough that the busiest key of a state (a basic
# request's pair) stays under a partition's 3,000 read units a second at 5 times the 100x rate
# (docs/scale.md, point 2: CA 860 and NY 600 units a second at 100x, TX 310). Only ever raise a count:
# reads then cover every shard the items were written under, and a backfill moves the rest.
SHARDS: dict[str, int] = {"CA": 2, "NY": 2}


def is_available(license_item: dict[str, Any]) -> bool:
    return (
        bool(license_item.get("active"))
        and not license_item.get("excluded")
        and int(license_item.get("active_clinics") or 0) < int(license_item.get("max_clinics") or 0)
        and license_item.get("license_status") == "ACTIVE"
    )


def modality_keys(modalities: Iterable[str]) -> list[str]:
    """Each modality alone and each pair, sorted and joined with '+': the keys a director is filed under."""
    offered = sorted(set(modalities))
    return offered + ["+".join(pair) for pair in combinations(offered, 2)]


def request_key(modalities: Iterable[str]) -> str:
    """The one key a request reads: its modality, or its first two in RARITY order (all of them
    must be offered, so any pair narrows; the rarer, the fewer items read)."""
    wanted = sorted(set(modalities), key=lambda m: (RARITY.index(m) if m in RARITY else -1, m))
    return "+".join(sorted(wanted[:2]))


# Modalities from least to most offered (the synthetic roster's shares at 1,000 directors, which
# follow specialty as real rosters do: ops/roster/synthetic.py).
RARITY = (
    "other",
    "hospice",
    "mental_health",
    "addiction_medicine",
    "ketamine",
    "urgent_care",
    "hormone_therapy",
    "iv_therapy",
    "primary_care",
    "telehealth",
    "aesthetics",
    "weight_loss",
)


def shard_of(director_id: str, state: str) -> int:
    return int(hashlib.sha256(director_id.encode()).hexdigest()[:8], 16) % SHARDS.get(state, 1)


def index_keys(state: str, modality_key: str) -> list[str]:
    """Every shard's partition key of one (state, modalities)."""
    return [f"{state}#{modality_key}#{shard}" for shard in range(SHARDS.get(state, 1))]


def availability_items(license_items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The AVAIL items a director's LICENSE items call for (none for a license they cannot use)."""
    items = []
    for lic in license_items:
        if not is_available(lic):
            continue
        state, director_id = lic["license_state"], lic["pk"]
        copied = {name: value for name, value in lic.items() if name not in NOT_COPIED}
        for modality_key in modality_keys(lic.get("modalities") or []):
            items.append(
                {
                    **copied,
                    "sk": keys.AVAIL(state, modality_key),
                    STATE: state,
                    INDEX_KEY: f"{state}#{modality_key}#{shard_of(director_id, state)}",
                }
            )
    return items
