"""The roster CSV: one row per director, read into `Director` models and written back (pure, no I/O).

The format is documented in docs/roster-csv.md. Reading reports every bad row by its line number,
the column and a message that never repeats names, emails or other personal data.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TextIO

from pydantic import ValidationError

from directormatch import text
from directormatch.directors import (
    FEE_COLUMNS,
    FEE_MAXIMUM,
    MAX_CHART_REVIEW_PERCENT,
    DeaRegistration,
    Director,
    LicenseStatus,
    Specialty,
    StateLicense,
    Supervision,
    dea_is_valid,
    npi_is_valid,
)
from directormatch.mail.labels import us_phone
from directormatch.vocabulary import US_STATES, Modality

# Files without the fee columns (directors.FEE_COLUMNS) or the phone still read (their directors have
# no schedule and are not priced); a row leaving the fee columns all blank reads the same.
OPTIONAL_COLUMNS = frozenset({*FEE_COLUMNS, "phone"})
COLUMNS: tuple[str, ...] = (
    "npi",
    "first_name",
    "last_name",
    "email",
    "phone",
    "specialties",
    "modalities",
    "modality_years",
    "max_clinics",
    "active_clinics",
    "active",
    "paused",
    "excluded",
    "malpractice_per_claim",
    "malpractice_aggregate",
    "response_rate",
    "median_response_hours",
    "licenses",
    "dea",
    "supervising",
    *FEE_COLUMNS,
)
LIST_SEPARATOR = ";"
PART_SEPARATOR = ":"
TRUE_WORDS = frozenset({"true", "yes", "1"})
FALSE_WORDS = frozenset({"false", "no", "0"})
MAX_MODALITY_YEARS = 70
# A cell starting with one of these is run as a formula by spreadsheet programs.
FORMULA_STARTS = ("=", "+", "-", "@")


class HeaderError(ValueError):
    """The header is missing, or names unknown columns, or lacks required ones."""


@dataclass(frozen=True)
class RowError:
    """One problem with one row: where, which column, and what (no personal data)."""

    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


@dataclass(frozen=True)
class RosterRow:
    line: int
    director: Director


@dataclass
class ParsedRoster:
    """The valid rows (in file order) and every problem found in the others."""

    rows: list[RosterRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def invalid_lines(self) -> list[int]:
        return sorted({error.line for error in self.errors})


class RowInvalid(ValueError):
    """A row that does not make a Director: (column, message) per problem."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


class _FieldError(ValueError):
    """A cell that cannot be read; `message` is safe to print."""


# --- reading cells -----------------------------------------------------------------------------


def _split(cell: str, separator: str = LIST_SEPARATOR) -> list[str]:
    return [part.strip() for part in cell.split(separator) if part.strip()]


def _bool(cell: str) -> bool:
    word = cell.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise _FieldError("must be true/false, yes/no or 1/0")


def _int(cell: str, what: str = "a whole number") -> int:
    text = cell.strip()
    if not re.fullmatch(r"\d+", text):
        raise _FieldError(f"must be {what}")
    return int(text)


def _dollars(cell: str) -> int:
    return _int(cell, "a whole number of US dollars without separators, e.g. 1000000")


def _fee_reader(column: str) -> Callable[[str], int | None]:
    """Reads one fee column: blank, or whole dollars a month (a percentage) up to its maximum."""
    name = FEE_COLUMNS[column]
    percent = name == "chart_review_percent"
    high = MAX_CHART_REVIEW_PERCENT if percent else FEE_MAXIMUM[name]
    what = "a whole percentage, e.g. 10" if percent else "whole US dollars a month, digits only, e.g. 1200"

    def read(cell: str) -> int | None:
        if not cell.strip():
            return None
        value = _int(cell, f"{what}, or blank")
        if value > high:
            raise _FieldError(f"{value} is more than the {high:,} allowed{'' if percent else ' a month'}")
        if percent and value == 0:
            raise _FieldError("must be 1 to 100, or blank when the director does no chart review")
        return value

    return read


