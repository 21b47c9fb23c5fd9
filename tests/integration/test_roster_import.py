"""`python -m ops.roster import|export` against the template's Directors table (moto)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from directormatch import availability, keys
from directormatch.aws import clients as aws_clients
from directormatch.aws.attributes import to_attributes
from directormatch.directors import director_id_for, director_items
from directormatch.settings import get_settings
from ops.roster.cli import main
from ops.roster.csv_format import COLUMNS, parse_roster, write_roster
from ops.roster.synthetic import synthetic_directors
from tests.integration.conftest import Aws

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "roster-sample.csv"
WRITES = frozenset({"PutItem", "BatchWriteItem", "DeleteItem", "UpdateItem", "TransactWriteItems"})


@dataclass
class Calls:
    """DynamoDB operations the roster command made, counted by a botocore event hook."""

    names: Counter[str] = field(default_factory=Counter)

    def record(self, model: Any, **_: Any) -> None:
        self.names[model.name] += 1

    @property
    def writes(self) -> int:
        return sum(n for name, n in self.names.items() if name in WRITES)

    def clear(self) -> None:
        self.names.clear()


@dataclass
class Roster:
    """Runs the roster command with the counted client; returns exit code and printed text."""

    aws: Aws
    client: Any
    calls: Calls

    def run(self, *argv: str) -> tuple[int, str]:
        self.calls.clear()
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), client=self.client, stdout=out, stderr=err)
        return code, out.getvalue() + err.getvalue()

    def stored(self) -> list[dict[str, Any]]:
        return self.aws.items(self.aws.directors_table)

    def available(self) -> list[dict[str, Any]]:
        return self.aws.items(self.aws.availability_table)


def expected_availability(path: Path | str) -> list[dict[str, Any]]:
    """The Availability table's items for a file: what its directors' licenses call for."""
    licenses = [i for i in expected_items(path) if i["sk"].startswith(keys.LICENSE)]
    return sorted(availability.availability_items(licenses), key=lambda i: (i["pk"], i["sk"]))


@pytest.fixture
def roster(aws: Aws, one_call_at_a_time: None) -> Iterator[Roster]:
    """The command with a counted client; its worker threads' calls handled one at a time, as
    DynamoDB applies each atomically (moto in process is not safe for threads)."""
    client = aws_clients.dynamodb()
    calls = Calls()
    client.meta.events.register("before-call.dynamodb.*", calls.record)
    yield Roster(aws, client, calls)
    client.meta.events.unregister("before-call.dynamodb.*", calls.record)


def sample_rows() -> list[dict[str, str]]:
    with SAMPLE.open(newline="", encoding="utf-8") as source:
        return list(csv.DictReader(source))


def write_csv(path: Path, rows: list[dict[str, str]]) -> str:
    with path.open("w", newline="", encoding="utf-8") as target:
        writer = csv.DictWriter(target, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


def expected_items(path: Path | str) -> list[dict[str, Any]]:
    """What the table should hold for a file: every director's items, as they read back."""
    parsed = parse_roster(Path(path).read_text(encoding="utf-8"))
    items = [item for r in parsed.rows for item in director_items(r.director)]
    return sorted(
        ({k: v for k, v in item.items() if v is not None} for item in items), key=lambda i: (i["pk"], i["sk"])
    )


def test_roster_import_sample_file_creates_every_director_item(roster: Roster) -> None:
    # Given an empty Directors table and docs/roster-sample.csv
    # When the sample is imported
    code, output = roster.run("import", str(SAMPLE))

    # Then it succeeds, creating the ten directors' PROFILE, LICENSE# and DEA# items exactly
    assert code == 0, output
    assert "created 10, updated 0, unchanged 0, invalid 0" in output
    assert roster.stored() == expected_items(SAMPLE)
    # And the Available index's items their licenses call for
    assert roster.available() == expected_availability(SAMPLE)
    assert roster.calls.names["Scan"] == 0


