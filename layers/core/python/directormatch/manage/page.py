"""The manage page: what we hold about a director and the forms that change it."""

from __future__ import annotations

from datetime import datetime, timedelta
from http import HTTPStatus

from directormatch.mail.render import render_page
from directormatch.manage.changes import FEE_FIELDS, LONGEST_PAUSE, allowed_modalities
from directormatch.manage.service import Director
from directormatch.offers.pages import Page
from directormatch.timezones import home_zone, local_date
from directormatch.vocabulary import Modality

FEE_LABELS = {
    "base": "Base (one state, one location)",
    "per_np": "Per NP supervised",
    "per_pa": "Per PA supervised",
    "per_additional_state": "Per additional state",
    "per_additional_location": "Per additional location",
    "controlled_premium": "Controlled substances premium",
    "chart_review_percent": "Chart review (% of charts)",
    "chart_review_fee": "Chart review fee",
}


def manage_page(
    director: Director,
    post_url: str,
    now: datetime,
    notice: str | None = None,
    status: HTTPStatus = HTTPStatus.OK,
) -> Page:
    """The page; `notice` says what the last post did (a bad status marks it as a problem)."""
    profile = director.profile
    zone = home_zone(profile.licensed_states)
    allowed = allowed_modalities(profile)
    fees = profile.fees.to_item() if profile.fees else {}
    html = render_page(
        "page_manage",
        profile=profile,
        paused=profile.paused_at(now),
        notice=notice,
        bad=status != HTTPStatus.OK,
        post_url=post_url,
        zone=zone,
        # Today, and the days a pause may end on, as the director's calendar shows them.
        today=local_date(now, zone).isoformat(),
        tomorrow=local_date(now + timedelta(days=1), zone).isoformat(),
        latest=local_date(now + LONGEST_PAUSE - timedelta(days=1), zone).isoformat(),
        directed=director.directed,
        modalities=allowed,
        others=[m.value for m in Modality if m.value not in allowed],
        fee_fields=[(name, FEE_LABELS[name]) for name in FEE_FIELDS],
        fees={name: fees.get(name) for name in FEE_FIELDS},
        licenses=director.licenses,
        registrations=director.registrations,
    )
    return Page(status, html)
