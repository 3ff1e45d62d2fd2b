"""The month's case list: the Annex A workbook (and a CSV of one list) as councils really produce them, matched
to the staff directory, imported idempotently, and never a demographic kept."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import event, select

from bot import cli
from bot.workflow import annex_a
from bot.workflow.annex_a import CaseList, CaseListError, CaseRecord, read_case_list
from bot.workflow.caselist import import_cases
from store.models import AllocationRun, Case, CaseListEntry, Event, Person, Team

SAMPLE = Path(__file__).parent / "data" / "Annex_A.xlsx"
NBSP = "\u00a0"
# Demographic values planted in the dirty workbook: none may come out of the reader.
DEMOGRAPHICS = ("SENTINEL-GENDER", "SENTINEL-ETHNICITY", "2015-02-03", "ZZ9 9ZZ", "SENTINEL-DISABILITY", "9.75")
DOB = datetime(2015, 2, 3)
DIRTY_REFS = ("100101", "100102", "200201", "300301", "300302", "400401")


def _workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def _dirty_sheets() -> dict[str, list[list[object]]]:
    demo = ["SENTINEL-GENDER", "SENTINEL-ETHNICITY", DOB, 9.75]
    blank = ["", "   ", None, f" {NBSP} ", "", "", "", ""]
    # fmt: off
    return {
        "List 1": [["Child Unique ID", "Gender", "Date of Contact"], [900901, "a) Male", datetime(2026, 10, 1)]],
        "LIST  3": [
            [" child unique ID ", "GENDER", "Ethnicity", "date of birth", "Age", f"Date{NBSP}of  Referral",
             "Allocated Team", "allocated worker"],
            [100101.0, *demo, datetime(2026, 10, 1), "Family Support North", "priya  practitioner"],
            blank,
            ["  100102 ", *demo, "03/10/2026", "#N/A", "N/A"],
            [None, *demo, "04/10/2026", "Family Support North", "Priya Practitioner"],
            blank,
            blank,
        ],
        f"list{NBSP}6": [
            ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age", "Does the Child have a Disability",
             "CIN Start Date", "Case Status", "Date Child Was Last Seen", "Allocated Team", "Allocated Worker"],
            [300301, *demo, "SENTINEL-DISABILITY", datetime(2025, 5, 1), "c) Child in need plan", "2026-10-20",
             "Family Support North", f"Oliver{NBSP}Other"],
            [200201, *demo, "b) No", "not a date", "c) Child in need plan", "2026-10-20", "  Locality  9 ",
             "Nobody  Known"],
        ],
        " List 7 ": [
            ["Child Unique ID", "Gender", "Child Protection Plan Start Date", "Date of the Last Statutory Visit",
             "Was the Child Seen Alone?", "Date of latest review conference", "Allocated Team", "Allocated Worker"],
            # openpyxl cannot compute a formula: the file holds no cached value, so the date is blank.
            [300301, "SENTINEL-GENDER", "=DATE(2026,11,3)", datetime(2026, 11, 10), "a) Yes", "10/11/2026",
             "Family Support North", f"Priya{NBSP}Practitioner"],
            [300302, "SENTINEL-GENDER", datetime(2026, 9, 1), None, "Y", None, "=VLOOKUP(A3,Staff!A:B,2,FALSE)",
             "oliver other"],
        ],
        "List 8": [
            ["Child Unique ID", "Gender", "Date of Birth", "Placement postcode", "Date Started to be Looked After",
             "Allocated Team", "Allocated Worker"],
            [400401, "SENTINEL-GENDER", DOB, "ZZ9 9ZZ", datetime(2020, 1, 1), "Children in Care", "Amira Auditor"],
        ],
        "List 10": [["Child Unique ID", "Date the Child Entered Care", "Date Placed for Adoption"],
                    [400401, datetime(2020, 1, 1), "=B2+5"]],
    }
    # fmt: on


@pytest.fixture
def dirty(tmp_path) -> Path:
    return _workbook(tmp_path / "Annex A October.xlsx", _dirty_sheets())


@pytest.fixture
def directory(rt, world):
    """The demo staff, plus a second active Oliver Other and a former (inactive) Priya Practitioner."""
    with rt.database.unit_of_work() as db:
        db.add(Person(name="Oliver  Other", email="oliver2@council.example", active=True))
        db.add(Person(name="Priya Practitioner", email="priya.old@council.example", active=False))
    return world


def _cases(rt) -> dict[str, tuple]:
    with rt.database.unit_of_work() as db:
        rows = db.execute(
            select(Case.case_ref, Case.category, Team.name, Person.email, Case.practice_dates, Case.month)
            .outerjoin(Team, Case.team_id == Team.id)
            .outerjoin(Person, Case.worker_id == Person.id)
        )
        return {ref: tuple(rest) for ref, *rest in rows}


def _entries(rt, month: str) -> dict[str, str]:
    """The month's list: case reference -> category."""
    with rt.database.unit_of_work() as db:
        rows = db.execute(
            select(Case.case_ref, CaseListEntry.category).join(CaseListEntry.case).where(CaseListEntry.month == month)
        )
        return dict(rows.all())


