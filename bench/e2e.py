"""End to end on the local stack: `python -m bench.e2e`. Not part of the tests.

Starts `python -m local` (PORT and LOCAL_STATE_DIR in a temporary directory, output to a file, never
a pipe), POSTs quotes for varied states with a small number in flight (each worker sends its next
quote once the previous one has its first offer email), and measures, per request, the time from
just before the POST to the first offer email for that request id appearing in /_outbox.json
(polled every --poll seconds, which bounds the resolution). Reports p50 and p95.

Then a sample of the matched requests is accepted by replying ACCEPT to their first offer email (the
stack's simulated SES inbound), and the outbox is counted by kind, for the emails per quote the cost
estimate uses: receipt and offers from every quote, introductions and "position filled" notes per
accepted quote.

The stack runs with the sweep on its deployed period (SWEEP_SECONDS=300, rate(5 minutes)), and with
moto's TransactWriteItems patched to back up only the items it touches (local.moto_patch, which
`python -m local` applies unless MOTO_AS_SHIPPED=1). As shipped, moto copies whole tables per
transaction item: every match slows down as the Requests table grows, and an accept (Directors
table, ~10 items) takes seconds, past the package's 5 s read timeout.
`--unpatched-moto` sets MOTO_AS_SHIPPED=1.
"""

from __future__ import annotations

import argparse
import email
import json
import re
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.policy import default
from pathlib import Path
from typing import Any

from bench.common import median, percentile, write_part
from local import launch
from local.launch import RunningStack

DEFAULT_QUOTES = 200
DEFAULT_CONCURRENCY = 2
DEFAULT_ACCEPTS = 20
DEFAULT_ROSTER = 600
OFFER_TIMEOUT = 60.0
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


def start_stack(state_dir: Path, roster: int, patch: bool) -> RunningStack:
    variables = {
        "ROSTER_SIZE": str(roster),
        # The sweep as deployed (rate(5 minutes)), not the stack's 5 s demo tick.
        "SWEEP_SECONDS": "300",
        "MOTO_AS_SHIPPED": "0" if patch else "1",
    }
    return launch.start(state_dir, variables)


def parse(entry: dict[str, str]) -> tuple[str, str]:
    """(kind, request id) from the stable Message-ID <kind.request[.recipient]@directormatch>."""
    found = MESSAGE_ID.search(entry.get("message_id", ""))
    if found is None:
        return entry.get("kind", "?"), ""
    return found.group("kind"), found.group("ref").split(".")[0]


@dataclass
class Watcher:
    """Polls /_outbox.json and remembers when each request's first email of each kind appeared."""

    stack: RunningStack
    poll: float
    first_seen: dict[tuple[str, str], float] = field(default_factory=dict)
    entries: list[dict[str, Any]] = field(default_factory=list)
    polls: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def run(self) -> None:
        while not self._stop.is_set():
            entries = self.stack.outbox(timeout=120)
            now = time.time()
            with self._changed:
                self.polls += 1
                for entry in entries[len(self.entries) :]:
                    self.first_seen.setdefault(parse(entry), now)
                self.entries = entries
                self._changed.notify_all()
            self._stop.wait(self.poll)

    def wait_for(self, keys: list[tuple[str, str]], timeout: float) -> tuple[str, str] | None:
        """The first of `keys` to appear (or None at the timeout)."""
        deadline = time.time() + timeout
        with self._changed:
            while True:
                found = [k for k in keys if k in self.first_seen]
                if found:
                    return min(found, key=lambda k: self.first_seen[k])
                left = deadline - time.time()
                if left <= 0:
                    return None
                self._changed.wait(left)

    def stop(self) -> None:
        self._stop.set()


def quote_payload(index: int) -> bytes:
    from tests.events import quote_body

    body = quote_body(
        states=STATES[index % len(STATES)],
        clinic={"name": f"E2E Bench Clinic {index}"},
        contact={"name": "Bench Contact", "email": f"e2e{index}@bench.example", "phone": "(512) 555-0100"},
    )
    return json.dumps(body).encode()


@dataclass
class Sample:
    index: int
    request_id: str
    submitted: float
    post_ms: float
    offer_s: float | None
    outcome: str  # offer, no_match, timeout


def submit_and_wait(stack: RunningStack, watcher: Watcher, index: int) -> Sample:
    headers = {"Content-Type": "application/json", "Idempotency-Key": f"e2e-bench-{index}-{time.time_ns()}"}
    submitted = time.time()
    status, _, data = stack.request("POST", "/quote-requests", quote_payload(index), headers, timeout=120)
    post_ms = (time.time() - submitted) * 1000
    if status != 201:
        raise RuntimeError(f"POST /quote-requests answered {status}: {data[:300]!r}")
    request_id = json.loads(data)["request_id"]
    seen = watcher.wait_for([("offer", request_id), ("ops_no_match", request_id)], OFFER_TIMEOUT)
    if seen is None:
        return Sample(index, request_id, submitted, post_ms, None, "timeout")
    if seen[0] == "ops_no_match":
        return Sample(index, request_id, submitted, post_ms, None, "no_match")
    return Sample(index, request_id, submitted, post_ms, watcher.first_seen[seen] - submitted, "offer")


