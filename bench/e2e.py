"""End to end on the local stack: submit -> first offer email, and the emails a quote sends.

Starts `python -m local` (local.launch: a temporary state directory, output to a file) with the sweep
on its deployed period (SWEEP_SECONDS=300, rate(5 minutes), not the demo's 5 s) and moto's
transactions patched (local.moto_patch). Quotes for varied states are POSTed with 2 in flight (a
worker sends its next quote once the previous one has its first offer email), and for each the
time from just before the POST to the first offer email for that request id appearing in
/_outbox.json (polled every 50 ms, the resolution) is taken. p50 and p95.

Then the first offer of some matched requests is accepted by replying ACCEPT to its email (the
stack's simulated SES inbound), and the outbox is counted by kind, for the emails per quote the cost
uses: receipt and offers from every quote, introductions and "position filled" notes per accept.
"""

from __future__ import annotations

import email
import json
import re
import statistics
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from email.policy import default
from pathlib import Path
from typing import Any

from bench.common import percentile, quote_body, say
from local import launch
from local.launch import RunningStack

ROSTER = 600
IN_FLIGHT = 2
POLL_SECONDS = 0.05
OFFER_TIMEOUT = 60.0
# More mixes than bench.common.STATES: the stack's roster spreads over more states.
STATES = (
    ["TX"],
    ["CA"],
    ["FL"],
    ["NY"],
    ["TX", "OK"],
    ["WA"],
    ["GA"],
    ["IL"],
    ["AZ"],
    ["CO"],
    ["PA"],
    ["OH"],
    ["NC"],
    ["MI"],
    ["NJ", "NY"],
    ["VA"],
)
MESSAGE_ID = re.compile(r"<(?P<kind>[a-z_0-9]+)\.(?P<ref>[^@>]+)@")


def parse(entry: dict[str, str]) -> tuple[str, str]:
    """(kind, request id) from the stable Message-ID <kind.request[.recipient]@directormatch>."""
    found = MESSAGE_ID.search(entry.get("message_id", ""))
    return (found.group("kind"), found.group("ref").split(".")[0]) if found else (entry.get("kind", "?"), "")


class Outbox:
    """Polls /_outbox.json in a thread and remembers when each (kind, request) first appeared."""

    def __init__(self, stack: RunningStack) -> None:
        self.stack = stack
        self.first_seen: dict[tuple[str, str], float] = {}
        self.entries: list[dict[str, Any]] = []
        self.changed = threading.Condition()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.poll, name="outbox-watcher", daemon=True)
        self.thread.start()

    def poll(self) -> None:
        while not self.stopped.is_set():
            entries = self.stack.outbox(timeout=120)
            now = time.time()
            with self.changed:
                for entry in entries[len(self.entries) :]:
                    self.first_seen.setdefault(parse(entry), now)
                self.entries = entries
                self.changed.notify_all()
            self.stopped.wait(POLL_SECONDS)

    def first(self, request_id: str, kinds: tuple[str, ...]) -> tuple[str, float] | None:
        """The first of `kinds` to appear for the request, and when (None after OFFER_TIMEOUT)."""
        keys = [(kind, request_id) for kind in kinds]
        with self.changed:
            if not self.changed.wait_for(lambda: any(k in self.first_seen for k in keys), OFFER_TIMEOUT):
                return None
            kind, _ = min((k for k in keys if k in self.first_seen), key=self.first_seen.__getitem__)
            return kind, self.first_seen[kind, request_id]

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)


def submit(stack: RunningStack, outbox: Outbox, index: int) -> dict[str, Any]:
    """POST one quote and wait for its first offer (or no-match) email."""
    headers = {"Content-Type": "application/json", "Idempotency-Key": f"e2e-bench-{index}-{time.time_ns()}"}
    body = json.dumps(quote_body(index, STATES[index % len(STATES)])).encode()
    submitted = time.time()
    status, _, data = stack.request("POST", "/quote-requests", body, headers, timeout=120)
    post_ms = (time.time() - submitted) * 1000
    if status != 201:
        raise RuntimeError(f"POST /quote-requests answered {status}: {data[:300]!r}")
    request_id = json.loads(data)["request_id"]
    seen = outbox.first(request_id, ("offer", "ops_no_match"))
    outcome = "timeout" if seen is None else "no_match" if seen[0] == "ops_no_match" else "offer"
    offer_s = seen[1] - submitted if seen and outcome == "offer" else None
    return {"request_id": request_id, "post_ms": post_ms, "offer_s": offer_s, "outcome": outcome}


