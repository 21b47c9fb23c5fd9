"""The synthetic roster (pure): deterministic, covering every state, with realistic spreads."""

from __future__ import annotations

import io
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta
from functools import cache

import pytest

from directormatch.directors import Director, Specialty, dea_is_valid, director_items, npi_is_valid
from directormatch.vocabulary import US_STATES, Modality
from ops.roster.cli import main
from ops.roster.csv_format import parse_roster
from ops.roster.synthetic import (
    ACTIVE_PHYSICIANS,
    EMAIL_DOMAIN,
    GUARANTEED_PER_STATE,
    PHYSICIAN_WEIGHTS,
    STATE_POPULATION,
    synthetic_directors,
    synthetic_roster,
)

TODAY = date(2026, 11, 25)
# A basic request may start up to 365 days ahead; licenses must outlast the start by 30 days.
BASIC_HORIZON = TODAY + timedelta(days=395)
GENERATE_ARGS = ("generate", "--count", "120", "--seed", "3", "--today", "2026-11-25")


@cache
def roster(count: int, seed: int = 7) -> tuple[Director, ...]:
    return tuple(synthetic_directors(count, seed=seed, today=TODAY))


def basic_request_states(director: Director) -> set[str]:
    """States where the director can take an aesthetics + weight-loss request with DEA, checked here
    from the Director alone (not with the generator's own helpers)."""
    if not (
        director.active
        and not director.paused
        and not director.excluded
        and {Modality.AESTHETICS, Modality.WEIGHT_LOSS} <= set(director.modalities)
        and director.active_clinics < director.max_clinics
        and director.malpractice_per_claim >= 1_000_000
        and director.malpractice_aggregate >= 3_000_000
    ):
        return set()
    dea = {reg.state: reg.expires_on for reg in director.dea}
    return {
        lic.state
        for lic in director.licenses
        if lic.status == "ACTIVE"
        and lic.expires_on > BASIC_HORIZON
        and dea.get(lic.state, date.min) > BASIC_HORIZON
    }


def share(directors: tuple[Director, ...], test: object) -> float:
    assert callable(test)
    return sum(1 for d in directors if test(d)) / len(directors)


def test_synthetic_directors_same_seed_gives_the_same_roster() -> None:
    # Given a seed and a day
    # When the roster is generated twice
    first = synthetic_directors(300, seed=5, today=TODAY)
    second = synthetic_directors(300, seed=5, today=TODAY)

    # Then it is identical
    assert first == second


def test_synthetic_directors_other_seed_gives_another_roster() -> None:
    # Given two seeds
    # When a roster is generated with each
    first = synthetic_directors(300, seed=5, today=TODAY)
    second = synthetic_directors(300, seed=6, today=TODAY)

    # Then the rosters differ in people and licenses
    assert {d.npi for d in first}.isdisjoint({d.npi for d in second})
    assert [len(d.licenses) for d in first] != [len(d.licenses) for d in second]


def test_synthetic_directors_same_seed_in_another_process_gives_the_same_csv() -> None:
    # Given the roster written as CSV here
    out = io.StringIO()
    assert main(list(GENERATE_ARGS), stdout=out) == 0

    # When another interpreter (another string-hash seed) generates it too
    child = subprocess.run(
        [sys.executable, "-m", "ops.roster", *GENERATE_ARGS, "-"],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
    )

    # Then both files are byte for byte the same
    assert child.stdout == out.getvalue()


@pytest.mark.parametrize("count", [100, 153, 600, 2000])
def test_synthetic_directors_every_state_has_directors_for_a_basic_request(count: int) -> None:
    # Given a roster in the supported range
    directors = roster(count)

    # When directors able to take an aesthetics + weight-loss request are counted per state
    per_state = Counter(state for d in directors for state in basic_request_states(d))

    # Then every state and DC has at least the guaranteed number
    assert set(per_state) == set(US_STATES)
    assert min(per_state.values()) >= GUARANTEED_PER_STATE