def _events(rt) -> list[Event]:
    with rt.database.unit_of_work() as db:
        return list(db.scalars(select(Event).where(Event.kind == "caselist.imported").order_by(Event.id)))


def _import(rt, case_list: CaseList, month: str = "2027-01"):
    with rt.database.unit_of_work() as db:
        return import_cases(db, case_list, month)


def test_the_dirty_workbook_gives_one_case_per_child_with_only_what_qabot_keeps(dirty):
    case_list = read_case_list(dirty)
    assert case_list.rows == {3: 2, 6: 2, 7: 2, 8: 1}
    assert case_list.skipped == 1
    assert case_list.cases == {
        "100101": CaseRecord(
            "100101", "referral", 3, "Family Support North", "priya practitioner", {"referral": "2026-10-01"}
        ),
        "100102": CaseRecord("100102", "referral", 3, None, None, {"referral": "2026-10-03"}),
        "200201": CaseRecord("200201", "CIN", 6, "Locality 9", "Nobody Known", {"last_seen": "2026-10-20"}),
        # On List 6 and List 7: child protection wins, with List 7's worker and dates; the formula date is blank.
        "300301": CaseRecord(
            "300301",
            "CP",
            7,
            "Family Support North",
            "Priya Practitioner",
            {"last_statutory_visit": "2026-11-10", "latest_review_conference": "2026-11-10"},
        ),
        "300302": CaseRecord("300302", "CP", 7, None, "oliver other", {"cp_plan_start": "2026-09-01"}),
        "400401": CaseRecord(
            "400401", "CLA", 8, "Children in Care", "Amira Auditor", {"looked_after_start": "2020-01-01"}
        ),
    }


def test_no_demographic_value_comes_out_of_the_reader(dirty):
    case_list = read_case_list(dirty)
    dumped = repr(case_list)
    for value in DEMOGRAPHICS:
        assert value not in dumped
    assert "=DATE" not in dumped and "VLOOKUP" not in dumped  # formulas are never read as text
    allowed = {key for spec in annex_a.LISTS.values() for key in spec.dates}
    assert all(set(record.dates) <= allowed for record in case_list.cases.values())


