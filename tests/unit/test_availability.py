"""The Available index's items, derived from a director's LICENSE items (pure, no tables)."""

from __future__ import annotations

from datetime import date

from directormatch import availability
from directormatch.directors import director_items
from ops.roster.synthetic import synthetic_directors


def _licenses(**changes: object) -> list[dict[str, object]]:
    director = synthetic_directors(60, seed=3, today=date(2026, 12, 6))[0]
    items = [i for i in director_items(director) if i["sk"].startswith("LICENSE#")]
    return [{**item, "active": True, "excluded": False, "license_status": "ACTIVE",
             "active_clinics": 0, "max_clinics": 2, "modalities": ["aesthetics", "ketamine", "weight_loss"],
             **changes} for item in items]  # fmt: skip


def test_an_available_license_is_filed_under_each_modality_and_each_pair() -> None:
    # Given a director able to take work, offering three modalities
    licenses = _licenses()

    # When their AVAIL items are derived
    items = availability.availability_items(licenses)

    # Then each license state has one item per modality and per pair, keyed by state and modalities
    state = licenses[0]["license_state"]
    keys_there = sorted(i["available_key"].rsplit("#", 1)[0] for i in items if i["available_state"] == state)
    assert keys_there == sorted(
        f"{state}#{m}"
        for m in ("aesthetics", "ketamine", "weight_loss", "aesthetics+ketamine", "aesthetics+weight_loss",
                  "ketamine+weight_loss")
    )  # fmt: skip
    assert len(items) == 6 * len(licenses)
    # and none of them lands on ByState or ByExpiryMonth (no license_state, no expiry keys)
    assert not any({"license_state", "expiry_month", "expires_on"} & item.keys() for item in items)


def test_a_director_who_cannot_take_work_has_no_items() -> None:
    unable = ({"active": False}, {"excluded": True}, {"active_clinics": 2}, {"license_status": "EXPIRED"})
    for change in unable:
        assert availability.availability_items(_licenses(**change)) == [], change


def test_a_pause_stays_out_of_the_key_because_it_can_end_on_its_own() -> None:
    assert availability.availability_items(_licenses(paused=True, paused_until="2026-12-07T00:00:00+00:00"))


def test_a_request_reads_its_modality_or_a_pair_of_its_modalities() -> None:
    assert availability.request_key(["ketamine"]) == "ketamine"
    assert availability.request_key(["weight_loss", "aesthetics"]) == "aesthetics+weight_loss"
    # three or more: the two rarest, each offered by every director who passes
    assert availability.request_key(["weight_loss", "hospice", "aesthetics"]) == "aesthetics+hospice"


def test_hot_states_are_write_sharded_and_a_director_keeps_one_shard() -> None:
    assert len(availability.index_keys("CA", "ketamine")) == availability.SHARDS["CA"] > 1
    assert availability.index_keys("WY", "ketamine") == ["WY#ketamine#0"]
    shards = {availability.shard_of(f"D{n:020d}", "CA") for n in range(200)}
    assert shards == set(range(availability.SHARDS["CA"]))
    assert availability.shard_of("D1", "CA") == availability.shard_of("D1", "CA")
