"""Reading the Ofsted Annex A workbook (or a CSV of one list) as councils produce it.

Only lists 3–9 carry allocated cases. From them qabot keeps the Child Unique ID, the category, the allocated
team and worker, and a few practice dates — never a demographic column (DESIGN.md, "Data protection"): those
cells are not looked at, so they cannot be kept.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import chain
from pathlib import Path
from typing import Any

from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum

from store.models import CATEGORIES


class CaseListError(Exception):
    """The file is not a case list qabot can read; the message says why, for the person importing it."""


@dataclass(frozen=True)
class ListSpec:
    category: str
    title: str
    # practice_dates key -> Ofsted header
    dates: dict[str, str]
    # Headers that tell this list apart in a CSV export of one list.
    signature: tuple[str, ...]


LISTS: dict[int, ListSpec] = {
    3: ListSpec("referral", "referrals", {"referral": "Date of Referral"}, ("Date of Referral",)),
    4: ListSpec(
        "assessment",
        "assessments",
        {"assessment_start": "Continuous Assessment Start Date"},
        ("Continuous Assessment Start Date",),
    ),
    5: ListSpec(
        "s47",
        "section 47 enquiries",
        {"s47_start": "Strategy discussion initiating Section 47 Enquiry Start Date"},
        ("Strategy discussion initiating Section 47 Enquiry Start Date",),
    ),
    6: ListSpec(
        "CIN",
        "children in need",
        {"cin_start": "CIN Start Date", "last_seen": "Date Child Was Last Seen"},
        ("CIN Start Date",),
    ),
    7: ListSpec(
        "CP",
        "child protection",
        {
            "cp_plan_start": "Child Protection Plan Start Date",
            "last_statutory_visit": "Date of the Last Statutory Visit",
            "latest_review_conference": "Date of latest review conference",
        },
        ("Child Protection Plan Start Date",),
    ),
    8: ListSpec(
        "CLA",
        "children in care",
        {
            "looked_after_start": "Date Started to be Looked After",
            "latest_statutory_review": "Date of Latest Statutory Review",
            "last_social_work_visit": "Date of Last Social Work Visit",
            "last_iro_contact": "Date of Last IRO Visit / Contact to the Child",
        },
        ("Date Started to be Looked After",),
    ),
    # The liia-tools map spells two of these "Eligibity Category" and "Suitability of Accomodation".
    9: ListSpec(
        "care_leaver",
        "care leavers",
        {},
        ("Eligibility Category", "Eligibity Category", "LA in Touch", "Activity Status", "Type of Accommodation"),
    ),
}
ID_HEADERS = ("Child Unique ID",)
TEAM_HEADERS = ("Allocated Team",)
WORKER_HEADERS = ("Allocated Worker", "Allocated Worker (personal adviser)", "Allocated Worker (personal advisor)")
RANK = {category: rank for rank, category in enumerate(CATEGORIES)}
# Excel error values and "not applicable" mean nobody is named.
BLANKS = {"", "n/a", "#n/a", "#null!", "#div/0!", "#value!", "#ref!", "#name?", "#num!"}
DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?")
NUMERIC_TEXT_ID = re.compile(r"(\d+)\.0+")  # a numeric ID exported as text: "1234.0"
MAX_REF = 64  # Case.case_ref's column width


@dataclass(frozen=True)
class CaseRecord:
    case_ref: str
    category: str
    list_number: int
    team: str | None
    worker: str | None
    dates: dict[str, str]


@dataclass
class CaseList:
    cases: dict[str, CaseRecord] = field(default_factory=dict)
    # List number -> rows that had a Child Unique ID.
    rows: dict[int, int] = field(default_factory=dict)
    # Rows with something in them but no Child Unique ID.
    skipped: int = 0


def _header_key(text: object) -> str:
    # Headers differ in case, spacing, NBSPs and punctuation from one council's export to the next.
    return re.sub(r"[\W_]+", "", str(text).casefold())


def clean(value: object) -> str | None:
    """A name as text with its whitespace (NBSP included) collapsed; None when blank or an Excel error."""
    # A number in a team or worker cell is a lookup formula's 0 or a stray code, never a name.
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return None if text.casefold() in BLANKS else text


def _case_ref(value: object) -> str | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = " ".join(str(value).split()) if value is not None else ""
    if match := NUMERIC_TEXT_ID.fullmatch(text):
        text = match[1]
    if text.casefold() in BLANKS or len(text) > MAX_REF:
        return None
    return text


def _iso_date(value: object) -> str | None:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if match := DMY.fullmatch(text):
            return date(int(match[3]), int(match[2]), int(match[1])).isoformat()
        return datetime.fromisoformat(text).date().isoformat()
    except ValueError:
        return None


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and clean(value) is None)


def _find(keys: dict[str, int], names: Iterable[str]) -> int | None:
    return next((keys[k] for k in map(_header_key, names) if k in keys), None)


def _read_list(number: int, rows: Iterator[Sequence[Any]], out: CaseList, where: str) -> None:
    """Read one list: its first row is the headers."""
    spec = LISTS[number]
    headers = next(rows, ())
    out.rows.setdefault(number, 0)
    if not headers:
        return  # an empty sheet: this council has nothing on that list
    keys: dict[str, int] = {}
    for index, header in enumerate(headers):
        if header is not None:
            keys.setdefault(_header_key(header), index)
    id_col, team_col, worker_col = (_find(keys, names) for names in (ID_HEADERS, TEAM_HEADERS, WORKER_HEADERS))
    for col, name in ((id_col, "Child Unique ID"), (team_col, "Allocated Team"), (worker_col, "Allocated Worker")):
        if col is None:
            raise CaseListError(f"{where} has no '{name}' column in its first row")
    date_cols = [(key, col) for key, header in spec.dates.items() if (col := _find(keys, (header,))) is not None]
    # Only these columns are ever looked at: nothing else in the row (demographics) is kept.
    wanted = {id_col, team_col, worker_col, *(col for _, col in date_cols)}
    width = max(wanted) + 1
    count = 0
    for row in rows:
        if len(row) < width:
            row = (*row, *([None] * (width - len(row))))
        ref = _case_ref(row[id_col])
        if ref is None:
            if not all(_blank(row[c]) for c in wanted):
                out.skipped += 1
            continue
        count += 1
        current = out.cases.get(ref)
        # A child on several lists is one case: the most serious category wins (among equals, the first row).
        if current is None or RANK[spec.category] < RANK[current.category]:
            dates = {key: iso for key, col in date_cols if (iso := _iso_date(row[col])) is not None}
            team, worker = clean(row[team_col]), clean(row[worker_col])
            out.cases[ref] = CaseRecord(ref, spec.category, number, team, worker, dates)
    out.rows[number] += count


def _sheet_number(title: str) -> int | None:
    match = re.fullmatch(r"list(\d+)", _header_key(title))
    return int(match[1]) if match and int(match[1]) in LISTS else None


def _read_workbook(path: Path, out: CaseList) -> None:
    # calamine (Rust) reads a 10,000-row workbook ten times faster than openpyxl. A formula cell gives the value
    # Excel saved with it, or nothing — never the formula's text; an empty cell is "", which reads as blank.
    try:
        book = CalamineWorkbook.from_path(str(path))
    except (CalamineError, ValueError) as exc:
        raise CaseListError(
            f"{path.name} is not a readable .xlsx workbook ({exc.__class__.__name__}): "
            "is it password-protected, or an old .xls renamed? Save it as an Excel Workbook (.xlsx)"
        ) from None
    try:
        for sheet in book.sheets_metadata:
            if sheet.typ == SheetTypeEnum.WorkSheet and (number := _sheet_number(sheet.name)) is not None:
                # Not skip_empty_area: columns and rows keep their places from A1, as the headers' indexes need.
                rows = book.get_sheet_by_name(sheet.name).to_python(skip_empty_area=False)
                _read_list(number, iter(rows), out, f"Sheet '{sheet.name}'")
    finally:
        book.close()
    if not out.rows:
        raise CaseListError(f"{path.name} has no sheet named List 3 … List 9 (the Annex A lists with allocated cases)")


def _read_csv(path: Path, out: CaseList) -> None:
    try:
        with path.open(encoding="utf-8-sig", newline="") as file:
            rows = csv.reader(file)
            header = next(rows, [])
            keys = {_header_key(h) for h in header}
            numbers = [n for n, spec in LISTS.items() if keys & {_header_key(s) for s in spec.signature}]
            if len(numbers) != 1:
                raise CaseListError(
                    f"Cannot tell which Annex A list {path.name} is from its first row: expected the headers of "
                    "one of List 3 … List 9 (e.g. 'Child Protection Plan Start Date' for List 7)"
                )
            _read_list(numbers[0], chain([header], rows), out, path.name)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CaseListError(
            f"{path.name} is not a readable UTF-8 CSV ({exc.__class__.__name__}): save it as CSV UTF-8"
        ) from None


def read_case_list(path: Path) -> CaseList:
    """Read an Annex A workbook (.xlsx) or a CSV export of one of its lists."""
    path = Path(path)
    if not path.is_file():
        raise CaseListError(f"There is no file at {path}")
    out = CaseList()
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        _read_workbook(path, out)
    elif suffix == ".csv":
        _read_csv(path, out)
    else:
        raise CaseListError(f"{path.name}: qabot reads the Annex A workbook (.xlsx) or a .csv of one list")
    return out
