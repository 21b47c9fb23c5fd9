"""Synthetic roster: a deterministic set of directors covering every state and DC."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from directormatch import keys
from directormatch.models import US_STATES, Modality

FIRST_NAMES = (
    "Avery",
    "Jordan",
    "Priya",
    "Mateo",
    "Grace",
    "Samuel",
    "Lena",
    "Omar",
    "Hannah",
    "Wei",
    "Isabel",
    "Marcus",
    "Nadia",
    "Theo",
    "Ruth",
    "Diego",
    "Aisha",
    "Connor",
    "Mei",
    "Elijah",
)
LAST_NAMES = (
    "Okafor",
    "Lindqvist",
    "Ramirez",
    "Chen",
    "Patel",
    "Hughes",
    "Novak",
    "Bennett",
    "Haddad",
    "Kowalski",
    "Nguyen",
    "Fischer",
    "Abara",
    "Morales",
    "Sato",
    "Whitfield",
    "Iyer",
    "Brennan",
)
SPECIALTIES = (
    "family_medicine",
    "internal_medicine",
    "emergency_medicine",
    "dermatology",
    "psychiatry",
    "anesthesiology",
    "obstetrics_gynecology",
    "plastic_surgery",
)
STATES = sorted(US_STATES)


def synthetic_roster(count: int = 600, seed: int = 7, today: date | None = None) -> list[dict[str, Any]]:
    """PROFILE and LICENSE#<state> items for `count` directors; the first 51 cover one state each."""
    rng = random.Random(seed)
    today = today or date.today()
    items: list[dict[str, Any]] = []
    for n in range(count):
        director_id = f"D{n:06d}"
        home = STATES[n % len(STATES)]
        extra = rng.sample(STATES, k=rng.choice((0, 0, 1, 2, 4)))
        states = [home, *[s for s in extra if s != home]]
        modalities = sorted(
            {Modality.AESTHETICS.value, *rng.sample([m.value for m in Modality], k=rng.randint(1, 5))}
        )
        max_clinics = rng.randint(1, 8)
        profile = {
            "pk": director_id,
            "sk": keys.PROFILE_SK,
            "director_id": director_id,
            "first_name": rng.choice(FIRST_NAMES),
            "last_name": rng.choice(LAST_NAMES),
            "email": f"director{n:06d}@roster.directormatch.example",
            "specialties": [rng.choice(SPECIALTIES)],
            "modalities": modalities,
            "max_clinics": max_clinics,
            "active_clinics": rng.randint(0, max_clinics - 1)
            if n < len(STATES)
            else rng.randint(0, max_clinics),
            "active": n < len(STATES) or rng.random() > 0.03,
            "paused": n >= len(STATES) and rng.random() < 0.05,
        }
        items.append(profile)
        for i, state in enumerate(states):
            lapsed = n >= len(STATES) and rng.random() < 0.04
            expires = today + timedelta(days=rng.randint(-60, -1) if lapsed else rng.randint(120, 900))
            items.append(
                {
                    "pk": director_id,
                    "sk": keys.license_sk(state),
                    "license_state": state,
                    "license_number": f"{state}{rng.randint(10000, 999999)}",
                    "license_status": "EXPIRED" if lapsed and i > 0 else "ACTIVE",
                    "license_expires_on": expires.isoformat(),
                    **{
                        k: profile[k]
                        for k in ("modalities", "max_clinics", "active_clinics", "active", "paused")
                    },
                }
            )
    return items