def _fee_problems(values: dict[str, Any]) -> list[tuple[str, str]]:
    """Moves the fee cells read into one `fees` value; what is missing, by column."""
    cells = {column: values.pop(column) for column in FEE_COLUMNS if column in values}
    if len(cells) < len(FEE_COLUMNS) or all(v is None for v in cells.values()):
        return []  # a fee cell failed to read (reported already), or no schedule
    problems = []
    if cells["fee_base"] is None:
        problems.append(("fee_base", "is required when any other fee column is filled"))
    for column, other in (
        ("chart_review_percent", "chart_review_fee"),
        ("chart_review_fee", "chart_review_percent"),
    ):
        if cells[column] is None and cells[other] is not None:
            problems.append((column, f"is required when {other} is filled"))
    if not problems:
        values["fees"] = {FEE_COLUMNS[c]: v for c, v in cells.items() if v is not None}
    return problems


def _optional_float(cell: str) -> float | None:
    text = cell.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise _FieldError("must be a number, or blank when unknown") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise _FieldError("must be a finite number")
    return value


def _state(code: str, where: str = "") -> str:
    state = code.strip().upper()
    if state not in US_STATES:
        raise _FieldError(f"{where}'{code.strip()[:4]}' is not a USPS code of a US state or DC")
    return state


def _date(text: str, where: str) -> date:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            raise ValueError
        return date.fromisoformat(text.strip())
    except ValueError:
        raise _FieldError(f"{where}: expiry must be a date written YYYY-MM-DD") from None


def _enum_list(cell: str, allowed: Iterable[str], what: str) -> list[str]:
    known = list(allowed)
    values = [part.lower() for part in _split(cell)]
    if not values:
        raise _FieldError(f"at least one {what} is required")
    for value in values:
        if value not in known:
            raise _FieldError(f"unknown {what} '{value[:40]}'; one of: {', '.join(known)}")
    if len(values) != len(set(values)):
        raise _FieldError(f"lists a {what} more than once")
    return values


def _specialties(cell: str) -> list[str]:
    return _enum_list(cell, (s.value for s in Specialty), "specialty")


def _modalities(cell: str) -> list[str]:
    return _enum_list(cell, (m.value for m in Modality), "modality")


def _modality_years(cell: str) -> dict[str, int]:
    known = [m.value for m in Modality]
    years: dict[str, int] = {}
    for entry in _split(cell):
        parts = [p.strip() for p in entry.split(PART_SEPARATOR)]
        if len(parts) != 2:
            raise _FieldError("each entry must be modality:years, e.g. aesthetics:5")
        modality = parts[0].lower()
        if modality not in known:
            raise _FieldError(f"unknown modality '{modality[:40]}'; one of: {', '.join(known)}")
        if modality in years:
            raise _FieldError(f"lists {modality} more than once")
        count = _int(parts[1], f"{modality}: years must be a whole number")
        if count > MAX_MODALITY_YEARS:
            raise _FieldError(f"{modality}: {count} years is more than {MAX_MODALITY_YEARS}")
        years[modality] = count
    return years


def _model_message(error: ValidationError) -> str:
    """The first problem of a small model, without the input value."""
    first = error.errors(include_input=False)[0]
    loc = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{loc}: {message}" if loc else message


def _no_repeats(states: list[str], what: str) -> None:
    seen: set[str] = set()
    for state in states:
        if state in seen:
            raise _FieldError(f"{state} is listed more than once; one {what} per state")
        seen.add(state)


def _state_entries(cell: str, form: str, sizes: tuple[int, ...] = (3,)) -> Iterator[tuple[str, list[str]]]:
    """Each STATE:...:... entry of a list cell: its state, checked, and its other parts. `form` names
    the entry's format in the error when the count of parts is not one of `sizes`."""
    for entry in _split(cell):
        parts = [p.strip() for p in entry.split(PART_SEPARATOR)]
        if len(parts) not in sizes:
            raise _FieldError(f"each {form}")
        yield _state(parts[0]), parts[1:]


