"""Which SES events put an address on the suppression list (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from directormatch.mail.suppression import address_key, addresses_to_suppress


def bounce(bounce_type: str) -> dict[str, Any]:
    return {
        "eventType": "Bounce",
        "bounce": {"bounceType": bounce_type, "bouncedRecipients": [{"emailAddress": "a@clinic.example"}]},
    }


@pytest.mark.parametrize(
    ("event", "reason", "addresses"),
    [
        (bounce("Permanent"), "BOUNCE", ["a@clinic.example"]),
        (bounce("Transient"), "TRANSIENT_BOUNCE", []),
        (bounce("Undetermined"), "TRANSIENT_BOUNCE", []),
        (
            {
                "eventType": "Complaint",
                "complaint": {"complainedRecipients": [{"emailAddress": "b@x.example"}]},
            },
            "COMPLAINT",
            ["b@x.example"],
        ),
        ({"eventType": "Delivery", "delivery": {}}, "Delivery", []),
        ({}, "UNKNOWN", []),
    ],
)
def test_addresses_to_suppress_by_event_type(
    event: dict[str, Any], reason: str, addresses: list[str]
) -> None:
    # Given an SES event / When it is read / Then only hard bounces and complaints suppress
    assert addresses_to_suppress(event) == (reason, addresses)


def test_address_key_hides_the_address_and_ignores_case() -> None:
    # Given one address written two ways
    # When keyed
    key = address_key("Maria@Clinic.example ")

    # Then the key is the same for both and does not contain the address
    assert key == address_key("maria@clinic.example")
    assert "maria" not in key.lower()
    assert "@" not in key