def test_synthetic_directors_fifty_one_directors_cover_every_state_once() -> None:
    # Given the smallest roster with a coverage guarantee
    directors = roster(51)

    # When basic-request directors are counted per state
    per_state = Counter(state for d in directors for state in basic_request_states(d))

    # Then every state and DC has one
    assert set(per_state) == set(US_STATES)


def test_synthetic_directors_spreads_are_plausible() -> None:
    # Given a large roster
    directors = roster(2000)
    licenses = [lic for d in directors for lic in d.licenses]

    # When its shares are measured
    multi_state = share(directors, lambda d: len(d.licenses) > 1)
    five_plus = share(directors, lambda d: len(d.licenses) >= 5)
    due_soon = sum(
        1 for lic in licenses if lic.status == "ACTIVE" and TODAY <= lic.expires_on <= TODAY + timedelta(60)
    ) / len(licenses)
    lapsed = sum(1 for lic in licenses if lic.status == "EXPIRED" or lic.expires_on < TODAY) / len(licenses)

    # Then they are in the ranges the roster is meant to show
    assert 0.2 <= multi_state <= 0.45  # most directors hold one license
    assert 0.03 <= five_plus <= 0.15
    assert max(len(d.licenses) for d in directors) <= 21
    assert any(len(d.licenses) >= 10 for d in directors)
    assert 0.02 <= share(directors, lambda d: d.paused) <= 0.07
    assert 0.005 <= share(directors, lambda d: not d.active) <= 0.04
    assert 0.002 <= share(directors, lambda d: d.excluded) <= 0.03
    assert 0.08 <= share(directors, lambda d: d.active_clinics >= d.max_clinics) <= 0.25
    assert all(1 <= d.max_clinics <= 10 and d.active_clinics <= d.max_clinics for d in directors)
    insured = share(
        directors, lambda d: d.malpractice_per_claim >= 1_000_000 and d.malpractice_aggregate >= 3_000_000
    )
    assert 0.75 <= insured <= 0.95
    assert 0.04 <= share(directors, lambda d: d.response_rate is None) <= 0.2
    assert 0.8 <= share(directors, lambda d: bool(d.dea)) <= 0.95
    assert 0.02 <= due_soon <= 0.12
    assert 0.01 <= lapsed <= 0.08
    assert 0.15 <= share(directors, lambda d: bool(d.supervising)) <= 0.7


def test_synthetic_directors_modalities_follow_specialty() -> None:
    # Given a large roster
    directors = roster(2000)

    def offering(modality: Modality, *specialties: Specialty) -> float:
        group = tuple(d for d in directors if set(d.specialties) & set(specialties))
        return share(group, lambda d: modality in d.modalities)

    # When modality shares are compared by specialty
    # Then aesthetics follows dermatology/plastics, ketamine psychiatry/anesthesiology/emergency,
    # weight loss obesity/internal/family medicine
    everyone = Specialty.__members__.values()
    assert offering(Modality.AESTHETICS, Specialty.DERMATOLOGY, Specialty.PLASTIC_SURGERY) >= 0.85
    assert offering(Modality.AESTHETICS, Specialty.PSYCHIATRY) <= 0.2
    ketamine = (Specialty.PSYCHIATRY, Specialty.ANESTHESIOLOGY, Specialty.EMERGENCY_MEDICINE)
    assert offering(Modality.KETAMINE, *ketamine) >= 2 * offering(Modality.KETAMINE, *everyone)
    assert offering(Modality.WEIGHT_LOSS, Specialty.OBESITY_MEDICINE) >= 0.9
    weight_loss = (Specialty.INTERNAL_MEDICINE, Specialty.FAMILY_MEDICINE)
    assert offering(Modality.WEIGHT_LOSS, *weight_loss) >= 0.6
    assert offering(Modality.WEIGHT_LOSS, Specialty.PSYCHIATRY) <= 0.3