def _licenses(cell: str) -> list[StateLicense]:
    if not _split(cell):
        raise _FieldError("at least one license is required, e.g. TX:L12345:2027-08-31")
    statuses = [s.value for s in LicenseStatus]
    licenses: list[StateLicense] = []
    for state, (number, expires, *status_part) in _state_entries(
        cell, "license must be STATE:NUMBER:YYYY-MM-DD[:STATUS]", sizes=(3, 4)
    ):
        if not re.fullmatch(r"[A-Za-z0-9-]{3,20}", number):
            raise _FieldError(f"{state}: license number must be 3-20 letters, digits or dashes")
        expires_on = _date(expires, state)
        status = status_part[0].upper() if status_part and status_part[0] else LicenseStatus.ACTIVE.value
        if status not in statuses:
            raise _FieldError(f"{state}: status must be one of {', '.join(statuses)}")
        try:
            licenses.append(
                StateLicense(state=state, number=number, status=LicenseStatus(status), expires_on=expires_on)
            )
        except ValidationError as error:
            raise _FieldError(f"{state}: {_model_message(error)}") from None
    _no_repeats([lic.state for lic in licenses], "license")
    return licenses


def _dea(cell: str) -> list[DeaRegistration]:
    registrations: list[DeaRegistration] = []
    for state, (number, expires) in _state_entries(cell, "registration must be STATE:NUMBER:YYYY-MM-DD"):
        dea_number = number.upper()
        if not dea_is_valid(dea_number):
            raise _FieldError(f"{state}: DEA number must be 2 letters and 7 digits with a valid check digit")
        registrations.append(
            DeaRegistration(state=state, number=dea_number, expires_on=_date(expires, state))
        )
    _no_repeats([reg.state for reg in registrations], "DEA registration")
    return registrations


def _supervising(cell: str) -> list[Supervision]:
    supervision: list[Supervision] = []
    for state, (nps, pas) in _state_entries(cell, "entry must be STATE:NPS:PAS, e.g. TX:3:1"):
        np = _int(nps, f"{state}: NP count must be a whole number")
        pa = _int(pas, f"{state}: PA count must be a whole number")
        try:
            supervision.append(Supervision(state=state, np=np, pa=pa))
        except ValidationError as error:
            raise _FieldError(f"{state}: {_model_message(error)}") from None
    _no_repeats([sup.state for sup in supervision], "entry")
    return supervision


def _npi(cell: str) -> str:
    npi = cell.strip()
    if not npi_is_valid(npi):
        raise _FieldError("NPI must be 10 digits passing the Luhn check over the 80840 prefix")
    return npi


def _checked(cell: str) -> str:
    """Every cell first passes the one text rule (directormatch.text) within its edge spaces: a name
    or an email reaches email headers and pages."""
    try:
        return text.checked(cell.strip())
    except text.TextRefused as refused:
        raise _FieldError(refused.message) from None


def _name(cell: str) -> str:
    name = cell.strip()
    if name.startswith(FORMULA_STARTS):
        raise _FieldError("must not start with =, +, - or @ (spreadsheets run such cells as formulas)")
    return name


def _text(cell: str) -> str:
    return cell.strip()


def _optional_text(cell: str) -> str | None:
    return cell.strip() or None


# Column -> how its cell becomes the Director field of the same name.
_READERS: dict[str, Callable[[str], Any]] = {
    "npi": _npi,
    "first_name": _name,
    "last_name": _name,
    "email": _text,
    "phone": _optional_text,
    "specialties": _specialties,
    "modalities": _modalities,
    "modality_years": _modality_years,
    "max_clinics": _int,
    "active_clinics": _int,
    "active": _bool,
    "paused": _bool,
    "excluded": _bool,
    "malpractice_per_claim": _dollars,
    "malpractice_aggregate": _dollars,
    "response_rate": _optional_float,
    "median_response_hours": _optional_float,
    "licenses": _licenses,
    "dea": _dea,
    "supervising": _supervising,
    **{column: _fee_reader(column) for column in FEE_COLUMNS},
}


