"""Every email we send: who gets it, its idempotency reference, and the items its template reads.

The words live in templates/<kind>.{subject,txt,html}; the builders take the stored items as their
records (directormatch.records), and the templates read them by dot access. An application's items
are not stored records yet when its emails go, so those builders read them as mappings. Every email
names the reference its reader quotes, and writes times in its reader's zone (`zone`, for the
local_time filter): a clinic's is its first state's, a director's their home's
(timezones.director_zone), ops read UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from directormatch.links import manage_link, offer_links
from directormatch.mail.introduction import Introduction, clinic_rows, director_rows
from directormatch.mail.no_match import NoMatchStory
from directormatch.mail.render import Email, render
from directormatch.manage.changes import Change
from directormatch.offers.reply_to import reply_address
from directormatch.records import Alert, Match, Offer, Profile, Request
from directormatch.references import reference_of
from directormatch.timezones import OPS_ZONE, clinic_zone, director_zone
from directormatch.vocabulary import AlertKind


def receipt_email(request: Request, status_url: str) -> Email:
    return _to_clinic("receipt", request, status_url=status_url)


def introduction_email(request: Request, introduction: Introduction) -> Email:
    """One email to the clinic's contact and every accepting director, all in To so that any of them
    can reply to all. Its readers may live in several zones: times are the clinic's, the zone named."""
    addresses = introduction.addresses(request.contact.email)
    team = introduction.team
    directors = [(d, director_rows(d, request.modalities, team)) for d in introduction.directors]
    return _to_clinic(
        "introduction",
        request,
        to=addresses,
        introduction=introduction,
        directors=directors,
        clinic_rows=clinic_rows(request),
    )


def clinic_update_email(request: Request) -> Email:
    # One per wave: each further wave is news to the clinic.
    return _to_clinic("clinic_update", request, ref_suffix=f".w{request.current_wave}")


# One member of a team, as the clinic's quote gives it: (the states they cover, their monthly fee).
TeamMember = tuple[Sequence[str], int | None]


def team_members(states: Sequence[str], offers: Iterable[Offer], wave: int = 1) -> list[TeamMember]:
    """A team's members offered in `wave`, in the clinic's state order (`states`)."""
    members = [(o.covers_states, o.fee_monthly) for o in offers if o.wave == wave]
    return sorted(members, key=lambda member: states.index(member[0][0]))


def quote_email(request: Request, match: Match, status_url: str, members: Sequence[TeamMember] = ()) -> Email:
    """The clinic's quote; for a team, `members` gives each member's (states covered, monthly fee)."""
    return _to_clinic(
        "quote",
        request,
        quote=match.quote,
        offered=len(match.shortlist),
        team=match.team,
        members=members,
        status_url=status_url,
    )


def _to_clinic(
    kind: str, request: Request, ref_suffix: str = "", to: Sequence[str] = (), **context: Any
) -> Email:
    """An email to the clinic's contact (`to`, when given, names everyone it is addressed to)."""
    request_id = request.request_id
    return render(
        kind,
        to=to or request.contact.email,
        idempotency_ref=request_id + ref_suffix,
        request_id=request_id,
        reference=reference_of(request),
        zone=clinic_zone(request.states),
        request=request,
        **context,
    )


def offer_email(offer: Offer, director: Profile, base_url: str, inbound_domain: str = "") -> Email:
    request_id, director_id = offer.request_id, offer.director_id
    reply_to = reply_address(request_id, director_id, inbound_domain) if inbound_domain else ""
    links = offer_links(offer, base_url)
    email = _to_director("offer", director, offer, offer=offer, reply_enabled=bool(reply_to), **links)
    return replace(email, reply_to=reply_to)


def filled_email(offer: Offer, director: Profile) -> Email:
    return _to_director("filled", director, offer, offer=offer)


def declined_email(offer: Offer, director: Profile) -> Email:
    return _to_director("declined", director, offer, offer=offer)


def reading_zone(director: Profile | None, about: Request | Offer) -> str:
    """The zone `director` reads times in, for an email or page about a request or an offer of it
    (without a profile: the request's first state's)."""
    states = about.summary.states if isinstance(about, Offer) else about.states
    return director_zone(director.licensed_states if director else (), states)


def _to_director(
    kind: str, director: Profile, about: Request | Offer, ref_suffix: str = "", **context: Any
) -> Email:
    """An email to `director` about a request, or an offer of it (`about`)."""
    request_id = about.request_id
    director_id = about.director_id if isinstance(about, Offer) else director.director_id
    return render(
        kind,
        to=director.email,
        idempotency_ref=f"{request_id}.{director_id}{ref_suffix}",
        request_id=request_id,
        reference=reference_of(about),
        zone=reading_zone(director, about),
        director=director,
        manage_url=_manage_url(director_id, request_id),
        **context,
    )


def _manage_url(director_id: str, source: str) -> str:
    """The director's "manage my availability" link that this email carries: a new one per email."""
    from directormatch.settings import get_settings

    return manage_link(get_settings().public_base_url, director_id, source, datetime.now(UTC))


def clinic_no_match_email(request: Request, story: NoMatchStory) -> Email:
    """The clinic's honest account of a request nobody could take (see mail.no_match)."""
    return _to_clinic("no_match", request, story=story)