def accept_first_offers(stack: RunningStack, watcher: Watcher, request_ids: list[str]) -> list[str]:
    """Reply ACCEPT to each request's first offer email; returns the requests whose reply was ACTED."""
    accepted: list[str] = []
    for request_id in request_ids:
        entry = next(e for e in watcher.entries if parse(e) == ("offer", request_id))
        form = urllib.parse.urlencode({"body": "ACCEPT"}).encode()
        status, _, data = stack.request(
            "POST",
            f"/_outbox/{entry['file']}/reply",
            form,
            {"Content-Type": "application/x-www-form-urlencoded"},
            timeout=120,
        )
        if status == 200 and "ACTED" in data.decode(errors="replace"):
            accepted.append(request_id)
    return accepted


def why_not_acted(state_dir: Path, entries: list[dict[str, Any]], refused: set[str]) -> dict[str, int]:
    """What the director was told when an ACCEPT reply changed nothing (the reply_answer email of
    each such request, read from the outbox and matched to the sentence each outcome's answer says)."""
    from directormatch.mail.messages import reply_answer_email
    from directormatch.offers.lifecycle import Outcome

    def words(outcome: Outcome) -> str:
        text = reply_answer_email("R", "ref", "director@example.com", outcome).text
        return " ".join(text.split("Hello,", 1)[1].rsplit("DirectorMatch - reference", 1)[0].split())

    sentences = {outcome.value: words(outcome) for outcome in Outcome}
    reasons: Counter[str] = Counter()
    for entry in entries:
        kind, request_id = parse(entry)
        if kind != "reply_answer" or request_id not in refused:
            continue
        message = email.message_from_bytes(
            (state_dir / "outbox" / entry["file"]).read_bytes(), policy=default
        )
        part = message.get_body(preferencelist=("plain",))
        text = " ".join(str(part.get_content()).split()) if part else ""
        reasons[next((o for o, said in sentences.items() if said in text), "other")] += 1
    return dict(reasons)


def wait_quiet(watcher: Watcher, accepted: list[str], timeout: float = 120.0, quiet: float = 3.0) -> None:
    """Until every accepted request has its introductions and the outbox stops growing."""
    deadline = time.time() + timeout
    last, since = -1, time.time()
    while time.time() < deadline:
        count = len(watcher.entries)
        intros = all(("intro_clinic", r) in watcher.first_seen for r in accepted)
        if count != last:
            last, since = count, time.time()
        elif intros and time.time() - since >= quiet:
            return
        time.sleep(0.2)