def test_synthetic_directors_every_director_validates_with_unique_checked_identifiers() -> None:
    # Given a large roster
    directors = roster(2000)

    # When each director is validated again from its plain data
    again = [Director.model_validate(d.model_dump()) for d in directors]

    # Then all validate, NPIs and DEA numbers carry valid check digits, and NPIs and emails are unique
    assert again == list(directors)
    assert all(npi_is_valid(d.npi) for d in directors)
    assert all(dea_is_valid(reg.number) for d in directors for reg in d.dea)
    assert len({d.npi for d in directors}) == len(directors)
    assert len({d.email for d in directors}) == len(directors)
    # And emails are on the reserved example domain, and DEA/supervision only where licensed
    assert all(str(d.email).endswith("@" + EMAIL_DOMAIN) for d in directors)
    for d in directors:
        licensed = {lic.state for lic in d.licenses}
        assert {reg.state for reg in d.dea} <= licensed
        assert {sup.state for sup in d.supervising} <= licensed


@pytest.mark.parametrize("count", [0, -3, 50_001])
def test_synthetic_directors_count_out_of_range_is_refused(count: int) -> None:
    # Given a count outside 1 to 50,000
    # When a roster is asked for
    # Then it is refused
    with pytest.raises(ValueError, match="count must be 1 to 50,000"):
        synthetic_directors(count, today=TODAY)


def test_physician_weights_cover_every_state_and_about_a_million_physicians() -> None:
    assert set(ACTIVE_PHYSICIANS) == set(US_STATES)
    assert all(primary > 0 and other > 0 for primary, other in ACTIVE_PHYSICIANS.values())
    assert 1_000_000 < sum(PHYSICIAN_WEIGHTS.values()) < 1_100_000


def test_synthetic_directors_home_states_follow_the_weights_asked_for() -> None:
    # Given the same seed with population weights and with physician weights
    def home_share(weights: dict[str, float], states: set[str]) -> float:
        directors = synthetic_directors(3_000, seed=5, today=TODAY, state_weights=weights)
        return sum(d.licenses[0].state in states for d in directors) / len(directors)

    # When directors are drawn, Then states with many physicians per resident get more of them
    dense, sparse = {"NY", "MA", "DC", "MD"}, {"TX", "FL", "AZ", "NV", "GA"}
    by_population = home_share(STATE_POPULATION, dense), home_share(STATE_POPULATION, sparse)
    by_physicians = home_share(PHYSICIAN_WEIGHTS, dense), home_share(PHYSICIAN_WEIGHTS, sparse)
    assert by_physicians[0] > by_population[0] + 0.03
    assert by_physicians[1] < by_population[1] - 0.03


def test_synthetic_roster_items_are_the_directors_items_without_personal_keys() -> None:
    # Given the directors of a seed
    directors = roster(153)

    # When the table items of the same roster are made
    items = synthetic_roster(count=153, today=TODAY)

    # Then they are exactly the directors' items, keyed by opaque ids only
    assert items == [item for d in directors for item in director_items(d)]
    assert sum(1 for item in items if item["sk"] == "PROFILE") == 153
    assert all("@" not in item["pk"] and "@" not in item["sk"] for item in items)
    assert all(item["pk"].startswith("D") and item["pk"] != item.get("npi") for item in items)


def test_roster_generate_command_writes_a_csv_that_reads_back() -> None:
    # Given the generate command writing to standard output
    out, err = io.StringIO(), io.StringIO()

    # When it runs
    code = main(
        ["generate", "--count", "100", "--seed", "9", "--today", "2026-11-25", "-"], stdout=out, stderr=err
    )

    # Then the CSV holds the seed's 100 directors, every row valid
    assert code == 0
    parsed = parse_roster(out.getvalue())
    assert parsed.errors == []
    assert [r.director.npi for r in parsed.rows] == [
        d.npi for d in synthetic_directors(100, seed=9, today=TODAY)
    ]
    assert "generated 100" in err.getvalue()


def test_roster_module_import_does_not_load_boto3() -> None:
    # Given a fresh interpreter
    # When it imports the roster module (as the local stack does)
    child = subprocess.run(
        [sys.executable, "-c", "import sys, ops.roster.cli; print('boto3' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )

    # Then boto3 is not imported
    assert child.stdout.strip() == "False"