def test_the_published_sample_reads_with_plausible_counts():
    case_list = read_case_list(SAMPLE)
    assert case_list.rows == {3: 6, 4: 5, 5: 5, 6: 5, 7: 7, 8: 5, 9: 6}
    assert case_list.skipped == 0
    assert Counter(c.category for c in case_list.cases.values()) == {
        "CP": 7,
        "care_leaver": 6,
        "referral": 5,
        "assessment": 5,
        "s47": 5,
        "CIN": 5,
        "CLA": 5,
    }
    # Child 6537810 is on List 3 and List 5: one s47 case; the NBSP in the worker's name is gone.
    assert case_list.cases["6537810"] == CaseRecord(
        "6537810", "s47", 5, "Locality 3 Duty Team", "Reagan Mor", {"s47_start": "2020-09-16"}
    )
    # List 6's team and worker cells are all #N/A.
    assert {(c.team, c.worker) for c in case_list.cases.values() if c.category == "CIN"} == {(None, None)}
    assert case_list.cases["1761444"].dates == {
        "looked_after_start": "2009-08-06",
        "latest_statutory_review": "2021-01-12",
        "last_social_work_visit": "2021-01-06",
        "last_iro_contact": "2021-01-12",
    }
    dumped = repr(case_list)
    for value in ("WBRI", "Female", "T28 2WB", "2002-02-13"):  # ethnicity, gender, postcode, a date of birth
        assert value not in dumped


def test_a_csv_of_one_list_with_a_bom(tmp_path):
    path = tmp_path / "cp.csv"
    path.write_text(
        "Child Unique ID,Gender,Child  Protection Plan Start Date,Date of the Last Statutory Visit,Allocated Team,"
        "ALLOCATED WORKER\n"
        f"500501,SENTINEL-GENDER,03/11/2026,2026-11-10 00:00:00,Family Support North,Priya{NBSP}Practitioner\n"
        "500502.0,SENTINEL-GENDER,31/02/2026,,#N/A,  \n"
        ",,,,,\n"
        ",SENTINEL-GENDER,,,Family Support North,\n",
        encoding="utf-8-sig",
    )
    case_list = read_case_list(path)
    assert case_list.rows == {7: 2} and case_list.skipped == 1
    assert case_list.cases == {
        "500501": CaseRecord(
            "500501",
            "CP",
            7,
            "Family Support North",
            "Priya Practitioner",
            {"cp_plan_start": "2026-11-03", "last_statutory_visit": "2026-11-10"},
        ),
        "500502": CaseRecord("500502", "CP", 7, None, None, {}),  # 31 February is not a date
    }
    assert "SENTINEL" not in repr(case_list)


def test_a_csv_of_care_leavers_is_told_by_its_other_headers(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(
        "Child Unique ID,Allocated Team,Allocated Worker,LA in Touch\n7001,Care Leavers Team,Jo Bloggs,Yes\n"
    )
    assert read_case_list(path).cases["7001"].category == "care_leaver"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("list.csv", b"Child Unique ID,Allocated Team,Allocated Worker\n1,A,B\n", "Cannot tell which"),
        ("contacts.csv", b"Child Unique ID,Gender,Date of Contact\n1,F,01/01/2026\n", "Cannot tell which"),
        ("empty.csv", b"", "Cannot tell which"),
        (
            "latin1.csv",
            "Child Unique ID,CIN Start Date,Allocated Team,Allocated Worker\n1,,Caf\u00e9,X\n".encode("cp1252"),
            "not a readable UTF-8 CSV",
        ),
        ("utf16.csv", "Child Unique ID,CIN Start Date\n".encode("utf-16"), "not a readable UTF-8 CSV"),
        ("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not a readable UTF-8 CSV"),
        ("garbage.xlsx", b"PK\x03\x04 this is not really a zip", "not a readable .xlsx"),
        ("old.xls", b"\xd0\xcf\x11\xe0", "qabot reads the Annex A workbook"),
        ("missing.xlsx", None, "There is no file"),
    ],
)
def test_unreadable_files_raise_a_clear_error(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CaseListError, match=message):
        read_case_list(path)