def test_roster_import_same_file_again_writes_nothing(roster: Roster) -> None:
    # Given the sample imported once
    roster.run("import", str(SAMPLE))
    before = roster.stored()

    # When it is imported again
    code, output = roster.run("import", str(SAMPLE))

    # Then every director is unchanged and not one write call was made
    assert code == 0, output
    assert "created 0, updated 0, unchanged 10" in output
    assert roster.calls.writes == 0
    assert roster.stored() == before


def test_roster_import_changed_row_updates_that_director_and_keeps_system_fields(
    roster: Roster, tmp_path: Path
) -> None:
    # Given the sample imported, and the system having stamped last_offered_at on one director
    roster.run("import", str(SAMPLE))
    rows = sample_rows()
    director_id = director_id_for(rows[0]["npi"])
    stamped = [keys.PROFILE_SK, *(i["sk"] for i in roster.stored() if i["pk"] == director_id)]
    for sk in stamped:
        roster.aws.dynamodb.update_item(
            TableName=roster.aws.directors_table,
            Key=to_attributes({"pk": director_id, "sk": sk}),
            UpdateExpression="SET last_offered_at = :at",
            ExpressionAttributeValues={":at": {"S": "2026-11-20T10:00:00+00:00"}},
        )
    # And a file where that director's capacity changed
    rows[0]["max_clinics"], rows[0]["active_clinics"] = "9", "2"
    changed = write_csv(tmp_path / "changed.csv", rows)

    # When the file is imported
    code, output = roster.run("import", changed)

    # Then only that director is updated, on its PROFILE and LICENSE items (not DEA items), and its
    # Available index's items rewritten, 25 to a batch
    assert code == 0, output
    assert "created 0, updated 1, unchanged 9" in output
    mine = {i["sk"]: i for i in roster.stored() if i["pk"] == director_id}
    licenses = [sk for sk in mine if sk.startswith("LICENSE#")]
    avail = [i for i in roster.available() if i["pk"] == director_id]
    assert avail
    assert roster.calls.names["UpdateItem"] == 1 + len(licenses)
    assert roster.calls.names["BatchWriteItem"] == -(-len(avail) // 25)  # each carries the capacity
    for item in [mine[keys.PROFILE_SK], *(mine[sk] for sk in licenses), *avail]:
        assert (item["max_clinics"], item["active_clinics"]) == (9, 2)
    # And last_offered_at, which the file does not carry, is still on every item
    assert all(mine[sk]["last_offered_at"] == "2026-11-20T10:00:00+00:00" for sk in stamped)


def test_roster_import_removed_license_deletes_its_items(roster: Roster, tmp_path: Path) -> None:
    # Given the sample imported, and a multi-state director with DEA registrations
    roster.run("import", str(SAMPLE))
    rows = sample_rows()
    index, row = next((n, r) for n, r in enumerate(rows) if r["licenses"].count(";") >= 2 and r["dea"])
    dropped = row["licenses"].split(";")[0].split(":")[0]
    director_id = director_id_for(row["npi"])
    # And a file without that director's license (and DEA registration) in its first state
    rows[index] = {
        **row,
        "licenses": ";".join(e for e in row["licenses"].split(";") if not e.startswith(dropped + ":")),
        "dea": ";".join(e for e in row["dea"].split(";") if not e.startswith(dropped + ":")),
        "supervising": ";".join(e for e in row["supervising"].split(";") if not e.startswith(dropped + ":")),
    }
    changed = write_csv(tmp_path / "dropped.csv", rows)

    # When the file is imported
    code, output = roster.run("import", changed)

    # Then the LICENSE# and DEA# items of that state are deleted, and the table matches the file
    assert code == 0, output
    assert "updated 1, unchanged 9" in output
    sks = {i["sk"] for i in roster.stored() if i["pk"] == director_id}
    assert keys.LICENSE(dropped) not in sks
    assert keys.DEA(dropped) not in sks
    stored = roster.stored()
    # The changed PROFILE's version moved on, so a manage page shown before the import is stale
    assert [i.pop("version") for i in stored if "version" in i] == [1]
    assert stored == expected_items(changed)
    # And its Available index's items in that state are gone with it
    assert roster.available() == expected_availability(changed)
    # And the state index no longer offers the director there
    found = roster.aws.dynamodb.query(
        TableName=roster.aws.directors_table,
        IndexName="ByState",
        KeyConditionExpression="license_state = :s",
        ExpressionAttributeValues={":s": {"S": dropped}},
    )["Items"]
    assert director_id not in {i["pk"]["S"] for i in found}


def test_roster_import_blank_response_history_removes_the_stored_values(
    roster: Roster, tmp_path: Path
) -> None:
    # Given the sample imported, with a director whose response history is known
    roster.run("import", str(SAMPLE))
    rows = sample_rows()
    index = next(n for n, r in enumerate(rows) if r["response_rate"])
    director_id = director_id_for(rows[index]["npi"])
    rows[index] = {**rows[index], "response_rate": "", "median_response_hours": ""}

    # When a file with that history blanked is imported
    code, output = roster.run("import", write_csv(tmp_path / "blank.csv", rows))

    # Then the values are gone from its items, and a second import changes nothing
    assert code == 0, output
    for item in (i for i in roster.stored() if i["pk"] == director_id):
        assert "response_rate" not in item
        assert "median_response_hours" not in item
    code, output = roster.run("import", str(tmp_path / "blank.csv"))
    assert roster.calls.writes == 0


def test_roster_import_file_with_a_bad_row_writes_nothing(roster: Roster, tmp_path: Path) -> None:
    # Given the sample with a bad NPI on its 4th row (line 5) and a bad state on its 7th (line 8)
    rows = sample_rows()
    rows[3]["npi"] = "1234567890"
    rows[6]["licenses"] = "XX" + rows[6]["licenses"][2:]
    bad = write_csv(tmp_path / "bad.csv", rows)

    # When it is imported
    code, output = roster.run("import", bad)

    # Then it fails with both rows reported by line, and nothing is written
    assert code == 1
    assert "line 5: npi:" in output
    assert "line 8: licenses: 'XX' is not a USPS code" in output
    assert "2 invalid row(s), 8 valid: nothing imported" in output
    assert roster.calls.writes == 0
    assert roster.stored() == []
    # And the report carries no name or email of any row
    for r in rows:
        assert r["email"] not in output
        assert r["last_name"] not in output


def test_roster_import_skip_invalid_writes_the_valid_rows(roster: Roster, tmp_path: Path) -> None:
    # Given the sample with one bad DEA number (line 3)
    rows = sample_rows()
    good_rows = [r for n, r in enumerate(rows) if n != 1]
    state, number, expires = rows[1]["dea"].split(";")[0].split(":")
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)  # off by one in the check digit
    rows[1]["dea"] = f"{state}:{wrong}:{expires}"
    bad = write_csv(tmp_path / "bad.csv", rows)

    # When it is imported with --skip-invalid
    code, output = roster.run("import", bad, "--skip-invalid")

    # Then it succeeds, the bad row is reported and skipped, the nine others are stored
    assert code == 0, output
    assert "line 3: dea:" in output
    assert "created 9, updated 0, unchanged 0, invalid 1 (skipped)" in output
    assert roster.stored() == expected_items(write_csv(tmp_path / "good.csv", good_rows))


