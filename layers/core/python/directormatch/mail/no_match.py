"""What a clinic is told when nobody could take its request: what we tried, why it failed in plain
words (from the matcher's exclusion reason codes), and what our team does next, by when. Where the
clinic's budget left no one who otherwise fits, it is told the lowest fee available instead.

Pure: it reads the request, its NO_MATCH alert and its offers as their records. The clinic's email
and its status page both say what this module says.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from directormatch.mail.labels import modality_label, per_month
from directormatch.records import Alert, Offer, Request

# How long our team takes to search by hand once the matcher has given up.
HAND_SEARCH = timedelta(hours=4)

# Per exclusion code: what an eligible director does (after "No director licensed in WY ..."), and
# what one or several excluded directors do not ("1 director ... does not", "3 directors ... do not").
# {services} and {supervisees} are the request's own.
EXCLUSION_WORDS: dict[str, tuple[str, str, str]] = {
    "INACTIVE": (
        "is active on our roster",
        "is not active on our roster",
        "are not active on our roster",
    ),
    "PAUSED": ("is taking new clinics now", "has paused new clinics", "have paused new clinics"),
    "EXCLUDED_OIG_SAM": (
        "is eligible to serve at present",
        "is not eligible to serve at present",
        "are not eligible to serve at present",
    ),
    "MODALITY_NOT_OFFERED": ("offers {services}", "does not offer {services}", "do not offer {services}"),
    "NO_CAPACITY": (
        "has room for another clinic",
        "has no room for another clinic",
        "have no room for another clinic",
    ),
    "MALPRACTICE_BELOW_FLOOR": (
        "carries the $1M/$3M malpractice coverage you asked for",
        "does not carry the $1M/$3M malpractice coverage you asked for",
        "do not carry the $1M/$3M malpractice coverage you asked for",
    ),
    "NO_ACTIVE_LICENSE": (
        "holds a license active by your start date",
        "does not hold a license active by your start date",
        "do not hold a license active by your start date",
    ),
    "LICENSE_EXPIRING": (
        "holds a license valid for long enough after your start date",
        "holds a license that lapses too soon after your start date",
        "hold licenses that lapse too soon after your start date",
    ),
    "NO_DEA_REGISTRATION": (
        "holds the DEA registration controlled substances require",
        "lacks the DEA registration controlled substances require",
        "lack the DEA registration controlled substances require",
    ),
    "OVER_BUDGET": (
        "charges within your budget of {budget}",
        "charges more than your budget of {budget}",
        "charge more than your budget of {budget}",
    ),
    "SUPERVISION_LIMIT": (
        "has room under the state's limits to supervise {supervisees}",
        "has no room under the state's limits to supervise {supervisees}",
        "have no room under the state's limits to supervise {supervisees}",
    ),
}

OFFER_ENDINGS = {"DECLINED": "declined", "EXPIRED": "did not answer in time", "OPEN": "have not answered"}


@dataclass(frozen=True)
class NoMatchStory:
    """The clinic's account of a request that ended NO_MATCH."""

    tried: str
    why: tuple[str, ...]
    next_step: str
    reply_by: str  # ISO time our team writes to the clinic by
    # Set when the clinic's budget left no one who otherwise fits: the lowest monthly fee above it,
    # for exactly what the clinic asked.
    lowest_available: int | None = None


def no_match_story(request: Request, alert: Alert, offers: Sequence[Offer]) -> NoMatchStory:
    """What to tell the clinic of `request`, whose NO_MATCH `alert` has been raised after `offers`."""
    reply_by = (datetime.fromisoformat(alert.created_at) + HAND_SEARCH).isoformat(timespec="minutes")
    why = exclusion_sentences(request, alert, others=bool(offers))
    tried = offers_tried(offers) if offers else checked(alert.candidates or 0, request.states)
    lowest = alert.lowest_available
    budget = request.budget_monthly
    if lowest is None or budget is None:
        next_step = (
            "Our team will now search by hand, beyond the physicians who receive offers automatically, "
            "and write to you with what we find."
        )
        return NoMatchStory(tried, tuple(why), next_step, reply_by)
    why.append(
        f"The lowest fee for exactly what you asked is {per_month(int(lowest))}, "
        f"above your budget of {per_month(int(budget))}."
    )
    next_step = (
        "Our team will contact you to find a way forward: your request offered again with a higher "
        "budget, or a search by hand for a physician within yours."
    )
    return NoMatchStory(tried, tuple(why), next_step, reply_by, int(lowest))


def checked(candidates: int, states: Sequence[str]) -> str:
    if candidates == 0:
        return f"We looked for physicians in our network licensed in {either(states)}."
    return (
        f"We checked the {plural(candidates, 'physician')} in our network licensed in {either(states)} "
        "against your request."
    )


def offers_tried(offers: Sequence[Offer]) -> str:
    """'We offered your request to 9 physicians over 3 rounds: 2 declined and 7 did not answer in time.'"""
    waves = len({o.wave for o in offers})
    endings = Counter(OFFER_ENDINGS.get(o.offer_status, "were withdrawn") for o in offers)
    outcome = and_list([f"{count} {ending}" for ending, count in endings.most_common()])
    physicians, rounds = plural(len(offers), "physician"), plural(waves, "round")
    return f"We offered your request to {physicians} over {rounds}: {outcome}."


def exclusion_sentences(request: Request, alert: Alert, others: bool = False) -> list[str]:
    """One plain sentence per reason code that kept directors out, most frequent first.

    `others`: the directors counted are those not offered before (a later wave found none left)."""
    states = request.states
    candidates = alert.candidates or 0
    excluded = alert.excluded or {}
    if candidates == 0:
        return [] if others else [f"No physician in our network is licensed in {either(states)} yet."]
    values = {
        "services": and_list([modality_label(m) for m in request.modalities]),
        "supervisees": supervisees(request),
        "budget": "" if request.budget_monthly is None else per_month(request.budget_monthly),
    }
    place = f"licensed in {either(states)}"
    other = "other " if others else ""
    sentences = []
    for code, count in sorted(excluded.items(), key=lambda kv: (-int(kv[1]), kv[0])):
        count = int(count)
        if code not in EXCLUSION_WORDS:
            sentences.append(f"{plural(count, other + 'physician')} {place} could not be offered it.")
            continue
        does, does_not, do_not = (words.format(**values) for words in EXCLUSION_WORDS[code])
        if count == candidates:
            sentences.append(f"No {other}physician {place} {does}.")
        else:
            sentences.append(
                f"{plural(count, other + 'physician')} {place} {does_not if count == 1 else do_not}."
            )
    uncovered = [s for s in alert.uncovered_states or [] if s in states]
    if uncovered and len(uncovered) < len(states):
        sentences.append(
            f"Physicians fit in {and_list([s for s in states if s not in uncovered])}, "
            f"but none who fits is licensed in {and_list(uncovered)}."
        )
    return [s[0].upper() + s[1:] for s in sentences]


def supervisees(request: Request) -> str:
    counts = request.supervisees
    parts = [plural(count, label) for count, label in ((counts.np, "NP"), (counts.pa, "PA"))]
    return and_list([p for p in parts if not p.startswith("0 ")]) or "your supervisees"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def and_list(words: Sequence[str]) -> str:
    return join(words, "and")


def either(words: Sequence[str]) -> str:
    return join(words, "or")


def join(words: Sequence[str], last: str) -> str:
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {last} {words[-1]}"