def bench(
    quotes: int, concurrency: int, accepts: int, roster: int, poll: float, patch: bool
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as directory:
        started = time.perf_counter()
        stack = start_stack(Path(directory), roster, patch)
        startup_s = time.perf_counter() - started
        print(f"  local stack ready in {startup_s:.1f} s (roster {roster})", flush=True)
        watcher = Watcher(stack, poll)
        thread = threading.Thread(target=watcher.run, name="outbox-watcher", daemon=True)
        thread.start()
        try:
            samples: list[Sample] = []
            lock = threading.Lock()
            next_index = iter(range(quotes))

            def worker() -> None:
                while True:
                    with lock:
                        index = next(next_index, None)
                    if index is None:
                        return
                    sample = submit_and_wait(stack, watcher, index)
                    with lock:
                        samples.append(sample)
                        if len(samples) % 50 == 0:
                            print(f"  {len(samples)}/{quotes} quotes", flush=True)

            run_started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                for future in [pool.submit(worker) for _ in range(concurrency)]:
                    future.result()
            run_s = time.perf_counter() - run_started
            samples.sort(key=lambda s: s.index)
            matched = [s.request_id for s in samples if s.outcome == "offer"]
            print(
                f"  accepting the first offer of {min(accepts, len(matched))} requests by reply ...",
                flush=True,
            )
            accepted = accept_first_offers(stack, watcher, matched[:accepts])
            wait_quiet(watcher, accepted)
            entries = list(watcher.entries)
            refused = why_not_acted(stack.state_dir, entries, set(matched[:accepts]) - set(accepted))
        finally:
            watcher.stop()
            thread.join(timeout=5)
            stack.stop()
    result = summarise(samples, entries, accepted, quotes, concurrency, roster, poll, startup_s, run_s)
    result["accept_replies_not_acted"] = refused
    result["moto_transaction_patch"] = patch
    return result


def summarise(
    samples: list[Sample],
    entries: list[dict[str, str]],
    accepted: list[str],
    quotes: int,
    concurrency: int,
    roster: int,
    poll: float,
    startup_s: float,
    run_s: float,
) -> dict[str, Any]:
    latencies = [s.offer_s for s in samples if s.offer_s is not None]
    outcomes = Counter(s.outcome for s in samples)
    kinds: Counter[str] = Counter()
    per_accepted: Counter[str] = Counter()
    accepted_set = set(accepted)
    for entry in entries:
        kind, request_id = parse(entry)
        kinds[kind] += 1
        if request_id in accepted_set:
            per_accepted[kind] += 1
    n = len(samples)
    quarter = max(1, n // 4)
    first = [s.offer_s for s in samples[:quarter] if s.offer_s is not None]
    last = [s.offer_s for s in samples[-quarter:] if s.offer_s is not None]
    receipts = kinds.get("receipt", 0) / max(1, n)
    offers = kinds.get("offer", 0) / max(1, n)
    no_match = kinds.get("ops_no_match", 0) / max(1, n)
    after_accept = {
        k: round(v / max(1, len(accepted)), 2)
        for k, v in per_accepted.items()
        if k not in ("receipt", "offer")
    }
    return {
        "quotes": n,
        "concurrency": concurrency,
        "roster": roster,
        "poll_s": poll,
        "startup_s": round(startup_s, 1),
        "run_s": round(run_s, 1),
        "outcomes": dict(outcomes),
        "offer_p50_s": round(percentile(latencies, 50), 3) if latencies else None,
        "offer_p95_s": round(percentile(latencies, 95), 3) if latencies else None,
        "offer_max_s": round(max(latencies), 3) if latencies else None,
        "offer_p50_first_quarter_s": round(median(first), 3) if first else None,
        "offer_p50_last_quarter_s": round(median(last), 3) if last else None,
        "post_p50_ms": round(percentile([s.post_ms for s in samples], 50), 1),
        "post_p95_ms": round(percentile([s.post_ms for s in samples], 95), 1),
        "accepted": len(accepted),
        "emails_by_kind": dict(sorted(kinds.items())),
        "emails_per_quote": {
            "receipt": round(receipts, 3),
            "offer": round(offers, 3),
            "ops_no_match": round(no_match, 3),
        },
        "emails_per_accepted_quote": after_accept,
        "emails_per_quote_happy_path": round(receipts + offers + sum(after_accept.values()), 2),
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        f"quotes {result['quotes']} ({result['concurrency']} in flight), roster {result['roster']}, "
        f"outcomes {result['outcomes']}, outbox polled every {result['poll_s']} s",
        f"submit -> first offer email: p50 {result['offer_p50_s']} s, p95 {result['offer_p95_s']} s, "
        f"max {result['offer_max_s']} s",
        f"  p50 of the first quarter {result['offer_p50_first_quarter_s']} s, of the last quarter "
        f"{result['offer_p50_last_quarter_s']} s; moto transactions patched: "
        f"{result['moto_transaction_patch']}",
        f"POST /quote-requests: p50 {result['post_p50_ms']} ms, p95 {result['post_p95_ms']} ms",
        f"emails by kind: {result['emails_by_kind']}",
        f"per quote: {result['emails_per_quote']}; per accepted quote "
        f"({result['accepted']} accepted by reply): {result['emails_per_accepted_quote']}",
        f"ACCEPT replies that changed nothing, by what the director was told: "
        f"{result['accept_replies_not_acted'] or 'none'}",
        f"emails per quote on the happy path (receipt + offers + what an accept sends): "
        f"{result['emails_per_quote_happy_path']}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.e2e", description=__doc__.splitlines()[0])
    parser.add_argument("--quotes", type=int, default=DEFAULT_QUOTES, help="quotes to submit (200)")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY, help="quotes in flight (2)")
    parser.add_argument(
        "--accepts", type=int, default=DEFAULT_ACCEPTS, help="requests to accept by reply (20)"
    )
    parser.add_argument("--roster", type=int, default=DEFAULT_ROSTER, help="ROSTER_SIZE of the stack (600)")
    parser.add_argument("--poll", type=float, default=0.05, help="outbox polling interval in seconds (0.05)")
    parser.add_argument(
        "--unpatched-moto",
        action="store_true",
        help="run exactly `python -m local` (moto's transactions copy whole tables: slow accepts)",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    print(f"end to end: {args.quotes} quotes on the local stack (python -m local) ...", flush=True)
    result = bench(
        args.quotes, args.concurrency, args.accepts, args.roster, args.poll, not args.unpatched_moto
    )
    print()
    print(table(result))
    write_part(args.json, result)
    return 0 if result["outcomes"].get("timeout", 0) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