def test_roster_import_dry_run_reports_without_writing(roster: Roster) -> None:
    # Given an empty table
    # When the sample is imported with --dry-run
    code, output = roster.run("import", str(SAMPLE), "--dry-run")

    # Then the summary says what would be created, and nothing is written
    assert code == 0, output
    assert "dry run, nothing written" in output
    assert "created 10" in output
    assert roster.calls.writes == 0
    assert roster.stored() == []


def test_roster_import_bad_header_writes_nothing(roster: Roster, tmp_path: Path) -> None:
    # Given a file with an unknown column and without the dea column
    path = tmp_path / "header.csv"
    header = ",".join(c if c != "dea" else "fax" for c in COLUMNS)
    path.write_text(header + "\n", encoding="utf-8")

    # When it is imported
    code, output = roster.run("import", str(path))

    # Then it fails naming both columns, and nothing is written
    assert code == 1
    assert "unknown column(s): fax" in output
    assert "missing column(s): dea" in output
    assert roster.calls.writes == 0


def test_roster_export_then_import_writes_nothing(roster: Roster, tmp_path: Path) -> None:
    # Given 300 synthetic directors imported
    source = tmp_path / "synthetic.csv"
    with source.open("w", newline="", encoding="utf-8") as target:
        write_roster(synthetic_directors(300, seed=21, today=date(2026, 11, 25)), target)
    code, output = roster.run("import", str(source))
    assert code == 0, output

    # When the roster is exported and the export imported
    exported = tmp_path / "exported.csv"
    export_code, export_output = roster.run("export", str(exported))
    export_calls = Counter(roster.calls.names)
    code, output = roster.run("import", str(exported))

    # Then the export holds every director, read by 51 index queries and batch gets, never a scan
    assert export_code == 0, export_output
    assert "exported 300 director(s)" in export_output
    assert len(parse_roster(exported.read_text(encoding="utf-8")).rows) == 300
    assert export_calls["Query"] == 51
    assert export_calls["Scan"] == 0
    assert set(export_calls) == {"Query", "BatchGetItem"}
    # And importing it changes nothing
    assert code == 0, output
    assert "created 0, updated 0, unchanged 300" in output
    assert roster.calls.writes == 0


