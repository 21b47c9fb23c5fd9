"""The words people read for the codes a request stores (services, malpractice preference).

Directors and clinics read the malpractice preference from opposite sides, so each audience has its
own wording. Pages and emails share these through the template filters render.py registers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any


class Audience(StrEnum):
    CLINIC = "clinic"  # the receipt and the status page: the clinic's own choice, in its words
    DIRECTOR = "director"  # offers: what the choice asks of the director


MODALITY_LABELS = {
    "iv_therapy": "IV therapy",
    "addiction_medicine": "addiction medicine",
}

MALPRACTICE_LABELS: dict[Audience, dict[str, str]] = {
    Audience.CLINIC: {
        "clinic_policy": "Your clinic's policy names the director",
        "director_policy": "The director brings coverage of at least $1M/$3M",
        "no_preference": "No preference",
    },
    Audience.DIRECTOR: {
        "clinic_policy": "the clinic provides a named-insured policy",
        "director_policy": "you bring coverage of at least $1M/$3M",
        "no_preference": "to be agreed",
    },
}


def dollars(amount: int) -> str:
    """Whole dollars as people write them: $1,450."""
    return f"${int(amount):,}"


def per_month(amount: int) -> str:
    """A monthly fee as people say it: $1,450 a month."""
    return f"{dollars(amount)} a month"


def supervision(supervisees: Mapping[str, Any]) -> str:
    """The NPs and PAs a clinic's director would supervise, as every email and page says it: 3 NPs, 1 PA."""
    return f"{count(int(supervisees['np']), 'NP')}, {count(int(supervisees['pa']), 'PA')}"


def count(number: int, what: str) -> str:
    """A number of things, plural but for one: 1 NP, 3 NPs, 0 PAs."""
    return f"{number} {what}{'' if number == 1 else 's'}"


def accepting(fee_monthly: int | None) -> str:
    """What accepting an offer agrees to, after "Accept": " at $1,450 a month"; "" when the director
    has no fee schedule (their fee is agreed with the clinic)."""
    return "" if fee_monthly is None else f" at {per_month(fee_monthly)}"


def monthly_fee(amount: int | None) -> str:
    """An agreed fee a month; a director without a fee schedule agrees it with the clinic."""
    return "to agree between you" if amount is None else per_month(amount)


def quote_range(quote: Mapping[str, Any] | None) -> str:
    """A stored quote's range a month ("$1,450 to $2,100 a month"); "" when nothing offered is priced."""
    if not quote or quote.get("low") is None:
        return ""
    low, high = quote["low"], quote["high"]
    figures = dollars(low) if low == high else f"{dollars(low)} to {dollars(high)}"
    return f"{figures} a month"


def modality_label(modality: str) -> str:
    return MODALITY_LABELS.get(modality, modality.replace("_", " "))


def specialty_label(specialty: str) -> str:
    """A roster specialty code as people write it: family_medicine -> Family medicine."""
    return specialty.replace("_", " ").capitalize()


def malpractice_label(preference: str | None, audience: str) -> str:
    """`preference` in `audience`'s words; items stored before the field existed have none."""
    labels = MALPRACTICE_LABELS[Audience(audience)]
    return labels.get(preference or "no_preference", labels["no_preference"])


def us_phone(number: str | None) -> str:
    """A stored E.164 US number as people write it, (512) 555-0199; anything else as it is."""
    value = number or ""
    digits = value.removeprefix("+1")
    if value.startswith("+1") and len(digits) == 10 and digits.isdigit():
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return value


# The template filters, by the name templates call them.
FILTERS: dict[str, Callable[..., str]] = {
    "modality": modality_label,
    "specialty": specialty_label,
    "malpractice": malpractice_label,
    "phone": us_phone,
    **{f.__name__: f for f in (dollars, per_month, supervision, accepting, monthly_fee, quote_range)},
}