def _pydantic_errors(error: ValidationError) -> list[tuple[str, str]]:
    """(column, message) per problem; messages come without input values."""
    found: list[tuple[str, str]] = []
    for detail in error.errors(include_input=False):
        loc = detail["loc"]
        column = str(loc[0]) if loc and str(loc[0]) in COLUMNS else "row"
        message = str(detail["msg"]).removeprefix("Value error, ")
        found.append((column, message))
    return found


def director_from_row(row: Mapping[str, str]) -> Director:
    """One row (column -> cell) as a Director; raises RowInvalid listing every bad column."""
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for column in COLUMNS:
        try:
            values[column] = _READERS[column](_checked(row.get(column) or ""))
        except _FieldError as error:
            problems.append((column, str(error)))
    if "licenses" in values:
        licensed = {lic.state for lic in values["licenses"]}
        for column in ("dea", "supervising"):
            unlicensed = sorted({entry.state for entry in values.get(column, [])} - licensed)
            if unlicensed:
                problems.append((column, f"{', '.join(unlicensed)} has no license in the licenses column"))
    problems += _fee_problems(values)
    try:
        director = Director.model_validate(values)
    except ValidationError as error:
        # Columns that failed above are missing here: report only what the model adds.
        failed = {column for column, _ in problems}
        problems.extend(p for p in _pydantic_errors(error) if p[0] not in failed)
        raise RowInvalid(sorted(problems, key=_column_order)) from None
    if problems:
        raise RowInvalid(sorted(problems, key=_column_order))
    return director


def _column_order(problem: tuple[str, str]) -> int:
    return COLUMNS.index(problem[0]) if problem[0] in COLUMNS else -1


def _label(name: str, position: int) -> str:
    """A header cell fit to print: a column-like word, else only its position (it may be data)."""
    return name if re.fullmatch(r"[a-z_][a-z0-9_ ]{0,39}", name) else f"column {position} (not a column name)"


def _check_header(header: list[str] | None) -> list[str]:
    expected = f"expected columns: {', '.join(COLUMNS)}"
    if not header or not any(cell.strip() for cell in header):
        raise HeaderError(f"line 1: the header row is missing; {expected}")
    names = [cell.strip().lower() for cell in header]
    if not set(names) & set(COLUMNS):
        # Most likely a data row where the header should be: say so without repeating it.
        raise HeaderError(f"line 1: is not a header (no known column name); {expected}")
    repeated = sorted({name for name in names if name in COLUMNS and names.count(name) > 1})
    unknown = [_label(name, n) for n, name in enumerate(names, start=1) if name not in COLUMNS]
    missing = [name for name in COLUMNS if name not in names and name not in OPTIONAL_COLUMNS]
    problems = []
    if unknown:
        problems.append(f"unknown column(s): {', '.join(unknown)}")
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    if repeated:
        problems.append(f"repeated column(s): {', '.join(repeated)}")
    if problems:
        raise HeaderError("line 1: " + "; ".join(problems))
    return names


