"""The roster CSV (pure): reading and validating rows, reporting bad ones, writing them back."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from directormatch.directors import FEE_COLUMNS, Director, LicenseStatus, director_items
from ops.roster.csv_format import (
    COLUMNS,
    HeaderError,
    director_from_row,
    parse_roster,
    row_from_director,
    write_roster,
)
from ops.roster.synthetic import synthetic_directors

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "roster-sample.csv"
TODAY = date(2026, 11, 25)

# A valid row: NPI 1234567893 (the CMS example) and DEA AB1234563 have valid check digits.
VALID: dict[str, str] = {
    "npi": "1234567893",
    "first_name": "Avery",
    "last_name": "Okafor",
    "email": "avery.okafor@clinic.example",
    "phone": "(512) 555-0147",
    "specialties": "internal_medicine;obesity_medicine",
    "modalities": "aesthetics;weight_loss",
    "modality_years": "aesthetics:5;weight_loss:2",
    "max_clinics": "4",
    "active_clinics": "1",
    "active": "true",
    "paused": "no",
    "excluded": "0",
    "malpractice_per_claim": "1000000",
    "malpractice_aggregate": "3000000",
    "response_rate": "0.86",
    "median_response_hours": "3.5",
    "licenses": "TX:L12345:2027-08-31:ACTIVE;CA:A98765:2028-01-31",
    "dea": "TX:AB1234563:2027-06-30",
    "supervising": "TX:3:1",
    "fee_base": "950",
    "fee_per_np": "250",
    "fee_per_pa": "300",
    "fee_per_additional_state": "600",
    "fee_per_additional_location": "300",
    "fee_controlled_premium": "400",
    "chart_review_percent": "10",
    "chart_review_fee": "200",
}
NO_FEES = dict.fromkeys(FEE_COLUMNS, "")
OTHER_NPIS = ("1245319599", "1003000126", "1497758544")


def roster_text(*rows: dict[str, str], columns: tuple[str, ...] = COLUMNS) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def row(**overrides: str) -> dict[str, str]:
    return {**VALID, **overrides}


def by_sk(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda item: item["sk"])


def profile_item(director: Director) -> dict[str, Any]:
    return next(item for item in director_items(director) if item["sk"] == "PROFILE")


def test_parse_roster_valid_row_gives_its_director() -> None:
    # Given a file with one valid row
    text = roster_text(row())

    # When it is parsed
    parsed = parse_roster(text)

    # Then the director carries every column, the license status defaulting to ACTIVE
    assert parsed.errors == []
    assert [r.line for r in parsed.rows] == [2]
    director = parsed.rows[0].director
    assert director.npi == "1234567893"
    assert [s.value for s in director.specialties] == ["internal_medicine", "obesity_medicine"]
    assert {m.value: y for m, y in director.modality_years.items()} == {"aesthetics": 5, "weight_loss": 2}
    assert (director.active, director.paused, director.excluded) == (True, False, False)
    assert (director.response_rate, director.median_response_hours) == (0.86, 3.5)
    assert [(lic.state, lic.number, lic.status) for lic in director.licenses] == [
        ("TX", "L12345", LicenseStatus.ACTIVE),
        ("CA", "A98765", LicenseStatus.ACTIVE),
    ]
    assert [(reg.state, reg.number, reg.expires_on) for reg in director.dea] == [
        ("TX", "AB1234563", date(2027, 6, 30))
    ]
    assert [(sup.state, sup.np, sup.pa) for sup in director.supervising] == [("TX", 3, 1)]


def test_parse_roster_sample_file_every_row_is_valid() -> None:
    # Given docs/roster-sample.csv
    text = SAMPLE.read_text(encoding="utf-8")

    # When it is parsed
    parsed = parse_roster(text)

    # Then its ten rows are valid, with multi-state directors and DEA registrations among them
    assert parsed.errors == []
    assert len(parsed.rows) == 10
    assert any(len(r.director.licenses) > 1 for r in parsed.rows)
    assert any(r.director.dea for r in parsed.rows)


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("npi", "1234567890", "Luhn check"),
        ("npi", "12345", "Luhn check"),
        ("first_name", "", "at least 1 character"),
        ("first_name", "=HYPERLINK(1)", "formulas"),
        ("last_name", "Oka\nfor", "line breaks"),
        ("first_name", "Avery\u2028Bcc: x@evil.example", "line or paragraph separators"),
        ("last_name", "Oka\x85for", "control characters"),
        ("last_name", "Oka\u202efor", "text-direction"),
        ("first_name", "Avery \ud800", "lone UTF-16 surrogate"),
        ("email", "avery\u200b.okafor@clinic.example", "zero-width"),
        ("email", "zo\u00eb@clinic.example", "ASCII characters before the @"),
        ("licenses", "TX:L12\u200b345:2027-08-31", "zero-width"),
        ("email", "avery.okafor", "not a valid email address"),
        ("email", "avery@localhost", "not a valid email address"),
        ("specialties", "dermatolgy", "unknown specialty 'dermatolgy'"),
        ("modalities", "", "at least one modality"),
        ("modalities", "aesthetics;aesthetics", "more than once"),
        ("modality_years", "aesthetics:five", "years must be a whole number"),
        ("modality_years", "botox:3", "unknown modality 'botox'"),
        ("max_clinics", "51", "less than or equal to 50"),
        ("max_clinics", "", "whole number"),
        ("active_clinics", "-1", "whole number"),
        ("active", "maybe", "true/false"),
        ("excluded", "", "true/false"),
        ("malpractice_per_claim", "1,000,000", "whole number of US dollars"),
        ("response_rate", "1.5", "less than or equal to 1"),
        ("response_rate", "often", "must be a number"),
        ("median_response_hours", "-2", "greater than or equal to 0"),
        ("licenses", "", "at least one license"),
        ("licenses", "XX:L12345:2027-08-31", "'XX' is not a USPS code"),
        ("licenses", "TX:L12345:2027-02-30", "TX: expiry must be a date written YYYY-MM-DD"),
        ("licenses", "TX:L12345:08/31/2027", "TX: expiry must be a date written YYYY-MM-DD"),
        ("licenses", "TX:L12345", "STATE:NUMBER:YYYY-MM-DD[:STATUS]"),
        ("licenses", "TX:L1:2027-08-31", "TX: license number must be 3-20"),
        ("licenses", "TX:L12345:2027-08-31:LAPSED", "TX: status must be one of ACTIVE"),
        ("licenses", "TX:L12345:2027-08-31;TX:L55555:2028-08-31", "TX is listed more than once"),
        ("dea", "TX:AB1234564:2027-06-30", "TX: DEA number must be 2 letters and 7 digits"),
        ("dea", "TX:A11234563:2027-06-30", "TX: DEA number must be 2 letters and 7 digits"),
        ("dea", "TX:AB1234563:2027-6-30", "TX: expiry must be a date"),
        ("dea", "NM:AB1234563:2027-06-30", "NM has no license in the licenses column"),
        ("supervising", "TX:3", "STATE:NPS:PAS"),
        ("supervising", "TX:3:501", "less than or equal to 500"),
        ("supervising", "ZZ:3:1", "'ZZ' is not a USPS code"),
        ("supervising", "OR:1:0", "OR has no license in the licenses column"),
        ("phone", "555-0147", "must be a US phone number with area code"),
        ("phone", "+44 20 7946 0958", "must be a US phone number with area code"),
        ("fee_base", "1,200", "whole US dollars a month, digits only"),
        ("fee_base", "-5", "whole US dollars a month"),
        ("fee_base", "15001", "more than the 15,000 allowed a month"),
        ("fee_base", "", "required when any other fee column is filled"),
        ("fee_per_np", "5001", "more than the 5,000 allowed"),
        ("fee_per_pa", "2.5", "whole US dollars"),
        ("fee_per_additional_state", "10001", "more than the 10,000 allowed"),
        ("fee_per_additional_location", "abc", "whole US dollars"),
        ("fee_controlled_premium", "99999", "more than the 5,000 allowed"),
        ("chart_review_percent", "101", "more than the 100 allowed"),
        ("chart_review_percent", "0", "must be 1 to 100"),
        ("chart_review_percent", "", "required when chart_review_fee is filled"),
        ("chart_review_fee", "", "required when chart_review_percent is filled"),
    ],
)
def test_parse_roster_bad_cell_reports_its_line_column_and_reason(
    column: str, value: str, expected: str
) -> None:
    # Given a valid row, then a row with one bad cell
    text = roster_text(row(npi=OTHER_NPIS[0]), row(**{column: value}))

    # When the file is parsed
    parsed = parse_roster(text)

    # Then exactly the bad row is reported, on line 3, naming the column and the reason
    assert [(e.line, e.field) for e in parsed.errors] == [(3, column)]
    assert expected in parsed.errors[0].message
    assert str(parsed.errors[0]).startswith(f"line 3: {column}: ")
    # And the valid row is kept
    assert [r.line for r in parsed.rows] == [2]


def test_parse_roster_names_come_back_in_nfc_and_unicode_domains_are_kept() -> None:
    # Given a row whose name was typed with a combining accent, and whose email domain is in Unicode
    text = roster_text(row(first_name="Jose\u0301", email="avery@cl\u00ednica.example"))

    # When the file is parsed
    [parsed] = parse_roster(text).rows

    # Then the name is precomposed, and the address kept (mail sends the domain in Punycode)
    assert parsed.director.first_name == "Jos\u00e9"
    assert parsed.director.email == "avery@cl\u00ednica.example"


def test_parse_roster_report_never_repeats_names_or_emails() -> None:
    # Given rows whose names and emails are bad in ways that could be echoed
    bad_email = "avery okafor@clinic.example"
    text = roster_text(
        row(email=bad_email, first_name="=Avery"),
        row(npi=OTHER_NPIS[0], last_name="O" * 101, email="someone.private@"),
    )

    # When the file is parsed
    report = "\n".join(str(e) for e in parse_roster(text).errors)

    # Then the report names columns and lines but carries none of the personal values
    assert "line 2: email" in report
    assert "line 3: last_name" in report
    for personal in ("avery okafor", "Avery", "O" * 20, "someone.private", "1245319599", "1234567893"):
        assert personal not in report


def test_parse_roster_every_bad_row_is_reported_with_its_line_number() -> None:
    # Given five rows of which the 2nd has two bad cells and the 4th one
    rows = [
        row(npi=OTHER_NPIS[0]),
        row(npi="1234567890", licenses="XX:L1:2027-01-01"),
        row(npi=OTHER_NPIS[1]),
        row(npi=OTHER_NPIS[2], active="perhaps"),
        row(),
    ]

    # When the file is parsed
    parsed = parse_roster(roster_text(*rows))

    # Then every problem is reported, in line order, and only the good rows are kept
    assert [(e.line, e.field) for e in parsed.errors] == [(3, "npi"), (3, "licenses"), (5, "active")]
    assert parsed.invalid_lines == [3, 5]
    assert [r.line for r in parsed.rows] == [2, 4, 6]


def test_parse_roster_duplicate_npi_reports_both_lines_and_keeps_neither() -> None:
    # Given the same NPI on lines 2 and 4
    text = roster_text(row(), row(npi=OTHER_NPIS[0]), row(first_name="Jordan"))

    # When the file is parsed
    parsed = parse_roster(text)

    # Then both rows are reported, each naming the two lines, and only the other row is kept
    assert [(e.line, e.field) for e in parsed.errors] == [(2, "npi"), (4, "npi")]
    assert all("lines 2, 4" in e.message for e in parsed.errors)
    assert [r.director.npi for r in parsed.rows] == [OTHER_NPIS[0]]


def test_parse_roster_quoted_line_break_keeps_line_numbers_right() -> None:
    # Given a row whose quoted name spans two physical lines, before another bad row
    text = roster_text(row(first_name="Ann\nMarie"), row(npi=OTHER_NPIS[0], active="x"))

    # When the file is parsed
    parsed = parse_roster(text)

    # Then the first row is reported on the line it starts on, the next one on its own line
    assert [(e.line, e.field) for e in parsed.errors] == [(2, "first_name"), (4, "active")]


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        ((*COLUMNS, "fax"), "unknown column(s): fax"),
        (tuple(c for c in COLUMNS if c not in ("dea", "email")), "missing column(s): email, dea"),
        ((*COLUMNS, "npi"), "repeated column(s): npi"),
    ],
)
def test_parse_roster_bad_header_is_an_error_naming_the_columns(
    columns: tuple[str, ...], expected: str
) -> None:
    # Given a file whose header does not name exactly the roster columns
    text = roster_text(row(), columns=columns)

    # When it is parsed
    # Then no row is read and the error names the columns
    with pytest.raises(HeaderError, match=r"line 1: .*" + expected.replace("(", r"\(").replace(")", r"\)")):
        parse_roster(text)


def test_parse_roster_data_row_in_place_of_the_header_is_reported_without_its_values() -> None:
    # Given a file whose header line was left out, so its first line is a director's row
    text = roster_text(row(), row(npi=OTHER_NPIS[0])).split("\n", 1)[1]

    # When it is parsed
    with pytest.raises(HeaderError) as raised:
        parse_roster(text)

    # Then the error says the first line is not a header, without repeating any of its cells
    message = str(raised.value)
    assert message.startswith("line 1: is not a header")
    for value in (VALID["email"], VALID["first_name"], VALID["last_name"], VALID["npi"]):
        assert value.lower() not in message.lower()


def test_parse_roster_unknown_header_cell_that_looks_like_data_is_named_by_position() -> None:
    # Given a header with an email address where a column name should be
    columns = (*COLUMNS, "avery.okafor@clinic.example")

    # When the file is parsed
    with pytest.raises(HeaderError) as raised:
        parse_roster(roster_text(row(), columns=columns))

    # Then the cell is named by its position only
    assert f"unknown column(s): column {len(COLUMNS) + 1} (not a column name)" in str(raised.value)
    assert "avery" not in str(raised.value)


def test_parse_roster_empty_file_is_a_missing_header() -> None:
    # Given an empty file
    # When it is parsed
    # Then the header is reported missing
    with pytest.raises(HeaderError, match="header row is missing"):
        parse_roster("")


def test_parse_roster_header_in_other_order_and_case_is_accepted() -> None:
    # Given the columns reversed and upper-cased, with a byte-order-free UTF-8 file and blank lines
    columns = tuple(reversed(COLUMNS))
    text = roster_text(row(), columns=columns).replace(",".join(columns), ",".join(columns).upper()) + "\n\n"

    # When it is parsed
    parsed = parse_roster(text)

    # Then the row is read as usual
    assert parsed.errors == []
    assert parsed.rows[0].director.npi == VALID["npi"]


@pytest.mark.parametrize(
    ("cell", "expected"), [("yes", True), ("TRUE", True), ("1", True), ("No", False), ("0", False)]
)
def test_director_from_row_boolean_words_are_read(cell: str, expected: bool) -> None:
    # Given a row whose paused cell uses one of the accepted words
    # When it is read
    director = director_from_row(row(paused=cell))

    # Then the flag follows the word
    assert director.paused is expected


def test_director_from_row_blank_response_history_is_unknown() -> None:
    # Given a new director: no response rate or median hours, no DEA, no supervision, no years
    cells = row(response_rate="", median_response_hours=" ", dea="", supervising="", modality_years="")

    # When the row is read
    director = director_from_row(cells)

    # Then those fields are unknown or empty
    assert director.response_rate is None
    assert director.median_response_hours is None
    assert director.dea == []
    assert director.supervising == []
    assert director.modality_years == {}


@pytest.mark.parametrize("cell", ["(512) 555-0147", "512.555.0147", "+1 512 555 0147"])
def test_director_phone_is_stored_e164_and_exported_as_people_write_it(cell: str) -> None:
    # Given a row whose phone is written one of the ways the quote form takes
    # When it is read, stored and exported
    director = director_from_row(row(phone=cell))

    # Then the PROFILE holds it as E.164, and the export writes it as people do (never a leading +,
    # which spreadsheets run as a formula)
    assert profile_item(director)["phone"] == "+15125550147"
    assert row_from_director(director)["phone"] == "(512) 555-0147"


def test_director_without_phone_column_or_cell_has_none() -> None:
    # Given a file without the phone column, and a row leaving it blank
    without_column = parse_roster(roster_text(VALID, columns=tuple(c for c in COLUMNS if c != "phone")))
    blank = director_from_row(row(phone=" "))

    # Then both read, with no phone on the PROFILE
    assert without_column.errors == []
    assert without_column.rows[0].director.phone is None
    assert profile_item(blank)["phone"] is None


def test_row_from_director_round_trip_gives_the_same_director() -> None:
    # Given a director read from a row
    director = director_from_row(row())

    # When it is written as a row and read back
    again = director_from_row(row_from_director(director))

    # Then it makes exactly the same table items
    assert by_sk(director_items(again)) == by_sk(director_items(director))
    assert row_from_director(again) == row_from_director(director)


def test_write_roster_synthetic_roster_reads_back_unchanged() -> None:
    # Given 300 synthetic directors (multi-state, lapsed licenses, blank history, supervision...)
    directors = synthetic_directors(300, seed=11, today=TODAY)

    # When they are written as CSV and parsed again
    out = io.StringIO()
    written = write_roster(directors, out)
    parsed = parse_roster(out.getvalue())

    # Then every row is valid and makes the same items as the director it came from
    assert written == 300
    assert parsed.errors == []
    assert [r.line for r in parsed.rows] == list(range(2, 302))
    for original, read in zip(directors, (r.director for r in parsed.rows), strict=True):
        assert by_sk(director_items(read)) == by_sk(director_items(original))


def test_row_from_director_writes_every_column_as_text() -> None:
    # Given a director with unknown response history and a whole-number response time
    director: Director = director_from_row(row(response_rate="", median_response_hours="4"))

    # When it is written as a row
    cells = row_from_director(director)

    # Then every column is present, blanks stay blank and numbers have no trailing .0
    assert tuple(cells) == COLUMNS
    assert cells["response_rate"] == ""
    assert cells["median_response_hours"] == "4"
    assert cells["licenses"] == "CA:A98765:2028-01-31:ACTIVE;TX:L12345:2027-08-31:ACTIVE"
    assert (cells["active"], cells["paused"], cells["excluded"]) == ("true", "false", "false")


def test_parse_roster_fee_schedule_is_read_into_the_directors_fees() -> None:
    # Given a row with a whole fee schedule
    director = director_from_row(row())

    # Then every component is read, in whole dollars
    assert director.fees is not None
    assert director.fees.model_dump() == {
        "base": 950,
        "per_np": 250,
        "per_pa": 300,
        "per_additional_state": 600,
        "per_additional_location": 300,
        "controlled_premium": 400,
        "chart_review_percent": 10,
        "chart_review_fee": 200,
    }
    # And it is copied onto every LICENSE item, as the matcher reads it there
    profile, *others = director_items(director)
    licenses = [item for item in others if item["sk"].startswith("LICENSE#")]
    assert len(licenses) == 2
    assert all(item["fees"] == profile["fees"] for item in licenses)
    assert profile["fees"]["per_np"] == 250


def test_parse_roster_blank_components_are_zero_and_blank_schedule_is_none() -> None:
    # Given a row with only a base fee, and one with every fee cell blank
    only_base = {**NO_FEES, "fee_base": "799"}
    parsed = parse_roster(roster_text(row(**only_base), row(npi=OTHER_NPIS[0], **NO_FEES)))

    # Then the first has a schedule of its base alone, the second none at all
    assert parsed.errors == []
    first, second = (r.director for r in parsed.rows)
    assert first.fees is not None
    assert first.fees.base == 799
    assert first.fees.per_np == 0
    assert first.fees.chart_review_percent is None
    assert second.fees is None
    assert director_items(second)[0]["fees"] is None


def test_parse_roster_file_without_fee_columns_still_reads_without_schedules() -> None:
    # Given a file written before the fee columns existed
    old_columns = tuple(c for c in COLUMNS if c not in FEE_COLUMNS)
    text = roster_text(row(), columns=old_columns)

    # When it is parsed
    parsed = parse_roster(text)

    # Then its row is valid and its director has no fee schedule
    assert parsed.errors == []
    assert parsed.rows[0].director.fees is None


def test_row_from_director_writes_fees_and_blanks_for_no_schedule() -> None:
    # Given a director with a schedule without chart review, and one without a schedule
    priced = director_from_row(row(chart_review_percent="", chart_review_fee=""))
    unpriced = director_from_row(row(**NO_FEES))

    # When they are written as rows
    # Then the components come out as digits, absent ones blank
    assert row_from_director(priced)["fee_per_additional_state"] == "600"
    assert row_from_director(priced)["chart_review_percent"] == ""
    assert {row_from_director(unpriced)[c] for c in FEE_COLUMNS} == {""}
