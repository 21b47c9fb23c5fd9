"""The scheduled sweep: expire offers, send the next wave or give up, escalate at 20 hours.

It finds work through the RequestsByStatus index and each request's own partition (never a
Scan), and every change is conditional, so two sweeps at the same moment do nothing twice.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from directormatch import keys
from directormatch.aws.directors_table import DirectorStore
from directormatch.aws.requests_table import RequestStore
from directormatch.mail.notifier import EXPIRY_WARNING_KIND, OPS_EXPIRY_WARNING_KIND, Notifier
from directormatch.matching.engine import Shortlist, Weights
from directormatch.matching.waves import next_wave, no_match_alert
from directormatch.records import Alert, Request
from directormatch.vocabulary import AlertKind, OfferStatus, RequestStatus

ESCALATE_AFTER = timedelta(hours=20)
EXPIRY_WARNING = timedelta(days=30)
STUCK_AFTER = timedelta(minutes=15)


class Swept(StrEnum):
    """What a sweep counts: the keys of its report and of the sweep function's answer."""

    REQUESTS_CHECKED = "requests_checked"
    OFFERS_EXPIRED = "offers_expired"
    WAVES_SENT = "waves_sent"
    GAVE_UP = "gave_up"
    ESCALATED = "escalated"
    EXPIRY_WARNINGS = "expiry_warnings"


# How often a sweep did each thing (a Swept never counted reads 0).
SweepReport = Counter[Swept]


@dataclass(frozen=True)
class SweepSettings:
    wave_size: int
    offer_hours: int
    max_waves: int
    weights: Weights | None = None


def sweep(
    requests: RequestStore, directors: DirectorStore, settings: SweepSettings, now: datetime
) -> SweepReport:
    report = SweepReport()
    for summary in list(requests.requests_in_status(RequestStatus.OFFERED)):
        report[Swept.REQUESTS_CHECKED] += 1
        request = requests.get_request(summary["request_id"])
        if request is None or request.request_status != RequestStatus.OFFERED:
            continue
        _advance(request, requests, directors, settings, now, report)
        _escalate_if_late(Late.of(request), requests, now, report)
    stuck_since = _iso(now - STUCK_AFTER)
    for summary in list(requests.requests_in_status(RequestStatus.NEW, created_before=stuck_since)):
        # Matching should take seconds; a request still NEW after 15 minutes is stuck.
        late = Late(summary["request_id"], summary["created_at"], int(summary.get("wave", 0)))
        _escalate_if_late(late, requests, now, report, kind=AlertKind.STUCK_NEW, after=STUCK_AFTER)
    return report


def _advance(
    request: Request,
    requests: RequestStore,
    directors: DirectorStore,
    settings: SweepSettings,
    now: datetime,
    report: SweepReport,
) -> None:
    request_id = request.request_id
    offers = requests.offers(request_id)
    still_open = []
    for offer in offers:
        if offer.offer_status != OfferStatus.OPEN:
            continue
        if datetime.fromisoformat(offer.expires_at) <= now:
            if requests.close_offer(request_id, offer.director_id, OfferStatus.EXPIRED, now):
                report[Swept.OFFERS_EXPIRED] += 1
        else:
            still_open.append(offer)
    if still_open:
        return
    wave = request.current_wave
    if wave >= settings.max_waves:
        reason = f"all {wave} waves answered or expired without an accept"
        alert = no_match_alert(request_id, Shortlist(picks=(), candidates=0), _iso(now), reason)
        if requests.give_up(request_id, alert, wave, _iso(now)):
            report[Swept.GAVE_UP] += 1
        return
    offered = {offer.director_id for offer in offers}
    result, recorded = next_wave(
        request, offered, requests, directors, settings.wave_size, settings.offer_hours, settings.weights, now
    )
    if recorded:
        if result.picks:
            report[Swept.WAVES_SENT] += 1
        else:
            report[Swept.GAVE_UP] += 1


@dataclass(frozen=True)
class Late:
    """What an escalation needs of a request (a NEW one is known from its index entry alone)."""

    request_id: str
    created_at: str
    wave: int

    @classmethod
    def of(cls, request: Request) -> Late:
        return cls(request.request_id, request.created_at, request.wave or 0)


def _escalate_if_late(
    late: Late,
    requests: RequestStore,
    now: datetime,
    report: SweepReport,
    kind: AlertKind = AlertKind.SLA_20H,
    after: timedelta = ESCALATE_AFTER,
) -> None:
    if datetime.fromisoformat(late.created_at) > now - after:
        return
    alert = Alert.of(late.request_id, kind, _iso(now), request_created_at=late.created_at, wave=late.wave)
    if requests.raise_alert(alert):
        report[Swept.ESCALATED] += 1


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def warn_expiring(directors: DirectorStore, notifier: Notifier, now: datetime, report: SweepReport) -> None:
    """Each license or DEA registration lapsing within 30 days: one email to its director, one to ops,
    queued for the sender (the run only decides; a large roster's warnings never wait on SES)."""
    today, last = now.date(), (now + EXPIRY_WARNING).date()
    months = sorted({f"{today:%Y-%m}", f"{last:%Y-%m}"})
    for month in months:
        for expiry in directors.expiring(month, today.isoformat(), last.isoformat()):
            partition = keys.DIRECTOR(expiry.director_id)
            reference = f"{expiry.registration}#{expiry.expires_on}"
            # Warned on an earlier day: one read, before the profile's.
            if notifier.ledger.email_decided(partition, keys.EMAIL(OPS_EXPIRY_WARNING_KIND, reference)):
                continue
            profile = directors.get_profile(expiry.director_id)
            if profile is None or not profile.active:
                continue
            # The director's first, then ops' copy, whose marker says both were queued.
            queued = notifier.post(partition, EXPIRY_WARNING_KIND, reference)
            notifier.post(partition, OPS_EXPIRY_WARNING_KIND, reference)
            report[Swept.EXPIRY_WARNINGS] += int(queued)