def parse_roster(source: TextIO | str) -> ParsedRoster:
    """Read a whole roster file; every row is validated and every bad row reported.

    Raises HeaderError when the header is unusable (then no row can be read). Rows whose NPI
    appears more than once are all reported and none is kept: the file does not say which is right.
    """
    stream = io.StringIO(source) if isinstance(source, str) else source
    reader = csv.reader(stream, strict=True)
    parsed = ParsedRoster()
    try:
        header = next(reader, None)
        names = _check_header(header)
    except csv.Error as error:
        raise HeaderError(f"line 1: not readable as CSV ({error})") from None
    kept: list[RosterRow] = []
    lines_by_npi: dict[str, list[int]] = defaultdict(list)
    line = reader.line_num
    while True:
        start = line + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            parsed.errors.append(RowError(reader.line_num, "row", f"not readable as CSV ({error})"))
            line = reader.line_num
            continue
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue  # blank line
        if len(record) != len(names):
            parsed.errors.append(
                RowError(start, "row", f"has {len(record)} values; the header has {len(names)} columns")
            )
            continue
        row = dict(zip(names, record, strict=True))
        npi = row["npi"].strip()
        if npi_is_valid(npi):
            lines_by_npi[npi].append(start)
        try:
            kept.append(RosterRow(start, director_from_row(row)))
        except RowInvalid as error:
            parsed.errors.extend(RowError(start, column, message) for column, message in error.problems)
    duplicated = {npi: lines for npi, lines in lines_by_npi.items() if len(lines) > 1}
    for lines in duplicated.values():
        listed = ", ".join(str(n) for n in lines)
        for n in lines:
            parsed.errors.append(
                RowError(n, "npi", f"the same NPI is on lines {listed}; a director must appear once")
            )
    parsed.rows = [row for row in kept if row.director.npi not in duplicated]
    parsed.errors.sort(key=lambda e: (e.line, COLUMNS.index(e.field) if e.field in COLUMNS else -1))
    return parsed


# --- writing -----------------------------------------------------------------------------------


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _flag(value: bool) -> str:
    return "true" if value else "false"


def row_from_director(director: Director) -> dict[str, str]:
    """The CSV cells of one director (the inverse of director_from_row)."""
    licenses = sorted(director.licenses, key=lambda lic: lic.state)
    dea = sorted(director.dea, key=lambda reg: reg.state)
    supervising = sorted(director.supervising, key=lambda sup: sup.state)
    return {
        "npi": director.npi,
        "first_name": director.first_name,
        "last_name": director.last_name,
        "email": str(director.email),
        # As people write it: a cell starting with + is a formula to spreadsheet programs.
        "phone": us_phone(director.phone) if director.phone else "",
        "specialties": LIST_SEPARATOR.join(s.value for s in director.specialties),
        "modalities": LIST_SEPARATOR.join(m.value for m in director.modalities),
        "modality_years": LIST_SEPARATOR.join(
            f"{m.value}:{years}" for m, years in director.modality_years.items()
        ),
        "max_clinics": str(director.max_clinics),
        "active_clinics": str(director.active_clinics),
        "active": _flag(director.active),
        "paused": _flag(director.paused),
        "excluded": _flag(director.excluded),
        "malpractice_per_claim": str(director.malpractice_per_claim),
        "malpractice_aggregate": str(director.malpractice_aggregate),
        "response_rate": "" if director.response_rate is None else _number(director.response_rate),
        "median_response_hours": ""
        if director.median_response_hours is None
        else _number(director.median_response_hours),
        "licenses": LIST_SEPARATOR.join(
            f"{lic.state}:{lic.number}:{lic.expires_on.isoformat()}:{lic.status.value}" for lic in licenses
        ),
        "dea": LIST_SEPARATOR.join(f"{reg.state}:{reg.number}:{reg.expires_on.isoformat()}" for reg in dea),
        "supervising": LIST_SEPARATOR.join(f"{sup.state}:{sup.np}:{sup.pa}" for sup in supervising),
        **_fee_cells(director),
    }


def _fee_cells(director: Director) -> dict[str, str]:
    schedule = director.fees.model_dump() if director.fees else {}
    return {
        column: "" if schedule.get(name) is None else str(schedule[name])
        for column, name in FEE_COLUMNS.items()
    }


def write_roster(directors: Iterable[Director], out: TextIO) -> int:
    """Write the header and one row per director; returns the number of rows."""
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    rows = 0
    for director in directors:
        writer.writerow(row_from_director(director))
        rows += 1
    return rows
