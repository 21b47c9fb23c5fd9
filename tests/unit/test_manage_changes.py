"""What a manage-page form post changes (directormatch.manage.changes): pure, no AWS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from directormatch.manage.changes import ChangeInvalid, ChangeKind, allowed_modalities, decline_pause, plan
from directormatch.records import Profile

NOW = datetime(2026, 12, 6, 15, 30, tzinfo=UTC)


def profile(**overrides: Any) -> Profile:
    fields: dict[str, Any] = {
        "pk": "D1",
        "director_id": "D1",
        "first_name": "Avery",
        "last_name": "Okafor",
        "email": "d1@roster.directormatch.example",
        "specialties": ["dermatology"],
        "modalities": ["aesthetics", "hormone_therapy"],
        "max_clinics": 4,
        "active_clinics": 2,
        "fees": {"base": 1000},
        **overrides,
    }
    return Profile.from_item(fields)


def test_plan_pause_until_a_date_resumes_at_its_start_where_the_director_lives() -> None:
    # A director licensed in Texas and Oklahoma (Central time) picks December 20
    change = plan("pause", {"until": ["2026-12-20"]}, profile(licensed_states=["OK", "TX"]), NOW)

    # Offers resume at midnight there (06:00 UTC), and the words say that moment in their zone
    assert change.after == {"paused": True, "paused_until": "2026-12-20T06:00:00+00:00"}
    assert change.before == {"paused": False, "paused_until": None}
    assert change.summary == ["Offers paused until Sun, Dec 20, 12:00 AM CST."]


def test_plan_pause_of_a_director_without_a_known_home_resumes_at_the_days_start_in_utc() -> None:
    change = plan("pause", {"until": ["2026-12-20"]}, profile(licensed_states=["NY", "CA"]), NOW)
    # (licenses in two zones: no home; the first license's state decides, as for the page)
    assert change.after["paused_until"] == "2026-12-20T05:00:00+00:00"
    assert plan("pause", {"until": ["2026-12-20"]}, profile(), NOW).after["paused_until"] == (
        "2026-12-20T00:00:00+00:00"
    )


def test_plan_pause_blank_date_pauses_until_the_director_resumes() -> None:
    assert plan("pause", {"until": [""]}, profile(), NOW).after == {"paused": True, "paused_until": None}


@pytest.mark.parametrize("until", ["2026-12-06", "2026-12-01", "2028-01-01", "20/12/2026"])
def test_plan_pause_refuses_today_the_past_over_a_year_and_other_formats(until: str) -> None:
    with pytest.raises(ChangeInvalid) as refused:
        plan("pause", {"until": [until]}, profile(), NOW)
    assert refused.value.field == "until"


def test_decline_pause_pauses_fourteen_days_from_now() -> None:
    change = decline_pause(profile(), NOW)
    assert change.kind is ChangeKind.PAUSE
    assert change.after["paused_until"] == (NOW + timedelta(days=14)).isoformat(timespec="seconds")


def test_plan_resume_clears_the_pause_and_its_date() -> None:
    paused = profile(paused=True, paused_until="2026-12-20T00:00:00+00:00")
    change = plan("resume", {}, paused, NOW)
    assert change.after == {"paused": False, "paused_until": None}
    assert change.before == {"paused": True, "paused_until": "2026-12-20T00:00:00+00:00"}


@pytest.mark.parametrize(
    ("cell", "ok"), [("2", True), ("50", True), ("1", False), ("51", False), ("2.5", False)]
)
def test_plan_capacity_never_below_the_clinics_directed_nor_above_the_roster_bound(
    cell: str, ok: bool
) -> None:
    if ok:
        change = plan("capacity", {"max_clinics": [cell]}, profile(), NOW)
        assert change.after == {"max_clinics": int(cell)}
        assert change.at_most_active == int(cell)
    else:
        with pytest.raises(ChangeInvalid):
            plan("capacity", {"max_clinics": [cell]}, profile(), NOW)


def test_allowed_modalities_are_those_held_and_those_the_specialties_fit() -> None:
    # A dermatologist fits aesthetics; hormone therapy is held already (ops added it)
    assert allowed_modalities(profile()) == ["aesthetics", "hormone_therapy"]
    assert "weight_loss" in allowed_modalities(profile(specialties=["family_medicine"]))


def test_plan_modalities_outside_the_fit_are_asked_of_ops_and_not_applied() -> None:
    change = plan("modalities", {"modalities": ["aesthetics", "ketamine", ""]}, profile(), NOW)
    assert change.after == {"modalities": ["aesthetics"]}
    assert change.asked_of_ops == ("ketamine",)


def test_plan_modalities_only_outside_the_fit_is_refused() -> None:
    with pytest.raises(ChangeInvalid, match="at least one"):
        plan("modalities", {"modalities": ["ketamine"]}, profile(), NOW)


def test_plan_fees_use_the_roster_model_and_keep_the_previous_schedule_as_before() -> None:
    change = plan("fees", {"base": ["1200"], "per_np": ["150"], "per_pa": [""]}, profile(), NOW)
    assert change.after == {
        "fees": {
            "base": 1200,
            "per_np": 150,
            "per_pa": 0,
            "per_additional_state": 0,
            "per_additional_location": 0,
            "controlled_premium": 0,
        }
    }
    assert change.before["fees"]["base"] == 1000


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"per_np": ["100"]}, "base"),
        ({"base": ["15001"]}, "base"),
        ({"base": ["900"], "chart_review_fee": ["200"]}, "chart_review_percent"),
        ({"base": ["-5"]}, "base"),
    ],
)
def test_plan_fees_refused_as_the_roster_import_refuses_them(form: dict[str, list[str]], field: str) -> None:
    with pytest.raises(ChangeInvalid) as refused:
        plan("fees", form, profile(), NOW)
    assert refused.value.field == field
