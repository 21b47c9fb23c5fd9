"""Which email a stream record asks for, and sending it exactly once per (request, kind, recipient)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from directormatch import keys, tokens
from directormatch.emails import Email, Mailer, render
from directormatch.observability import MetricName, logger, metrics
from directormatch.store import DirectorStore, RequestStore

MODALITY_LABELS = {
    "iv_therapy": "IV therapy",
    "addiction_medicine": "addiction medicine",
}


def modality_label(modality: str) -> str:
    return MODALITY_LABELS.get(modality, modality.replace("_", " "))


def receipt_email(request: dict[str, Any]) -> Email:
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


def offer_email(offer: dict[str, Any], director: dict[str, Any], base_url: str) -> Email:
    summary = offer["summary"]
    return render(
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
        reasons=offer["reasons"],
        expires_at=offer["expires_at"].replace("T", " ")[:16],
        reply_enabled=False,
        **offer_links(offer, base_url),
    )


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


class Notifier:
    def __init__(
        self,
        requests: RequestStore,
        directors: DirectorStore,
        mailer: Mailer,
        lease_seconds: int,
        ops_email: str,
        public_base_url: str,
    ) -> None:
        self.requests = requests
        self.directors = directors
        self.mailer = mailer
        self.lease_seconds = lease_seconds
        self.ops_email = ops_email
        self.public_base_url = public_base_url

    def on_new_item(self, item: dict[str, Any]) -> None:
        sk = item["sk"]
        if sk == keys.REQUEST_SK:
            self.send_once(item["request_id"], "receipt", "clinic", lambda: receipt_email(item))
        elif sk.startswith(keys.OFFER_PREFIX):
            self.send_once(item["request_id"], "offer", item["director_id"], lambda: self._offer_email(item))
        elif sk == keys.alert_sk("NO_MATCH"):
            self.send_once(
                item["request_id"], "ops_no_match", "ops", lambda: no_match_email(item, self.ops_email)
            )

    def _offer_email(self, offer: dict[str, Any]) -> Email:
        director = self.directors.get_profile(offer["director_id"])
        if director is None:
            raise LookupError(f"director {offer['director_id']} has no profile")
        return offer_email(offer, director, self.public_base_url)

    def send_once(self, request_id: str, kind: str, recipient_id: str, build: Callable[[], Email]) -> bool:
        marker = keys.email_sk(kind, recipient_id)
        if not self.requests.claim_email(request_id, marker, int(time.time()), self.lease_seconds):
            logger.info("email already sent", extra={"request_id": request_id, "kind": kind})
            metrics.add_metric(name=MetricName.DUPLICATE_SKIPPED, unit="Count", value=1)
            return False
        try:
            message_id = self.mailer.send(build())
        except Exception:
            self.requests.release_email(request_id, marker)
            raise
        self.requests.mark_email_sent(request_id, marker, message_id, int(time.time()))
        metrics.add_metric(name=MetricName.EMAIL_SENT, unit="Count", value=1)
        logger.info(
            "email sent", extra={"request_id": request_id, "kind": kind, "recipient_id": recipient_id}
        )
        return True
