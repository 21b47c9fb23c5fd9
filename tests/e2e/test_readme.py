"""The README's commands work: every command it shows is run here, by another test, or by CI.

- "Try it" is run here, verbatim but for the port, against a started stack.
- `make run` is `make install` + `python -m local`; the e2e tests start `python -m local` exactly so
  (tests/e2e/conftest.py), and CI's fresh clone runs `make install` through `make test` (.ci/run).
- `make test` (and with it `make lint`) is what .ci/run runs.
- Deploying needs an AWS account: those commands are listed below as such, not run.
A command added to the README without a place in this file fails the last test.
"""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, RunningStack

pytestmark = pytest.mark.e2e

README = (ROOT / "README.md").read_text()
DOCUMENTED_BASE = "http://127.0.0.1:3000"
COMMAND = re.compile(r"^(?:[A-Z_]+=\S+ )*(make|curl|python|aws|sam|uv|apt-get|playwright|pip)\b")

# Where each README command runs, when not in this file.
ELSEWHERE: dict[str, str] = {
    "make run": "tests/e2e/conftest.py starts `python -m local` (what `make run` runs after `make install`)",
    "PORT=3100 make run": "tests/e2e/conftest.py starts every stack with PORT set to a free port",
    "MOTO_PORT=4566 make run": "local/stack.py reads MOTO_PORT; the e2e stacks take a free port instead",
    "python -m local": "tests/e2e/conftest.py",
    "make test": ".ci/run",
    "make lint": ".ci/run (make test runs make lint first)",
    "make unit": ".ci/run runs the same suite (tests/unit) through make test",
    "make integration": ".ci/run runs the same suite (tests/integration) through make test",
    "make e2e": ".ci/run runs the same suite (tests/e2e) through make test",
    "make bench": "not in CI: a benchmark, run on purpose (bench/)",
    "python -m bench --only scale": (
        "not in CI: a benchmark (make bench runs it); tests/integration/test_bench_scale.py runs its "
        "phases at tiny sizes"
    ),
    "make package": "tests/unit/test_package.py runs it into a temporary directory (downloads arm64 wheels)",
    "apt-get install -y chromium": "make browser (in make test), as root, without /usr/bin/chromium",
    "make browser": ".ci/run (make test runs it); tests/unit/test_make_browser.py runs its three cases",
    "make dynamodb-local": ".ci/run (make test runs it before the DynamoDB Local pass)",
    "DYNAMODB=local make run": "e2e stacks in make test's DYNAMODB=local pass",
    "DYNAMODB=local make integration": ".ci/run (make test runs tests/integration with DYNAMODB=local)",
    "make iam": ".ci/run (make test runs both passes with --iam, as make iam does)",
    "python -m checks.transform": ".ci/run (make lint runs it, then cfn-lint on its output)",
    "python -m checks.iam --template <copy> <calls.jsonl>": (
        "tests/integration/test_iam.py runs checks.iam.main with --template on a mutated copy"
    ),
    "playwright install": "named as not needed (the README says so); never run",
    "curl -X POST 'http://127.0.0.1:3000/_clock/advance?hours=5'": "tests/e2e/test_lifecycle.py",
    "curl -X POST --data-binary @forged.eml 'http://127.0.0.1:3000/_inbound?dmarc_domain=evil.example'": (
        "tests/e2e/test_forged_replies.py runs it verbatim, but for the port, on the reported forgery"
    ),
    "python -m ops.roster import|export|generate": "tests/integration/test_roster_import.py",
    "python -m ops.roster import roster.csv": "tests/integration/test_roster_import.py",
    "python -m ops.roster approve D34a5e39aaf0357ea91f7": (
        "tests/integration/test_apply.py runs ops.roster's main with approve on an application"
    ),
    "python -m ops.roster reject D34a5e39aaf0357ea91f7 --reason "
    '"The TX license number does not match the board\'s."': (
        "tests/integration/test_apply.py runs ops.roster's main with reject and this reason"
    ),
    "python -m ops.status_day": "tests/integration/test_status_day.py runs ops.status_day's main",
    "python -m ops.roster availability": (
        "tests/integration/test_availability_upkeep.py runs ops.roster's main with availability"
    ),
    'python -m ops.replay --queue-url "$STREAM_FAILURE_QUEUE_URL" --dry-run': (
        "tests/reliability/test_poison.py (the dry run lists and changes nothing)"
    ),
    'python -m ops.replay --queue-url "$STREAM_FAILURE_QUEUE_URL"': (
        "tests/reliability/test_poison.py (replay.main on the failure queue, then the queue is empty)"
    ),
    'python -m ops.resend --dead-letter-url "$SEND_DEAD_LETTER_QUEUE_URL" --queue-url "$SEND_QUEUE_URL" '
    "--dry-run": "tests/integration/test_resend.py (resend.main's dry run lists and changes nothing)",
    'python -m ops.resend --dead-letter-url "$SEND_DEAD_LETTER_QUEUE_URL" --queue-url "$SEND_QUEUE_URL"': (
        "tests/integration/test_resend.py (resend.main puts back, drops the sent, leaves the stranger)"
    ),
    "sam local generate-event": "how events/ were made; needs SAM CLI (events/README.md)",
    "make preflight": "tests/integration/test_preflight.py (the README's command, and the tool itself)",
    'make preflight PREFLIGHT_ARGS="--region us-east-1 --sender-email matches@yourdomain.com '
    '--inbound-domain reply.yourdomain.com"': (
        "tests/integration/test_preflight.py runs it verbatim with no credentials (it stops there); "
        "ops.preflight.main runs on moto accounts there"
    ),
}
NEEDS_AWS_ACCOUNT = (
    "uv tool install aws-sam-cli",
    "sam validate --lint",
    "sam build",
    "sam deploy",
    "aws ssm put-parameter",
    "aws ses set-active-receipt-rule-set",
    # The prerequisites make preflight reads (README "Deploy"); tests/integration/test_preflight.py runs
    # the same reads on moto.
    "aws cloudformation describe-stack",
    "aws lambda get-account-settings",
    "aws service-quotas request-service-quota-increase",
    "aws ses describe-active-receipt-rule-set",
    "aws sesv2 ",
    "aws ssm describe-parameters",
)


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end > 0 else None]