def accept(stack: RunningStack, outbox: Outbox, request_ids: list[str]) -> list[str]:
    """Reply ACCEPT to each request's first offer email; returns the requests whose reply was ACTED."""
    accepted = []
    for request_id in request_ids:
        entry = next(e for e in outbox.entries if parse(e) == ("offer", request_id))
        form = urllib.parse.urlencode({"body": "ACCEPT"}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        status, _, data = stack.request("POST", f"/_outbox/{entry['file']}/reply", form, headers, timeout=120)
        if status == 200 and "ACTED" in data.decode(errors="replace"):
            accepted.append(request_id)
    return accepted


def wait_quiet(outbox: Outbox, accepted: list[str], timeout: float = 120.0, quiet: float = 3.0) -> None:
    """Until every accepted request has its introduction and the outbox stops growing."""
    deadline = time.time() + timeout
    last, since = -1, time.time()
    while time.time() < deadline:
        if len(outbox.entries) != last:
            last, since = len(outbox.entries), time.time()
        elif all(("introduction", r) in outbox.first_seen for r in accepted) and time.time() - since >= quiet:
            return
        time.sleep(0.2)


def why_not_acted(state_dir: Path, entries: list[dict[str, Any]], refused: set[str]) -> dict[str, int]:
    """What the director was told when an ACCEPT reply changed nothing: the request's reply_answer
    email, matched to the sentence each outcome's answer says."""
    from directormatch.mail.messages import reply_answer_email
    from directormatch.offers.lifecycle import Outcome

    offer = {"request_id": "R", "director_id": "D", "summary": {"states": ["TX"]}, "expires_at": "2026-01-01"}
    director = {"director_id": "D", "email": "director@example.com"}

    def words(outcome: Outcome) -> str:
        text = reply_answer_email(offer, director, "ref", outcome).text
        said = " ".join(text.split("Hello,", 1)[1].rsplit("DirectorMatch - reference", 1)[0].split())
        return said.split(" (", 1)[0]  # the words before a time, which differ per offer

    sentences = {outcome.value: words(outcome) for outcome in Outcome}
    reasons: Counter[str] = Counter()
    for entry in entries:
        kind, request_id = parse(entry)
        if kind == "reply_answer" and request_id in refused:
            message = email.message_from_bytes(
                (state_dir / "outbox" / entry["file"]).read_bytes(), policy=default
            )
            part = message.get_body(preferencelist=("plain",))
            text = " ".join(str(part.get_content()).split()) if part else ""
            reasons[next((o for o, said in sentences.items() if said in text), "other")] += 1
    return dict(reasons)


def run_section(quick: bool) -> dict[str, Any]:
    quotes, accepts = (40, 5) if quick else (200, 20)
    say(f"end to end: {quotes} quotes on the local stack (python -m local) ...")
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as directory:
        started = time.perf_counter()
        variables = {"ROSTER_SIZE": str(ROSTER), "SWEEP_SECONDS": "300", "MOTO_AS_SHIPPED": "0"}
        stack = launch.start(Path(directory), variables)
        say(f"  local stack ready in {time.perf_counter() - started:.1f} s (roster {ROSTER})")
        outbox = Outbox(stack)
        try:
            with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
                samples = list(pool.map(lambda index: submit(stack, outbox, index), range(quotes)))
            matched = [s["request_id"] for s in samples if s["outcome"] == "offer"][:accepts]
            say(f"  accepting the first offer of {len(matched)} requests by reply ...")
            accepted = accept(stack, outbox, matched)
            wait_quiet(outbox, accepted)
            refused = why_not_acted(stack.state_dir, outbox.entries, set(matched) - set(accepted))
        finally:
            outbox.stop()
            stack.stop()
    return summarise(samples, outbox.entries, accepted, refused)


def summarise(
    samples: list[dict[str, Any]], entries: list[dict[str, Any]], accepted: list[str], refused: dict[str, int]
) -> dict[str, Any]:
    latencies = [s["offer_s"] for s in samples if s["offer_s"] is not None]
    quarter = max(1, len(samples) // 4)
    kinds = Counter(parse(entry)[0] for entry in entries)
    after_accept = Counter(kind for kind, request_id in map(parse, entries) if request_id in set(accepted))
    per_quote = {kind: round(kinds[kind] / len(samples), 3) for kind in ("receipt", "offer", "ops_no_match")}
    per_accept = {
        kind: round(n / max(1, len(accepted)), 2)
        for kind, n in after_accept.items()
        if kind not in ("receipt", "offer")
    }

    def p50(part: list[dict[str, Any]]) -> float | None:
        values = [s["offer_s"] for s in part if s["offer_s"] is not None]
        return round(statistics.median(values), 3) if values else None

    return {
        "quotes": len(samples),
        "outcomes": dict(Counter(s["outcome"] for s in samples)),
        "offer_p50_s": round(percentile(latencies, 50), 3) if latencies else None,
        "offer_p95_s": round(percentile(latencies, 95), 3) if latencies else None,
        "offer_max_s": round(max(latencies), 3) if latencies else None,
        "offer_p50_first_quarter_s": p50(samples[:quarter]),
        "offer_p50_last_quarter_s": p50(samples[-quarter:]),
        "post_p50_ms": round(percentile([s["post_ms"] for s in samples], 50), 1),
        "post_p95_ms": round(percentile([s["post_ms"] for s in samples], 95), 1),
        "accepted": len(accepted),
        "accept_replies_not_acted": refused,
        "emails_by_kind": dict(sorted(kinds.items())),
        "emails_per_quote": per_quote,
        "emails_per_accepted_quote": per_accept,
        "emails_per_quote_happy_path": round(
            per_quote["receipt"] + per_quote["offer"] + sum(per_accept.values()), 2
        ),
    }


def table(result: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"quotes {result['quotes']} ({IN_FLIGHT} in flight), roster {ROSTER}, "
            f"outcomes {result['outcomes']}, outbox polled every {POLL_SECONDS} s",
            f"submit -> first offer email: p50 {result['offer_p50_s']} s, p95 {result['offer_p95_s']} s, "
            f"max {result['offer_max_s']} s",
            f"  p50 of the first quarter {result['offer_p50_first_quarter_s']} s, of the last quarter "
            f"{result['offer_p50_last_quarter_s']} s",
            f"POST /quote-requests: p50 {result['post_p50_ms']} ms, p95 {result['post_p95_ms']} ms",
            f"emails by kind: {result['emails_by_kind']}",
            f"per quote: {result['emails_per_quote']}; per accepted quote ({result['accepted']} accepted by "
            f"reply): {result['emails_per_accepted_quote']}",
            "ACCEPT replies that changed nothing, by what the director was told: "
            f"{result['accept_replies_not_acted'] or 'none'}",
            "emails per quote on the happy path (receipt + offers + what an accept sends): "
            f"{result['emails_per_quote_happy_path']}",
        ]
    )


def summary(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    timeouts = result["outcomes"].get("timeout", 0)
    return [
        (
            f"submit -> first offer email p50 ({result['quotes']} quotes)",
            f"{result['offer_p50_s']} s",
            "",
            "info",
        ),
        ("submit -> first offer email p95", f"{result['offer_p95_s']} s", "", "info"),
        (
            "requests with an offer email",
            f"{result['outcomes'].get('offer', 0)} of {result['quotes']} ({result['outcomes']})",
            "no timeout",
            "PASS" if timeouts == 0 else "FAIL",
        ),
        ("emails per quote (happy path)", f"{result['emails_per_quote_happy_path']}", "", "info"),
    ]