def ops_alert_email(
    alert: Alert, ops_email: str, reference: str, request: Request | None = None, offers: Sequence[Offer] = ()
) -> Email:
    """An alert to ops, with the clinic's details and each wave's offers and how each ended (ops may
    read personal data; the request is None only where it cannot be read). NO_MATCH has its own
    template; every other kind shares one, its words chosen by the alert's kind. A STREAM_FAILED
    alert is one per failed record, and so is its Message-ID."""
    request_id, kind = alert.request_id, f"ops_{alert.alert.lower()}"
    ref = request_id
    if alert.alert == AlertKind.STREAM_FAILED:
        ref = f"{request_id}.{alert.function}.{alert.sequence_number}"
    waves = [(wave, [o for o in offers if o.wave == wave]) for wave in sorted({o.wave for o in offers})]
    # Ops find a request by its id (the table's key) and hear from the clinic its code: both.
    request_label = request_id if reference == request_id else f"{reference} (id {request_id})"
    return render(
        kind,
        to=ops_email,
        idempotency_ref=ref,
        template="" if kind == "ops_no_match" else "ops_alert",
        request_id=request_id,
        reference=reference,
        request_label=request_label,
        zone=OPS_ZONE,
        alert=alert,
        request=request,
        waves=waves,
    )


def expiry_email(profile: Profile, registration: str, expires_on: str) -> Email:
    director_id = profile.director_id
    return _expiry(
        "expiry_warning",
        profile.email,
        director_id,
        registration,
        expires_on,
        profile=profile,
        manage_url=_manage_url(director_id, "expiry"),
    )


def ops_expiry_email(ops_email: str, director_id: str, registration: str, expires_on: str) -> Email:
    return _expiry("ops_expiry_warning", ops_email, director_id, registration, expires_on)


def _expiry(
    kind: str, to: str, director_id: str, registration: str, expires_on: str, **context: Any
) -> Email:
    """A warning that one of a director's registrations lapses soon: one per registration and date."""
    return render(
        kind,
        to=to,
        idempotency_ref=f"{director_id}.{registration.replace(' ', '-')}.{expires_on}",
        request_id=director_id,
        reference=director_id,
        director_id=director_id,
        registration=registration,
        expires_on=expires_on,
        **context,
    )


def reply_answer_email(offer: Offer, director: Profile, reply_ref: str, outcome: str) -> Email:
    """The answer to a director's reply that changed nothing: UNCLEAR (how to reply), or the offer
    outcome that stopped it (FILLED, EXPIRED, ...); templates/_reply_answer.words says each.
    `reply_ref` tells one reply's answer from another's."""
    return _to_director("reply_answer", director, offer, f".{reply_ref}", offer=offer, outcome=outcome)


# The fee schedule's lines after the base, in the words the application emails use.
FEE_LABELS = (
    ("per_np", "per NP"),
    ("per_pa", "per PA"),
    ("per_additional_state", "per additional state"),
    ("per_additional_location", "per additional location"),
    ("controlled_premium", "controlled substances premium"),
)


def application_received_email(
    profile: Mapping[str, Any], registrations: Sequence[Mapping[str, Any]]
) -> Email:
    """The applicant's receipt, listing what they sent."""
    return _about_application("application_received", profile["email"], profile, registrations)


def ops_application_email(
    profile: Mapping[str, Any], registrations: Sequence[Mapping[str, Any]], ops_email: str
) -> Email:
    """Ops' copy of an application, with everything to verify."""
    return _about_application("ops_application", ops_email, profile, registrations)


def application_decided_email(
    profile: Mapping[str, Any], registrations: Sequence[Mapping[str, Any]], decision: Any
) -> Email:
    """The applicant told ops' decision (an aws.applications.Decision: status, reason)."""
    return _about_application(
        "application_decided", profile["email"], profile, registrations, decision=decision
    )


def _about_application(
    kind: str, to: str, profile: Mapping[str, Any], registrations: Sequence[Mapping[str, Any]], **context: Any
) -> Email:
    """An email about a director's application, listing what it holds: the PROFILE and its
    LICENSE#/DEA# items. The application's id is the reference its reader quotes."""
    director_id = profile["director_id"]
    return render(
        kind,
        to=to,
        idempotency_ref=director_id,
        reference=director_id,
        profile=profile,
        licenses=[item for item in registrations if "license_state" in item],
        dea=[item for item in registrations if "dea_number" in item],
        fee_labels=FEE_LABELS,
        **context,
    )


def manage_confirmation_email(profile: Profile, change: Change, manage_url: str) -> Email:
    """The director's short confirmation of a change they made themselves, one per profile version."""
    director_id = profile.director_id
    return render(
        "manage_confirmation",
        to=profile.email,
        idempotency_ref=f"{director_id}.v{profile.current_version}",
        request_id=director_id,
        reference=director_id,
        profile=profile,
        summary=change.summary,
        manage_url=manage_url,
    )


def ops_director_note_email(ops_email: str, profile: Profile, change: Change) -> Email:
    """Ops hear of services a director asked to add that their specialties do not fit."""
    director_id = profile.director_id
    return render(
        "ops_director_note",
        to=ops_email,
        idempotency_ref=f"{director_id}.v{profile.current_version}",
        request_id=director_id,
        reference=director_id,
        profile=profile,
        asked=change.asked_of_ops,
    )
