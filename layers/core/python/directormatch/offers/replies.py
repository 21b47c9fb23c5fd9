"""Acting on a reply to an offer email, and answering the director when the reply cannot act."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import StrEnum

from directormatch.aws.directors_table import DirectorStore
from directormatch.aws.requests_table import RequestStore
from directormatch.mail.delivery import Delivery
from directormatch.mail.messages import reply_answer_email
from directormatch.manage.service import Via, decline_and_pause
from directormatch.observability import logger
from directormatch.offers import lifecycle as offers
from directormatch.offers.inbound_mail import Intent, Reply


class ReplyOutcome(StrEnum):
    ACTED = "ACTED"
    # SPF/DKIM/DMARC did not pass, or DMARC passed for another domain than the From's: ignored, no answer
    NOT_AUTHENTIC = "NOT_AUTHENTIC"
    # The From header is not one plain mailbox read the same way by SES and by us: ignored, no answer
    REFUSED_SENDER = "REFUSED_SENDER"
    WRONG_SENDER = "WRONG_SENDER"  # not the offered director's address: ignored, no answer
    UNKNOWN_OFFER = "UNKNOWN_OFFER"
    UNCLEAR = "UNCLEAR"  # answered with instructions, nothing changed
    TOO_LATE = "TOO_LATE"  # answered with what happened (filled, expired, answered before)


def handle_reply(
    reply: Reply, requests: RequestStore, directors: DirectorStore, delivery: Delivery
) -> tuple[ReplyOutcome, offers.Outcome | None]:
    log = {"request_id": reply.request_id, "director_id": reply.director_id, "intent": reply.intent.value}
    if not reply.authentic:
        logger.info("reply ignored: authentication failed", extra={**log, "failed": reply.failed_checks})
        return ReplyOutcome.NOT_AUTHENTIC, None
    if reply.refusal is not None:
        logger.info("reply ignored: sender refused", extra={**log, "reason": reply.refusal.value})
        return ReplyOutcome.REFUSED_SENDER, None
    profile = directors.get_profile(reply.director_id)
    offer = requests.get_offer(reply.request_id, reply.director_id)
    if profile is None or offer is None:
        logger.info("reply ignored: no such offer", extra=log)
        return ReplyOutcome.UNKNOWN_OFFER, None
    # Local parts compare case-insensitively too: the providers directors use treat them so, and the
    # DMARC pass already says the domain's own mail system sent the message.
    if profile.email.lower() != reply.sender:
        logger.info("reply ignored: sender is not the offered director", extra=log)
        return ReplyOutcome.WRONG_SENDER, None
    reference = hashlib.sha256(reply.message_id.encode()).hexdigest()[:16]
    if reply.intent == Intent.UNCLEAR:
        delivery.send_once(
            reply.request_id,
            "reply_help",
            reference,
            lambda: reply_answer_email(offer, profile, reference, "UNCLEAR"),
        )
        return ReplyOutcome.UNCLEAR, None
    told = profile
    if reply.intent == Intent.ACCEPT:
        answer = offers.accept(requests, directors, reply.request_id, reply.director_id, via="reply")
    elif reply.intent == Intent.PAUSE:
        via = Via("reply", reply.request_id)
        answer, after = decline_and_pause(
            requests, directors, reply.request_id, reply.director_id, via, datetime.now(UTC)
        )
        told = after or profile
    else:
        answer = offers.decline(requests, reply.request_id, reply.director_id, via="reply")
    paused = told.current_version != profile.current_version
    logger.info("reply acted on", extra={**log, "outcome": answer.outcome.value, "paused": paused})
    if answer.changed:
        return ReplyOutcome.ACTED, answer.outcome
    # The offer could not change (filled, expired, answered before): say so, and a pause this reply
    # set (the answer tells it, under the outcome).
    delivery.send_once(
        reply.request_id,
        "reply_outcome",
        reference,
        lambda: reply_answer_email(answer.offer or offer, told, reference, answer.outcome),
    )
    return ReplyOutcome.ACTED if paused else ReplyOutcome.TOO_LATE, answer.outcome
