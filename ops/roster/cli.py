"""The roster command: `python -m ops.roster import|export|generate|approve|reject`.

    python -m ops.roster import FILE.csv [--skip-invalid] [--dry-run] [--overwrite-self-service]
    python -m ops.roster export [FILE.csv|-]
    python -m ops.roster generate --count N [--seed S] [--today YYYY-MM-DD] [FILE.csv|-]
    python -m ops.roster approve APPLICATION_ID [--by NAME]
    python -m ops.roster reject APPLICATION_ID [--reason TEXT] [--by NAME]

The CSV format is in docs/roster-csv.md (code: ops.roster.csv_format). The table and index come
from directormatch.settings; boto3 takes its endpoint from the environment (AWS_ENDPOINT_URL for the
local stack's moto server). Output carries counts, line numbers and column names, never names or emails.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from ops.roster.synthetic import MAX_COUNT, MIN_COUNT, synthetic_directors

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Store = TypeVar("Store")

MAX_REASON = 500


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number") from None
    if not MIN_COUNT <= value <= MAX_COUNT:
        raise argparse.ArgumentTypeError(f"must be {MIN_COUNT} to {MAX_COUNT}")
    return value


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a date written YYYY-MM-DD") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ops.roster",
        description="Import, export or generate the director roster (CSV format: docs/roster-csv.md).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("import", help="validate a roster CSV and write what changed")
    load.add_argument("file", help="roster CSV, or - for standard input")
    load.add_argument("--skip-invalid", action="store_true", help="import the valid rows, report the others")
    load.add_argument("--dry-run", action="store_true", help="validate and compare; write nothing")
    load.add_argument(
        "--overwrite-self-service",
        action="store_true",
        help="write the file's values over fields directors set on their manage page (default: keep theirs)",
    )
    load.add_argument("--workers", type=int, default=8, help=argparse.SUPPRESS)
    dump = commands.add_parser("export", help="write the stored roster as CSV (reads by state, never scans)")
    dump.add_argument("file", nargs="?", default="-", help="output CSV, or - (default) for standard output")
    commands.add_parser(
        "availability",
        help="rewrite every director's Available-index items from their licenses (after deploying the index)",
    ).add_argument("--workers", type=int, default=8, help=argparse.SUPPRESS)
    make = commands.add_parser("generate", help="write a synthetic roster as CSV")
    make.add_argument("--count", type=_count, required=True, help=f"directors, 1 to {MAX_COUNT}")
    make.add_argument("--seed", type=int, default=7, help="same seed, same roster (default 7)")
    make.add_argument("--today", type=_day, default=None, help="day the dates are relative to")
    make.add_argument("file", nargs="?", default="-", help="output CSV, or - (default) for standard output")
    decide = {"approve": "verify an application's licenses first; the director becomes ACTIVE"}
    decide["reject"] = "the applicant is told (with --reason, why); they are never matched"
    for name, help_text in decide.items():
        command = commands.add_parser(name, help=help_text)
        command.add_argument("application_id", help="the id in the ops email (D followed by 20 hex digits)")
        command.add_argument("--by", default=None, help="who decides (default: your login name)")
        if name == "reject":
            command.add_argument("--reason", type=_reason, default="", help="told to the applicant")
    return parser


def _reason(value: str) -> str:
    from directormatch import text

    if len(value) > MAX_REASON:
        raise argparse.ArgumentTypeError(f"must be {MAX_REASON} characters or fewer")
    try:
        return text.checked(value.strip())
    except text.TextRefused as refused:
        raise argparse.ArgumentTypeError(refused.message) from None


class _Output:
    """Opens FILE or standard output for CSV (newline='' as the csv module wants)."""

    def __init__(self, path: str, stdout: TextIO) -> None:
        self.path = path
        self.stdout = stdout
        self._file: TextIO | None = None

    def __enter__(self) -> TextIO:
        if self.path == "-":
            return self.stdout
        self._file = open(self.path, "w", newline="", encoding="utf-8")
        return self._file

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.close()


def _aws_error(error: Exception) -> str | None:
    """The error code of a failed AWS call (never its message, which may quote item values)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from directormatch.errors import StoreUnavailable

    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "ClientError"))
    if isinstance(error, BotoCoreError | StoreUnavailable):
        return error.__class__.__name__
    return None