def test_roster_export_to_standard_output_matches_the_imported_file(roster: Roster) -> None:
    # Given the sample imported
    roster.run("import", str(SAMPLE))

    # When the roster is exported to standard output
    out, err = io.StringIO(), io.StringIO()
    code = main(["export", "-"], client=roster.client, stdout=out, stderr=err)

    # Then the CSV holds the same directors as the sample, the summary goes to stderr
    assert code == 0
    exported = {r.director.npi: r.director for r in parse_roster(out.getvalue()).rows}
    sample = {r.director.npi: r.director for r in parse_roster(SAMPLE.read_text(encoding="utf-8")).rows}
    assert set(exported) == set(sample)
    for npi, director in sample.items():
        assert sorted(director_items(exported[npi]), key=lambda i: i["sk"]) == sorted(
            director_items(director), key=lambda i: i["sk"]
        )
    assert "exported 10 director(s)" in err.getvalue()


def test_roster_export_director_that_does_not_read_back_is_reported_by_id_only(
    roster: Roster, director_factory: Any
) -> None:
    # Given the sample imported, plus a director stored without an NPI (not written by an import)
    roster.run("import", str(SAMPLE))
    broken = director_factory("D-NO-NPI", ["TX"], email="private.person@clinic.example")
    roster.aws.director_store().put_items(broken)

    # When the roster is exported
    out, err = io.StringIO(), io.StringIO()
    code = main(["export"], client=roster.client, stdout=out, stderr=err)

    # Then the readable directors are exported, the other is reported by its id, and the exit code says so
    assert code == 1
    assert len(parse_roster(out.getvalue()).rows) == 10
    assert "director D-NO-NPI: npi: Field required" in err.getvalue()
    assert "private.person" not in out.getvalue() + err.getvalue()
    assert "exported 10 director(s); 1 could not be read" in err.getvalue()


