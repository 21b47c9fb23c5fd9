"""Which specialties fit each modality: the score's specialty fit, and the modalities a director may
take on themselves (manage.changes). Data only, no imports."""

from __future__ import annotations

# Specialties that fit each modality (a family physician can direct most; these fit best).
SPECIALTY_FIT: dict[str, frozenset[str]] = {
    "aesthetics": frozenset({"dermatology", "plastic_surgery"}),
    "weight_loss": frozenset({"obesity_medicine", "internal_medicine", "family_medicine", "endocrinology"}),
    "ketamine": frozenset({"anesthesiology", "psychiatry", "emergency_medicine", "pain_medicine"}),
    "iv_therapy": frozenset({"emergency_medicine", "internal_medicine", "family_medicine", "anesthesiology"}),
    "hormone_therapy": frozenset({"endocrinology", "obstetrics_gynecology", "urology", "family_medicine"}),
    "primary_care": frozenset({"family_medicine", "internal_medicine"}),
    "urgent_care": frozenset({"emergency_medicine", "family_medicine"}),
    "telehealth": frozenset({"family_medicine", "internal_medicine", "psychiatry"}),
    "mental_health": frozenset({"psychiatry"}),
    "addiction_medicine": frozenset({"addiction_medicine", "psychiatry", "family_medicine"}),
    "hospice": frozenset({"hospice_palliative", "internal_medicine", "family_medicine"}),
    "other": frozenset(),
}