def test_a_workbook_without_the_lists_or_their_columns_is_refused(tmp_path):
    with pytest.raises(CaseListError, match="no sheet named List 3"):
        read_case_list(_workbook(tmp_path / "a.xlsx", {"Sheet1": [["Child Unique ID"], [1]]}))
    no_worker = {"List 7": [["Child Unique ID", "Allocated Team"], [1, "A"]]}
    with pytest.raises(CaseListError, match="Sheet 'List 7' has no 'Allocated Worker' column"):
        read_case_list(_workbook(tmp_path / "b.xlsx", no_worker))
    # An empty list is not an error: that council has nobody on it.
    empty = read_case_list(_workbook(tmp_path / "c.xlsx", {"List 9": [], "List 3": _dirty_sheets()["LIST  3"]}))
    assert empty.rows == {9: 0, 3: 2}


def test_import_matches_workers_and_teams_and_reports_the_rest(rt, directory, dirty):
    report = _import(rt, read_case_list(dirty))
    assert (report.total, report.created, report.updated, report.unchanged, report.no_worker) == (6, 6, 0, 0, 1)
    assert report.unmatched_workers == {"Nobody Known": 1}
    assert report.ambiguous_workers == {"oliver other": ["oliver2@council.example", "oliver@council.example"]}
    assert report.unmatched_teams == {"Children in Care": 1, "Locality 9": 1}
    cases = _cases(rt)
    fsn, priya = "Family Support North", "priya@council.example"
    assert {ref: cases[ref] for ref in DIRTY_REFS} == {
        "100101": ("referral", fsn, priya, {"referral": "2026-10-01"}, "2027-01"),
        "100102": ("referral", None, None, {"referral": "2026-10-03"}, "2027-01"),
        "200201": ("CIN", None, None, {"last_seen": "2026-10-20"}, "2027-01"),
        "300301": (
            "CP",
            fsn,
            priya,
            {"last_statutory_visit": "2026-11-10", "latest_review_conference": "2026-11-10"},
            "2027-01",
        ),
        "300302": ("CP", None, None, {"cp_plan_start": "2026-09-01"}, "2027-01"),
        "400401": ("CLA", None, "amira@council.example", {"looked_after_start": "2020-01-01"}, "2027-01"),
    }
    # The demo's own cases are not in the file: left alone.
    assert cases["CS-100234"] == ("CP", fsn, priya, {}, "2027-01")
    assert report.lines() == [
        "Case list for 2027-01:",
        "List 3 (referrals): 2 rows",
        "List 6 (children in need): 2 rows",
        "List 7 (child protection): 2 rows",
        "List 8 (children in care): 1 row",
        "1 row had no Child Unique ID and was skipped.",
        "6 cases in all (a child on several lists counts once, as the most serious).",
        "6 added to this month's list, 0 updated, 0 unchanged.",
        "1 case has no allocated worker in the list.",
        "1 case has a worker who matches nobody in the staff directory: 'Nobody Known' (1).",
        "Worker names shared by several active people, so no worker was set: "
        "'oliver other' (oliver2@council.example, oliver@council.example).",
        "2 cases have a team that matches no team in the directory: 'Children in Care' (1), 'Locality 9' (1).",
    ]


def test_importing_the_same_list_twice_changes_nothing_and_records_one_event(rt, directory, dirty):
    first = _import(rt, read_case_list(dirty))
    before = _cases(rt)
    again = _import(rt, read_case_list(dirty))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 6)
    assert "Nothing changed: this month's list was already imported." in again.lines()
    assert _cases(rt) == before
    [recorded] = _events(rt)
    assert recorded.subject_type is None and recorded.detail["month"] == "2027-01"
    assert recorded.detail["created"] == first.created == 6
    assert recorded.detail["rows"] == {"3": 2, "6": 2, "7": 2, "8": 1}
    assert recorded.detail["unmatched_workers"] == {"Nobody Known": 1}
    assert not any(ref in str(recorded.detail) for ref in DIRTY_REFS)