def test_roster_import_missing_table_fails_with_the_error_code_only(
    roster: Roster, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given settings naming a table that does not exist
    monkeypatch.setenv("DIRECTORS_TABLE", "NoSuchTable")
    get_settings.cache_clear()

    # When the sample is imported
    code, output = roster.run("import", str(SAMPLE))

    # Then the command fails with the DynamoDB error code, and no traceback or row data
    assert code == 2
    assert "DynamoDB failed (ResourceNotFoundException)" in output
    assert roster.calls.writes == 0


def test_roster_import_keeps_what_a_director_set_themselves_and_says_so_or_overwrites_when_told(
    roster: Roster,
) -> None:
    # Given the sample imported, then one director lowering capacity and pausing on their manage page
    from datetime import UTC, datetime, timedelta

    from directormatch.manage.changes import pause, plan
    from directormatch.manage.service import Outcome, Via, apply

    roster.run("import", str(SAMPLE))
    director_id = director_id_for(sample_rows()[0]["npi"])
    store, now, via = roster.aws.director_store(), datetime.now(UTC), Via("manage_link", "R1")
    profile = store.get_profile(director_id, consistent=True)
    assert profile is not None
    assert profile.max_clinics > profile.active_clinics
    lowered = plan("capacity", {"max_clinics": [str(profile.active_clinics)]}, profile, now)
    assert apply(store, profile, lowered, via, now).outcome is Outcome.CHANGED
    profile = store.get_profile(director_id, consistent=True)
    assert profile is not None
    assert apply(store, profile, pause(profile, now + timedelta(days=5)), via, now).outcome is Outcome.CHANGED
    before = roster.stored()

    # When the same roster file is imported again
    code, output = roster.run("import", str(SAMPLE))

    # Then the director's own values stay on PROFILE and LICENSE items, and the import says which
    assert code == 0, output
    assert f"director {director_id}: kept self-service max_clinics, paused" in output
    assert roster.stored() == before

    # When ops import it telling the import to overwrite
    code, output = roster.run("import", str(SAMPLE), "--overwrite-self-service")

    # Then the file's values are written everywhere, the pause's date and the marks are gone
    assert code == 0, output
    assert f"director {director_id}: overwrote self-service max_clinics, paused" in output
    mine = {i["sk"]: i for i in roster.stored() if i["pk"] == director_id}
    file_row = next(
        i for i in expected_items(SAMPLE) if i["pk"] == director_id and i["sk"] == keys.PROFILE_SK
    )
    for sk, item in mine.items():
        if sk == keys.PROFILE_SK or sk.startswith(keys.LICENSE):
            assert (item["max_clinics"], item["paused"]) == (file_row["max_clinics"], file_row["paused"])
            assert "paused_until" not in item
    assert "self_service" not in mine[keys.PROFILE_SK]
    assert mine[keys.PROFILE_SK]["version"] == 3


def test_roster_import_racing_a_directors_own_change_stops_and_run_again_keeps_it(roster: Roster) -> None:
    # Given an import planned from what is stored, the roster row lowering one director's capacity
    from datetime import UTC, datetime

    from botocore.exceptions import ClientError

    from directormatch.manage.changes import plan
    from directormatch.manage.service import Via, apply
    from ops.roster.sync import RosterStore

    roster.run("import", str(SAMPLE))
    directors = [r.director for r in parse_roster(SAMPLE.read_text(encoding="utf-8")).rows]
    first = directors[0].model_copy(update={"max_clinics": directors[0].active_clinics})
    store = RosterStore(
        roster.aws.directors_table, "ByState", roster.aws.availability_table, client=roster.client
    )
    changes = store.plan([first, *directors[1:]])
    # And the director raising their capacity themselves before the import writes
    profile = store.get_profile(first.director_id, consistent=True)
    assert profile is not None
    now = datetime.now(UTC)
    raised = plan("capacity", {"max_clinics": [str(profile.max_clinics + 1)]}, profile, now)
    apply(store, profile, raised, Via("manage_link", "R1"), now)

    # When the import writes what it planned
    with pytest.raises(ClientError) as stopped:
        store.apply(changes)

    # Then the director's PROFILE write is refused, and the import run again keeps their change everywhere
    assert stopped.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    _, notes = store.sync([first, *directors[1:]])
    assert notes == [f"director {first.director_id}: kept self-service max_clinics"]
    mine = [i for i in roster.stored() if i["pk"] == first.director_id and i["sk"] != keys.PROFILE_SK]
    assert {i["max_clinics"] for i in mine if i["sk"].startswith(keys.LICENSE)} == {profile.max_clinics + 1}
