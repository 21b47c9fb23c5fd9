"""The scheduled sweep: expire offers, send the next wave or give up, escalate at 20 hours.

It finds work through the RequestsByStatus index and each request's own partition (never a
Scan), and every change is conditional, so two sweeps at the same moment do nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from directormatch import keys
from directormatch.aws.directors_table import DirectorStore
from directormatch.aws.requests_table import RequestStore
from directormatch.mail.messages import expiry_email, ops_expiry_email
from directormatch.mail.notifier import Notifier
from directormatch.matching.engine import Shortlist, Weights
from directormatch.matching.waves import next_wave, no_match_alert
from directormatch.vocabulary import AlertKind, OfferStatus, RequestStatus

ESCALATE_AFTER = timedelta(hours=20)
EXPIRY_WARNING = timedelta(days=30)


@dataclass
class SweepReport:
    requests_checked: int = 0
    offers_expired: int = 0
    waves_sent: int = 0
    gave_up: int = 0
    escalated: int = 0
    expiry_warnings: int = 0
    errors: list[str] = field(default_factory=list)


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
        report.requests_checked += 1
        request = requests.get_request(summary["request_id"])
        if request is None or request["request_status"] != RequestStatus.OFFERED:
            continue
        _advance(request, requests, directors, settings, now, report)
        _escalate_if_late(request, requests, now, report)
    for request in list(
        requests.requests_in_status(RequestStatus.NEW, created_before=_iso(now - timedelta(minutes=15)))
    ):
        # Matching should take seconds; a request still NEW after 15 minutes is stuck.
        _escalate_if_late(
            request, requests, now, report, kind=AlertKind.STUCK_NEW, after=timedelta(minutes=15)
        )
    return report


def _advance(
    request: dict[str, Any],
    requests: RequestStore,
    directors: DirectorStore,
    settings: SweepSettings,
    now: datetime,
    report: SweepReport,
) -> None:
    request_id = request["request_id"]
    offers = requests.offers(request_id)
    still_open = []
    for offer in offers:
        if offer["offer_status"] != OfferStatus.OPEN:
            continue
        if datetime.fromisoformat(offer["expires_at"]) <= now:
            if requests.close_offer(request_id, offer["director_id"], OfferStatus.EXPIRED, now):
                report.offers_expired += 1
        else:
            still_open.append(offer)
    if still_open:
        return
    wave = int(request.get("wave", 1))
    if wave >= settings.max_waves:
        alert = no_match_alert(request_id, Shortlist(picks=(), candidates=0), _iso(now))
        alert["reason"] = f"all {wave} waves answered or expired without an accept"
        if requests.give_up(request_id, alert, wave, _iso(now)):
            report.gave_up += 1
        return
    offered = {offer["director_id"] for offer in offers}
    result, recorded = next_wave(
        request, offered, requests, directors, settings.wave_size, settings.offer_hours, settings.weights, now
    )
    if recorded:
        if result.picks:
            report.waves_sent += 1
        else:
            report.gave_up += 1


def _escalate_if_late(
    request: dict[str, Any],
    requests: RequestStore,
    now: datetime,
    report: SweepReport,
    kind: AlertKind = AlertKind.SLA_20H,
    after: timedelta = ESCALATE_AFTER,
) -> None:
    if datetime.fromisoformat(request["created_at"]) > now - after:
        return
    alert = {
        "pk": request["request_id"],
        "sk": keys.alert_sk(kind),
        "request_id": request["request_id"],
        "alert": kind,
        "created_at": _iso(now),
        "request_created_at": request["created_at"],
        "wave": int(request.get("wave", 0)),
    }
    if requests.raise_alert(alert):
        report.escalated += 1


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def warn_expiring(directors: DirectorStore, notifier: Notifier, now: datetime, report: SweepReport) -> None:
    """Each license or DEA registration lapsing within 30 days: one email to its director, one to ops."""
    today, last = now.date(), (now + EXPIRY_WARNING).date()
    months = sorted({f"{today:%Y-%m}", f"{last:%Y-%m}"})
    for month in months:
        for item in directors.expiring(month, today.isoformat(), last.isoformat()):
            registration = _registration(item)
            profile = directors.get_profile(item["pk"])
            if profile is None or not profile.get("active", True):
                continue
            partition = f"DIRECTOR#{item['pk']}"
            reference = f"{registration}#{item['expires_on']}"
            sent = notifier.send_once(
                partition,
                "expiry_warning",
                reference,
                partial(expiry_email, profile, registration, item["expires_on"]),
            )
            notifier.send_once(
                partition,
                "ops_expiry_warning",
                reference,
                partial(ops_expiry_email, notifier.ops_email, item["pk"], registration, item["expires_on"]),
            )
            report.expiry_warnings += int(sent)


def _registration(item: dict[str, Any]) -> str:
    """'TX license' or 'TX DEA registration', from a LICENSE#TX or DEA#TX item."""
    kind, _, state = item["sk"].partition("#")
    return f"{state} {'license' if kind == 'LICENSE' else 'DEA registration'}"