def test_a_changed_list_updates_only_the_cases_that_changed(rt, directory, tmp_path, dirty):
    _import(rt, read_case_list(dirty))
    sheets = _dirty_sheets()
    sheets["LIST  3"][1][-1] = "Amira Auditor"  # 100101 changes worker
    changed = _import(rt, read_case_list(_workbook(tmp_path / "changed.xlsx", sheets)))
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 5)
    assert _cases(rt)["100101"][2] == "amira@council.example"
    # Next month has a list of its own: the same cases join it, and January's list is as it was.
    next_month = _import(rt, read_case_list(_workbook(tmp_path / "changed.xlsx", sheets)), "2027-02")
    assert (next_month.created, next_month.updated, next_month.unchanged) == (6, 0, 0)
    demo = {"CS-100234": "CP", "CS-100871": "CIN", "CS-100512": "CLA"}
    assert _entries(rt, "2027-01") == _entries(rt, "2027-02") | demo
    cases = _cases(rt)
    assert {cases[ref][-1] for ref in DIRTY_REFS} == {"2027-02"} and cases["CS-100234"][-1] == "2027-01"
    assert [e.detail["updated"] for e in _events(rt)] == [0, 1, 0]


def test_matching_takes_a_handful_of_queries_however_long_the_list(rt, directory):
    def queries(prefix: str, n: int) -> int:
        case_list = CaseList(
            {
                f"{prefix}{i}": CaseRecord(f"{prefix}{i}", "CIN", 6, "Family Support North", "Priya Practitioner", {})
                for i in range(n)
            },
            {6: n},
        )
        statements: list[str] = []
        with rt.database.unit_of_work() as db:
            listen = (db.get_bind(), "before_cursor_execute", lambda *args: statements.append(args[2]))
            event.listen(*listen)
            try:
                report = import_cases(db, case_list, "2027-01")
            finally:
                event.remove(*listen)
        assert report.created == n and not report.unmatched_workers
        return len(statements)

    assert queries("A", 20) == queries("B", 900) <= 6


@pytest.mark.parametrize(
    "month", ["2027-13", "2027-00", "2027-1", "27-01", "January 2027", "2027-01-01", "", "2027/01"]
)
def test_the_month_must_be_yyyy_mm(rt, month):
    with rt.database.unit_of_work() as db, pytest.raises(ValueError, match="month must be YYYY-MM"):
        import_cases(db, CaseList(), month)


def test_the_sample_imports_and_reports_every_unknown_worker(rt, world):
    report = _import(rt, read_case_list(SAMPLE), "2027-03")
    assert (report.created, report.no_worker, sum(report.unmatched_workers.values())) == (38, 5, 33)
    assert report.unmatched_workers["Mathilde Cutsforth"] == 4
    assert "5 cases have no allocated worker in the list." in report.lines()