def shell_commands(text: str) -> list[str]:
    """The commands of the ```bash blocks in `text`, continuation lines joined, comments dropped."""
    commands: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        joined = re.sub(r"\s*\\\n\s*", " ", block)
        commands.extend(line.strip() for line in joined.splitlines() if line.strip() and line[0] != "#")
    return commands


def readme_commands() -> set[str]:
    """Every command the README shows, in ```bash blocks or `inline` (comments after # dropped)."""
    found = {re.sub(r"\s+#.*$", "", c).strip() for c in shell_commands(README)}
    for span in re.findall(r"(?<!`)`([^`]+)`(?!`)", README, re.S):
        span = " ".join(span.split())
        if COMMAND.match(span):
            found.add(span)
    return found


def test_readme_try_it_commands_answer_on_a_started_stack(local_stack: RunningStack, tmp_path: Path) -> None:
    # Given the "Try it" commands, pointed at the started stack, run where events/quote_request.json
    # holds a start date within the next year (the README tells the reader to change a past one)
    commands = shell_commands(section("Try it"))
    assert len(commands) == 2, commands
    sample = json.loads((ROOT / "events" / "quote_request.json").read_text())
    sample["start_by"] = (date.today() + timedelta(days=60)).isoformat()
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "quote_request.json").write_text(json.dumps(sample))

    # When each runs in a shell
    outputs = []
    for command in commands:
        done = subprocess.run(  # noqa: S602 - the README's own commands, on loopback
            command.replace(DOCUMENTED_BASE, local_stack.base_url),
            shell=True,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        outputs.append(done.stdout)

    # Then the POST answers 201 with a request id, and the outbox answers JSON
    status_line = outputs[0].splitlines()[0]
    assert re.match(r"HTTP/1\.[01] 201", status_line), outputs[0]
    body = json.loads(outputs[0].split("\n\n", 1)[1])
    assert body["status"] == "NEW"
    assert isinstance(json.loads(outputs[1]), list)


def test_readme_what_make_run_shows_is_there(local_stack: RunningStack) -> None:
    # Given the places the README sends a newcomer to
    # When each is opened
    form = local_stack.request("GET", "/")
    join = local_stack.request("GET", "/join")
    outbox = local_stack.request("GET", "/_outbox")
    with urllib.request.urlopen(local_stack.moto_endpoint + "/moto-api/", timeout=10) as response:  # noqa: S310
        dashboard = response.status

    # Then the form, the outbox and the moto dashboard answer
    assert form[0] == 200
    assert b"Request my quote" in form[2]
    assert join[0] == 200
    assert b'action="/director-applications"' in join[2]
    assert outbox[0] == 200
    assert dashboard == 200
    # And the banner names them as the README does
    for line in (
        "Form     " + local_stack.base_url + "/",
        "Join     " + local_stack.base_url + "/join",
        "/_outbox",
        "/moto-api/",
    ):
        assert line in local_stack.banner


def test_readme_every_command_is_run_somewhere() -> None:
    # Given every command the README shows
    commands = readme_commands()

    # When each is looked for here: run by the Try-it test, elsewhere, or needing an AWS account
    try_it = set(shell_commands(section("Try it")))
    unplaced = sorted(
        c for c in commands if c not in try_it and c not in ELSEWHERE and not c.startswith(NEEDS_AWS_ACCOUNT)
    )

    # Then none is left without a place
    assert unplaced == [], "README commands no test or CI runs; run them or list them in test_readme.py"
    assert "make run" in commands
    assert "make test" in commands
