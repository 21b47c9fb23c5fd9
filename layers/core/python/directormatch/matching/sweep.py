"""The sweep: expire offers, send the next wave or give up, escalate at 20 hours.

Each wave's expiry and each request's SLA is a one-time schedule that calls the sweep for that one
request (advance_request, escalate_request). The periodic safety net finds what a schedule missed
through the RequestsByStatus index and each request's own partition (never a Scan), a page at a
time. Every change is conditional, so a late schedule or two sweeps at once do nothing twice.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from directormatch import keys
from directormatch.aws.directors_table import DirectorStore
from directormatch.aws.requests_table import RequestStore
from directormatch.aws.schedules import SweepSchedules
from directormatch.mail.notifier import EXPIRY_WARNING_KIND, OPS_EXPIRY_WARNING_KIND, Notifier
from directormatch.matching.engine import Shortlist, Weights
from directormatch.matching.waves import ESCALATE_AFTER, next_wave, no_match_alert
from directormatch.records import Alert, Request
from directormatch.vocabulary import AlertKind, OfferStatus, RequestStatus

EXPIRY_WARNING = timedelta(days=30)
STUCK_AFTER = timedelta(minutes=15)
# The safety net leaves a due request this long to its schedule before it acts itself.
SAFETY_NET_GRACE = timedelta(minutes=15)
# The most requests one safety-net invocation handles; the rest go to its next page.
PAGE = 1000


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
    schedules: SweepSchedules | None = None  # where each next wave schedules its expiry


@dataclass(frozen=True, order=True)
class Cursor:
    """Where a safety-net pass stopped: the last OFFERED request it handled, in index order."""

    created_at: str
    request_id: str


# A next page that starts at the oldest OFFERED request (the first page's NEW ones filled it).
START = Cursor("", "")


def advance_request(
    request_id: str, requests: RequestStore, directors: DirectorStore, settings: SweepSettings, now: datetime
) -> SweepReport:
    """A wave's expiry schedule: today's conditional steps for one request, nothing once it left OFFERED."""
    report = SweepReport()
    request = _offered(request_id, requests, report)
    if request is not None:
        _advance(request, requests, directors, settings, now, now, report)
    return report


def escalate_request(request_id: str, requests: RequestStore, now: datetime) -> SweepReport:
    """A request's 20-hour schedule: the ops alert once, if it is still OFFERED."""
    report = SweepReport()
    request = _offered(request_id, requests, report)
    if request is not None:
        _escalate_if_late(Late.of(request), requests, now, report)
    return report


def _offered(request_id: str, requests: RequestStore, report: SweepReport) -> Request | None:
    report[Swept.REQUESTS_CHECKED] += 1
    request = requests.get_request(request_id)
    return request if request is not None and request.request_status == RequestStatus.OFFERED else None


def sweep(
    requests: RequestStore, directors: DirectorStore, settings: SweepSettings, now: datetime
) -> SweepReport:
    """Every due request at `now`, as one pass (no grace, no page limit): tests and benches."""
    report, _ = safety_net(requests, directors, settings, now, grace=timedelta(0), limit=None)
    return report


def safety_net(
    requests: RequestStore,
    directors: DirectorStore,
    settings: SweepSettings,
    now: datetime,
    grace: timedelta = SAFETY_NET_GRACE,
    after: Cursor | None = None,
    limit: int | None = PAGE,
) -> tuple[SweepReport, Cursor | None]:
    """What the schedules missed: OFFERED requests with an offer expired more than `grace` ago or past
    their SLA, and (on the first page) NEW requests stuck past 15 minutes. At most `limit` requests;
    returns where to continue, or None when the pass is done. A request younger than one wave plus
    the grace cannot be overdue, so the read starts at the oldest and stops there."""
    report = SweepReport()
    if after is None:
        _escalate_stuck(requests, now, report, limit)
    young = _iso(now - timedelta(hours=settings.offer_hours) - grace)
    summaries = requests.requests_in_status(RequestStatus.OFFERED, created_before=young)
    for summary in summaries:
        at = Cursor(summary["created_at"], summary["request_id"])
        if (after is not None and at <= after) or not _overdue(summary, now - grace):
            continue
        if limit is not None and report[Swept.REQUESTS_CHECKED] >= limit:
            return report, after or START
        after = at
        request = _offered(at.request_id, requests, report)
        if request is not None:
            _advance(request, requests, directors, settings, now, now - grace, report)
            _escalate_if_late(Late.of(request), requests, now, report, after=ESCALATE_AFTER + grace)
    return report, None


def _overdue(summary: dict[str, Any], due: datetime) -> bool:
    """From its index entry: the wave expired by `due`, or it is past its SLA (an entry written
    before wave_expires_at existed is read whole to find out)."""
    expires_at = summary.get("wave_expires_at")
    if expires_at is None or datetime.fromisoformat(expires_at) <= due:
        return True
    return datetime.fromisoformat(summary["created_at"]) <= due - ESCALATE_AFTER


def _escalate_stuck(requests: RequestStore, now: datetime, report: SweepReport, limit: int | None) -> None:
    """Matching should take seconds; a request still NEW after 15 minutes is stuck."""
    stuck = requests.requests_in_status(RequestStatus.NEW, created_before=_iso(now - STUCK_AFTER))
    for summary in itertools.islice(stuck, limit):
        report[Swept.REQUESTS_CHECKED] += 1
        late = Late(summary["request_id"], summary["created_at"], int(summary.get("wave", 0)))
        _escalate_if_late(late, requests, now, report, kind=AlertKind.STUCK_NEW, after=STUCK_AFTER)


def _advance(
    request: Request,
    requests: RequestStore,
    directors: DirectorStore,
    settings: SweepSettings,
    now: datetime,
    due: datetime,
    report: SweepReport,
) -> None:
    """Offers that expired by `due` are EXPIRED at `now`; with none left open, the next wave or NO_MATCH."""
    request_id = request.request_id
    offers = requests.offers(request_id)
    still_open = []
    for offer in offers:
        if offer.offer_status != OfferStatus.OPEN:
            continue
        if datetime.fromisoformat(offer.expires_at) <= due:
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
        request,
        offered,
        requests,
        directors,
        settings.wave_size,
        settings.offer_hours,
        settings.weights,
        now,
        settings.schedules,
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