def test_qabot_import_cases_prints_the_report(rt, world, dirty, settings, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    assert cli.main(["import-cases", str(dirty), "--month", "2027-01"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Case list for 2027-01:") and "List 7 (child protection): 2 rows" in out
    assert cli.main(["import-cases", str(dirty), "--month", "2027-01"]) == 0
    assert "Nothing changed: this month's list was already imported." in capsys.readouterr().out
    assert cli.main(["import-cases", str(dirty), "--month", "Jan 2027"]) == 2
    assert "month must be YYYY-MM" in capsys.readouterr().err
    assert cli.main(["import-cases", str(dirty.with_name("missing.xlsx")), "--month", "2027-01"]) == 2
    assert capsys.readouterr().err.startswith("qabot: There is no file at")


def _csv_of_list_6(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    lines = ["Child Unique ID,CIN Start Date,Allocated Team,Allocated Worker"]
    lines += [f"{ref},01/10/2026,{team},{worker}" for ref, team, worker in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_each_month_keeps_its_own_list(rt, world, dirty, cli_env, capsys):
    """January confirmed, then February imported: January is still there to allocate, and re-importing either
    month in any order leaves the other month's list as it was."""
    from bot.workflow import allocation_run

    assert cli.main(["import-cases", str(dirty), "--month", "2027-01"]) == 0
    january = _entries(rt, "2027-01")
    assert cli.main(["allocate", "--month", "2027-01", "--seed", "5", "--confirm"]) == 0
    assert cli.main(["import-cases", str(dirty), "--month", "2027-02"]) == 0
    assert cli.main(["import-cases", str(dirty), "--month", "2027-01"]) == 0
    assert "Nothing changed" in capsys.readouterr().out
    assert cli.main(["import-cases", str(dirty), "--month", "2027-02"]) == 0
    assert "Nothing changed" in capsys.readouterr().out
    assert _entries(rt, "2027-01") == january
    assert _entries(rt, "2027-02") == {ref: january[ref] for ref in DIRTY_REFS}
    # January is allocated (not "no case list"), and what it held back is still offered; February draws from its
    # own list.
    assert cli.main(["allocate", "--month", "2027-01"]) == 0
    assert "January 2027 is allocated (2 audit(s)); 4 case(s) still need an auditor" in capsys.readouterr().out
    assert cli.main(["allocate", "--month", "2027-02", "--seed", "5"]) == 0
    assert "on the list" in capsys.readouterr().out
    with rt.database.unit_of_work() as db:
        february = db.scalars(select(AllocationRun).where(AllocationRun.month == "2027-02")).one()
        on_february = set(db.scalars(select(Case.id).where(Case.case_ref.in_(DIRTY_REFS))))
        assert set(february.selected) <= on_february
        assert allocation_run.cases_by_ref(db, ["CS-100234"], "2027-02") == []
        assert [c.case_ref for c in allocation_run.cases_by_ref(db, ["CS-100234"], "2027-01")] == ["CS-100234"]


def test_a_csv_of_one_list_keeps_a_case_on_its_more_serious_list(rt, directory, dirty, tmp_path):
    _import(rt, read_case_list(dirty))
    assert _entries(rt, "2027-01")["300301"] == "CP"  # on List 6 and List 7
    # List 6 alone, as a CSV: 300301 is still on List 7 this month, so it stays child protection.
    again = _import(rt, read_case_list(_csv_of_list_6(tmp_path / "cin.csv", [("300301", "", "")])))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert _entries(rt, "2027-01")["300301"] == "CP"
    # A workbook that carries List 7 and no longer has the child on it is the month's word: child in need.
    sheets = _dirty_sheets()
    del sheets[" List 7 "][1]
    corrected = _import(rt, read_case_list(_workbook(tmp_path / "corrected.xlsx", sheets)))
    assert corrected.updated == 1 and _entries(rt, "2027-01")["300301"] == "CIN"


def test_an_audit_keeps_the_category_it_was_allocated_with(rt, world, audit_id, tmp_path):
    from bot.workflow import meeting, supervision
    from store.models import Audit

    # The child-protection case under audit in January turns up on February's List 6 alone.
    path = _csv_of_list_6(tmp_path / "list6.csv", [("CS-100234", "Family Support North", "Priya Practitioner")])
    report = _import(rt, read_case_list(path), "2027-02")
    assert report.created == 1
    assert _cases(rt)["CS-100234"][0] == "CIN"  # the case as its latest list gives it
    assert _entries(rt, "2027-01")["CS-100234"] == "CP"  # January's list as it was
    with rt.database.unit_of_work() as db:
        audit = db.get(Audit, audit_id)
        assert audit.category == "CP"
        # The CRO stays required at the meeting, and supervision keeps the child-protection interval.
        opened = meeting.form_context(db, rt.calendar, audit_id, "U0AUD")
        assert opened.detail["cro_required"] is True
        fw = rt.settings.framework
        assert supervision.weeks(rt.settings, audit) == fw.supervision_weeks_child_protection
        assert fw.supervision_weeks_child_protection != fw.supervision_weeks