def _import(args: argparse.Namespace, client: DynamoDBClient | None, stdin: TextIO, out: TextIO) -> int:
    from ops.roster.csv_format import HeaderError, parse_roster
    from ops.roster.sync import Outcome, RosterStore

    started = time.monotonic()
    try:
        if args.file == "-":
            parsed = parse_roster(stdin)
        else:
            with open(args.file, newline="", encoding="utf-8-sig") as source:
                parsed = parse_roster(source)
    except HeaderError as error:
        print(f"{error}\nnothing imported", file=out)
        return 1
    except (OSError, UnicodeDecodeError) as error:
        print(f"cannot read the roster file: {error.__class__.__name__}", file=out)
        return 2
    for problem in parsed.errors:
        print(problem, file=out)
    invalid = len(parsed.invalid_lines)
    if invalid and not args.skip_invalid:
        print(
            f"{invalid} invalid row(s), {len(parsed.rows)} valid: nothing imported "
            "(fix the rows above, or use --skip-invalid to import the valid ones)",
            file=out,
        )
        return 1
    store = _store(RosterStore, client, workers=args.workers)
    try:
        summary, notes = store.sync(
            [row.director for row in parsed.rows],
            dry_run=args.dry_run,
            overwrite_self_service=args.overwrite_self_service,
        )
    except Exception as error:
        if (code := _aws_error(error)) is None:
            raise
        print(f"DynamoDB failed ({code}); run the import again to complete it", file=out)
        return 2
    for note in notes:
        print(note, file=out)
    elapsed = time.monotonic() - started
    skipped = f"{invalid} (skipped)" if invalid else "0"
    verb = "would write" if args.dry_run else "wrote"
    print(
        f"{'dry run, nothing written: ' if args.dry_run else ''}"
        f"{len(parsed.rows)} valid row(s): created {summary[Outcome.CREATED]}, "
        f"updated {summary[Outcome.UPDATED]}, unchanged {summary[Outcome.UNCHANGED]}, invalid {skipped}; "
        f"{verb} {summary['puts']} new item(s), updated {summary['updates']}, deleted {summary['deletes']} "
        f"({elapsed:.1f} s)",
        file=out,
    )
    return 0


def _store(kind: Callable[..., Store], client: DynamoDBClient | None, **options: Any) -> Store:
    """A store of the Directors table (and the Availability table derived from it), named by settings."""
    from directormatch.settings import get_settings

    settings = get_settings()
    tables = (settings.directors_table, settings.directors_by_state_index, settings.availability_table)
    return kind(*tables, client=client, **options)


def _export(args: argparse.Namespace, client: DynamoDBClient | None, stdout: TextIO, err: TextIO) -> int:
    from ops.roster.csv_format import write_roster
    from ops.roster.sync import RosterStore

    try:
        export = _store(RosterStore, client).export()
    except Exception as error:
        if (code := _aws_error(error)) is None:
            raise
        print(f"DynamoDB failed ({code}); nothing exported", file=err)
        return 2
    for problem in export.problems:
        print(problem, file=err)
    with _Output(args.file, stdout) as target:
        rows = write_roster(export.directors, target)
    print(f"exported {rows} director(s); {len(export.problems)} could not be read", file=err)
    return 1 if export.problems else 0


def _availability(args: argparse.Namespace, client: DynamoDBClient | None, out: TextIO) -> int:
    from ops.roster.sync import RosterStore

    store = _store(RosterStore, client, workers=args.workers)
    try:
        count = store.backfill_availability()
    except Exception as error:
        if (code := _aws_error(error)) is None:
            raise
        print(f"DynamoDB failed ({code}); run the command again (it rewrites only what differs)", file=out)
        return 2
    print(f"availability items refreshed for {count} director(s)", file=out)
    return 0


def _generate(args: argparse.Namespace, stdout: TextIO, err: TextIO) -> int:
    from ops.roster.csv_format import write_roster

    directors = synthetic_directors(args.count, seed=args.seed, today=args.today)
    with _Output(args.file, stdout) as target:
        rows = write_roster(directors, target)
    print(f"generated {rows} synthetic director(s) (seed {args.seed})", file=err)
    return 0


def _decide(args: argparse.Namespace, client: DynamoDBClient | None, out: TextIO) -> int:
    import getpass

    from directormatch.applications import service
    from directormatch.aws.applications import AlreadyDecided, ApplicationStore, DecisionRefused
    from directormatch.errors import EmailNotSent
    from directormatch.mail.delivery import delivery_from_settings
    from directormatch.vocabulary import ApplicationStatus

    store = _store(ApplicationStore, client)
    status = ApplicationStatus.APPROVED if args.command == "approve" else ApplicationStatus.REJECTED
    try:
        decision = service.decide(
            args.application_id,
            status,
            args.by or getpass.getuser(),
            store,
            delivery_from_settings(),
            reason=getattr(args, "reason", ""),
        )
    except DecisionRefused as refused:
        told = "; the applicant has been told that decision" if isinstance(refused, AlreadyDecided) else ""
        print(f"refused: {refused}{told}", file=out)
        return 1
    except EmailNotSent as error:
        print(
            f"decided, but the email to the applicant failed ({error}); run the command again to send it",
            file=out,
        )
        return 2
    except Exception as error:
        if (code := _aws_error(error)) is None:
            raise
        print(f"AWS failed ({code}); run the command again to complete it", file=out)
        return 2
    outcome = (
        "approved: the director is ACTIVE and matched from now on"
        if status is ApplicationStatus.APPROVED
        else "rejected"
    )
    print(f"application {decision.director_id} {outcome}; the applicant was emailed", file=out)
    return 0


def main(
    argv: Sequence[str] | None = None,
    *,
    client: DynamoDBClient | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run one roster command; returns the exit code (0 done, 1 invalid input, 2 unusable input)."""
    args = _parser().parse_args(argv)
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    if args.command == "import":
        return _import(args, client, stdin or sys.stdin, out)
    if args.command == "export":
        return _export(args, client, out, err)
    if args.command == "availability":
        return _availability(args, client, out)
    if args.command in ("approve", "reject"):
        return _decide(args, client, out)
    return _generate(args, out, err)
