"""Every email we send, built from the items it is about (the words live in templates/)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from directormatch import tokens
from directormatch.mail.render import Email, render, render_notice
from directormatch.offers.inbound_mail import reply_address

MODALITY_LABELS = {
    "iv_therapy": "IV therapy",
    "addiction_medicine": "addiction medicine",
}


MALPRACTICE_LABELS = {
    "clinic_policy": "the clinic provides a named-insured policy",
    "director_policy": "you bring coverage of at least $1M/$3M",
    "no_preference": "to be agreed",
}


MALPRACTICE_LABELS = {
    "clinic_policy": "Your clinic's policy names the director",
    "director_policy": "The director brings coverage of at least $1M/$3M",
    "no_preference": "No preference",
}


def modality_label(modality: str) -> str:
    return MODALITY_LABELS.get(modality, modality.replace("_", " "))


def malpractice_label(preference: str) -> str:
    return MALPRACTICE_LABELS.get(preference, MALPRACTICE_LABELS["no_preference"])


def receipt_email(request: dict[str, Any], status_url: str) -> Email:
    return render(
        "receipt",
        to=request["contact"]["email"],
        idempotency_ref=request["request_id"],
        request_id=request["request_id"],
        contact_name=request["contact"]["name"],
        clinic_name=request["clinic"]["name"],
        states=request["states"],
        modalities=[modality_label(m) for m in request["modalities"]],
        supervisees=request["supervisees"],
        locations=request["locations"],
        start_by=request["start_by"],
        # Requests stored before the field existed have no preference.
        malpractice=malpractice_label(request.get("malpractice", "no_preference")),
        status_url=status_url,
    )


def offer_links(offer: dict[str, Any], base_url: str) -> dict[str, str]:
    """Signed accept and decline links, valid while the offer is open."""
    expires = datetime.fromisoformat(offer["expires_at"])
    ring = tokens.keyring()
    return {
        f"{action.value}_url": f"{base_url.rstrip('/')}/offers/"
        + tokens.issue(ring, action, offer["request_id"], offer["director_id"], expires)
        for action in (tokens.Action.ACCEPT, tokens.Action.DECLINE)
    }


def offer_email(
    offer: dict[str, Any], director: dict[str, Any], base_url: str, inbound_domain: str = ""
) -> Email:
    summary = offer["summary"]
    reply_to = (
        reply_address(offer["request_id"], offer["director_id"], inbound_domain) if inbound_domain else ""
    )
    email = render(
        "offer",
        to=director["email"],
        idempotency_ref=f"{offer['request_id']}.{offer['director_id']}",
        request_id=offer["request_id"],
        director_name=director["last_name"],
        states=summary["states"],
        modalities=[modality_label(m) for m in summary["modalities"]],
        supervisees=summary["supervisees"],
        locations=summary["locations"],
        controlled_substances=summary["controlled_substances"],
        start_by=summary["start_by"],
        malpractice=MALPRACTICE_LABELS.get(summary.get("malpractice", "no_preference"), "to be agreed"),
        reasons=offer["reasons"],
        expires_at=offer["expires_at"].replace("T", " ")[:16],
        reply_enabled=bool(reply_to),
        **offer_links(offer, base_url),
    )
    return replace(email, reply_to=reply_to)


def no_match_email(alert: dict[str, Any], ops_email: str) -> Email:
    return render(
        "ops_no_match",
        to=ops_email,
        idempotency_ref=alert["request_id"],
        request_id=alert["request_id"],
        candidates=alert.get("candidates", 0),
        excluded=sorted((alert.get("excluded") or {}).items(), key=lambda kv: -kv[1]),
        uncovered_states=alert.get("uncovered_states", []),
    )


def _doctor(profile: dict[str, Any]) -> str:
    return f"Dr. {profile['first_name']} {profile['last_name']}"


def intro_clinic_email(request: dict[str, Any], directors: list[dict[str, Any]]) -> Email:
    team = len(directors) > 1
    names = ", ".join(_doctor(d) for d in directors)
    return render_notice(
        "intro_clinic",
        to=request["contact"]["email"],
        idempotency_ref=request["request_id"],
        subject=f"You are matched: {names}",
        request_id=request["request_id"],
        greeting=f"Hello {request['contact']['name']},",
        paragraphs=[
            f"Good news: {names} accepted {'as a team ' if team else ''}to be the medical director for "
            f"{request['clinic']['name']}.",
            "We have sent them your contact details; expect to hear from them shortly. You can also "
            "write to them directly. There is no placement fee.",
        ],
        details=[(_doctor(d), d["email"]) for d in directors],
    )


def intro_director_email(request: dict[str, Any], director: dict[str, Any], states: list[str]) -> Email:
    contact, clinic = request["contact"], request["clinic"]
    details = [
        ("Clinic", clinic["name"]),
        ("Contact", contact["name"]),
        ("Email", contact["email"]),
        ("Phone", contact["phone"]),
        ("States", ", ".join(states)),
        ("Services", ", ".join(modality_label(m) for m in request["modalities"])),
        ("Start by", request["start_by"]),
    ]
    if clinic.get("website"):
        details.insert(1, ("Website", clinic["website"]))
    return render_notice(
        "intro_director",
        to=director["email"],
        idempotency_ref=f"{request['request_id']}.{director['director_id']}",
        subject=f"Introduction: {clinic['name']}",
        request_id=request["request_id"],
        greeting=f"Hello Dr. {director['last_name']},",
        paragraphs=[
            f"Thank you for accepting. Here is {clinic['name']}; they are expecting you to get in touch.",
            "Please reach out within one business day to agree the directorship and its paperwork.",
        ],
        details=details,
    )


def filled_email(offer: dict[str, Any], director: dict[str, Any]) -> Email:
    return render_notice(
        "filled",
        to=director["email"],
        idempotency_ref=f"{offer['request_id']}.{offer['director_id']}",
        subject="Position filled: thank you",
        request_id=offer["request_id"],
        greeting=f"Hello Dr. {director['last_name']},",
        paragraphs=[
            "Another physician accepted the medical director position we offered you "
            f"({', '.join(offer['summary']['states'])}), so this offer is closed.",
            "Thank you for your time; we will keep you in mind for the next clinic that fits.",
        ],
    )


def declined_email(offer: dict[str, Any], director: dict[str, Any]) -> Email:
    return render_notice(
        "declined",
        to=director["email"],
        idempotency_ref=f"{offer['request_id']}.{offer['director_id']}",
        subject="You declined an offer: noted",
        request_id=offer["request_id"],
        greeting=f"Hello Dr. {director['last_name']},",
        paragraphs=[
            "We recorded that you declined this offer; nothing else is needed from you.",
            "If your availability has changed, reply to this email and we will update your profile.",
        ],
    )


def clinic_update_email(request: dict[str, Any]) -> Email:
    wave = int(request.get("wave", 1))
    return render_notice(
        "clinic_update",
        to=request["contact"]["email"],
        idempotency_ref=f"{request['request_id']}.w{wave}",
        subject="Your medical director search continues",
        request_id=request["request_id"],
        greeting=f"Hello {request['contact']['name']},",
        paragraphs=[
            "The physicians we contacted first have not taken the position yet, so we have offered it to "
            "more physicians licensed in your state(s).",
            "We will email you as soon as one accepts. Our promise stands: matched within 24 hours.",
        ],
    )


OPS_ALERT_TEXT = {
    "SLA_20H": "Request {request_id} has no accepted director 20 hours after it was submitted "
    "(wave {wave}). The 24-hour promise is at risk: find a director by hand or call the clinic.",
    "STUCK_NEW": "Request {request_id} was submitted at {request_created_at} and has not been matched: "
    "check the match function's errors and the stream failure queue.",
}


def ops_alert_email(alert: dict[str, Any], ops_email: str) -> Email:
    text = OPS_ALERT_TEXT.get(alert["alert"], "Alert {alert} on request {request_id}.")
    return render_notice(
        f"ops_{alert['alert'].lower()}",
        to=ops_email,
        idempotency_ref=alert["request_id"],
        subject=f"[ops] {alert['alert']} for request {alert['request_id']}",
        request_id=alert["request_id"],
        greeting="Ops,",
        paragraphs=[text.format(**{"wave": "?", "request_created_at": "?", **alert})],
    )


def expiry_email(profile: dict[str, Any], registration: str, expires_on: str) -> Email:
    return render_notice(
        "expiry_warning",
        to=profile["email"],
        idempotency_ref=f"{profile['director_id']}.{registration.replace(' ', '-')}.{expires_on}",
        subject=f"Your {registration} expires on {expires_on}",
        request_id=profile["director_id"],
        greeting=f"Hello Dr. {profile['last_name']},",
        paragraphs=[
            f"Our records show your {registration} expires on {expires_on}.",
            "Clinics you direct depend on it: please renew it and reply with the new expiry date, "
            "or we will stop offering you positions that need it.",
        ],
    )


def ops_expiry_email(ops_email: str, director_id: str, registration: str, expires_on: str) -> Email:
    return render_notice(
        "ops_expiry_warning",
        to=ops_email,
        idempotency_ref=f"{director_id}.{registration.replace(' ', '-')}.{expires_on}",
        subject=f"[ops] {registration} of director {director_id} expires {expires_on}",
        request_id=director_id,
        greeting="Ops,",
        paragraphs=[
            f"Director {director_id}'s {registration} expires on {expires_on}. They were emailed. "
            "Check the clinics they direct in that state and follow up on the renewal.",
        ],
    )
