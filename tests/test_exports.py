"""`qabot export`: CSV files of audits, actions and events for a period or one person (a subject-access request),
recorded on the trail and told to the QA channel; refusals change nothing."""

import csv
from datetime import datetime
from pathlib import Path

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from bot import cli
from bot.workflow import actions, allocation, exports, restricted
from store.models import Action, Case, Event, OutboxMessage, Person
from tests.test_disputes import _moderated
from tests.test_moderation import (
    LONDON,
    MONDAY_10,
    _texts,
    moderators,  # noqa: F401 (a fixture)
)

DONE_NOTE = "Plan shared with the school on Friday."
REOPEN_WHY = "The school has not confirmed it received the plan."
FORMULA_NAME = '=HYPERLINK("https://evil.example","Oliver")'
JANUARY = ["--from", "2027-01-01", "--to", "2027-01-31"]
QUINN = ["--by", "U0QA", "--reason", "Ofsted self-evaluation"]


@pytest.fixture
def audits(rt, slack, standin, world, audit_id, moderators, cli_env):  # noqa: F811
    """January: Priya's audit by Amira, moderated Good, its action done by Priya and reopened by Tom; Priya's
    second case, restricted (Amira granted access), allocated to Oliver (whose directory name is a formula).
    February: a third audit."""
    with freeze_time(MONDAY_10, tick=True):
        _moderated(rt, slack, standin, audit_id, "good")
        with rt.database.unit_of_work() as db:
            action_id = db.scalar(select(Action.id))
            assert actions.mark_done(db, rt.calendar, rt.settings, action_id, "U0PRAC", DONE_NOTE, None).ok
        with rt.database.unit_of_work() as db:
            assert actions.reopen(db, rt.calendar, rt.settings, action_id, "U0TM", REOPEN_WHY).ok
        with rt.database.unit_of_work() as db:
            oliver = db.get(Person, world.people["oliver"])
            oliver.name = FORMULA_NAME
            restricted.set_restricted(db, "CS-100871", True, ["amira@council.example"], via="test")
            case = db.scalar(select(Case).where(Case.case_ref == "CS-100871"))
            allocation.allocate(db, rt.calendar, rt.settings, case, oliver, "2027-01")
    with freeze_time(datetime(2027, 2, 2, 9, 0, tzinfo=LONDON)), rt.database.unit_of_work() as db:
        case = db.scalar(select(Case).where(Case.case_ref == "CS-100512"))
        allocation.allocate(db, rt.calendar, rt.settings, case, db.get(Person, world.people["amira"]), "2027-02")
    rt.dispatcher.drain()


@pytest.fixture
def files(tmp_path) -> Path:
    """Where the exports go (the test's SQLite database is in tmp_path)."""
    folder = tmp_path / "files"
    folder.mkdir()
    return folder


def _read(folder: Path, name: str) -> list[dict[str, str]]:
    raw = (folder / f"{name}.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte-order mark, for Excel
    with (folder / f"{name}.csv").open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _exports(rt) -> list[Event]:
    with rt.database.unit_of_work() as db:
        return list(db.scalars(select(Event).where(Event.kind == "export.made").order_by(Event.id)))


@freeze_time(MONDAY_10, tick=True)
def test_a_period_export_holds_the_months_audits_actions_and_events(rt, standin, audits, files, capsys):
    out = files / "ofsted"
    assert cli.main(["export", *JANUARY, *QUINN, "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[:3] == [f"{out / 'audits.csv'}: 2 row(s)", f"{out / 'actions.csv'}: 1 row(s)", printed[2]]
    assert printed[3] == "The export is recorded on the trail and the QA channel is told."
    assert sorted(p.name for p in files.iterdir()) == ["ofsted"]  # no staging folder left behind

    first, second = _read(out, "audits")
    assert first["qa_ref"] == "QA-2027-01-001" and first["month"] == "2027-01" and first["category"] == "CP"
    assert (first["case_system_id"], first["case_note"]) == ("CS-100234", "")
    assert (first["auditor"], first["practitioner"], first["team_manager"], first["moderator"]) == (
        "Amira Auditor",
        "Priya Practitioner",
        "Tom Teamlead",
        "Mo Derator",
    )
    assert (first["team"], first["status"], first["moderation_status"]) == ("Family Support North", "moderated", "done")
    assert first["grade: Assessment"] == first["grade: Planning"] == first["grade: overall"] == "Good"
    assert first["moderated_grade"] == "Good" and first["grade_after_dispute"] == ""
    assert first["allocated_at"] == "2027-01-04T10:00+00:00" and first["submitted_at"].startswith("2027-01-11T10:")
    # A restricted record: no case-system ID; a cell that would run as a formula is text.
    assert second["qa_ref"] == "QA-2027-01-002"
    assert (second["case_system_id"], second["case_note"]) == ("", "restricted")
    assert second["auditor"] == "'" + FORMULA_NAME
    # Family feedback is the family's, and a restricted record's ID stays out of the trail too.
    for name in exports.FILES:
        written = (out / f"{name}.csv").read_text("utf-8-sig")
        assert "Happier at school" not in written and "CS-100871" not in written

    [action] = _read(out, "actions")
    assert (action["qa_ref"], action["owner"], action["status"], action["overdue"]) == (
        "QA-2027-01-001",
        "Priya Practitioner",
        "open",
        "no",
    )
    assert action["due_at"] == "2027-01-18T17:30+00:00" and action["extensions"] == "0"

    events = _read(out, "events")
    kinds = [e["kind"] for e in events]
    assert {"audit.allocated", "audit.submitted", "moderation.recorded", "action.done", "action.reopened"} <= set(kinds)
    assert all(e["at"].startswith("2027-01") for e in events)  # February's allocation is not in January
    done = next(e for e in events if e["kind"] == "action.done")
    assert (done["actor"], done["subject"]) == ("Priya Practitioner", "audit QA-2027-01-001")
    assert DONE_NOTE in done["detail"]  # the QA team's own export keeps the trail as written

    [made] = _exports(rt)
    assert made.detail == {
        "reason": "Ofsted self-evaluation",
        "period": {"from": "2027-01-01", "to": "2027-01-31"},
        "rows": {"audits": 2, "actions": 1, "events": len(events)},
        "folder": str(out),
    }
    with rt.database.unit_of_work() as db:
        assert db.get(Person, made.actor_id).name == "Quinn QA" and made.subject_type is None
    assert _texts(standin, "C0QATEAM")[-1] == (
        ":file_folder: An export of audits, actions and events from Friday 1 January 2027 to Sunday 31 January 2027"
        " was made by Quinn QA for: Ofsted self-evaluation. It is recorded on the trail."
    )


@freeze_time(MONDAY_10, tick=True)
def test_a_persons_export_holds_theirs_only_and_withholds_others_words(
    rt, standin, world, audits, files, monkeypatch, capsys
):
    monkeypatch.chdir(files)
    period = ["--from", "2027-01-01", "--to", "2027-02-28"]
    sar = ["--by", "quinn@council.example", "--reason", "Subject-access request"]
    assert cli.main(["export", *period, "--person", "priya@council.example", *sar]) == 0
    folder = files / f"qabot-export-person-{world.people['priya']}-2027-01-01-2027-02-28"
    priya = _read(folder, "audits")
    assert [a["qa_ref"] for a in priya] == ["QA-2027-01-001", "QA-2027-01-002", "QA-2027-02-001"]
    # The child's case-system ID is the child's data, not the worker's: withheld from every row.
    assert {(a["case_system_id"], a["case_note"]) for a in priya} == {
        ("", "withheld: identifies a child (use the QA reference)")
    }
    assert [a["owner"] for a in _read(folder, "actions")] == ["Priya Practitioner"]
    events = {e["kind"]: e for e in _read(folder, "events")}
    assert DONE_NOTE in events["action.done"]["detail"]  # her own words
    assert REOPEN_WHY not in events["action.reopened"]["detail"]  # Tom's words
    assert exports.WITHHELD in events["action.reopened"]["detail"]

    assert cli.main(["export", *period, "--person", "U0AUD", *sar, "--out", str(files / "amira")]) == 0
    amira = files / "amira"
    assert [a["qa_ref"] for a in _read(amira, "audits")] == ["QA-2027-01-001", "QA-2027-02-001"]
    assert _read(amira, "actions") == []  # Priya's action, not hers
    events = _read(amira, "events")
    assert {e["subject"] for e in events} == {"audit QA-2027-01-001", "audit QA-2027-02-001", "case (restricted)"}
    # Not on that audit, but the trail names her: she was given access to its record.
    assert [e["kind"] for e in events if e["subject"] == "case (restricted)"] == ["case.access_granted"]

    first, second = _exports(rt)
    assert (first.subject_type, first.subject_id) == ("people", world.people["priya"])
    assert first.detail["rows"]["audits"] == 3 and first.detail["folder"] == str(folder)
    # The channel hears that a subject-access export was made, never whose.
    told = _texts(standin, "C0QATEAM")[-2:]
    assert all("one person's records (a subject-access request)" in t for t in told)
    assert not any("Priya" in t or "Amira" in t for t in told)


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["--by", "U0NOBODY", "--reason", "x"], "--by U0NOBODY is not an active person in the staff directory"),
        (["--by", "U0PRAC", "--reason", "x"], "--by Priya Practitioner is not in the QA team"),
        (["--by", "U0QA"], "--reason is required"),
        (["--by", "U0QA", "--reason", "   "], "--reason is required"),
        (["--by", "U0QA", "--reason", "SAR, lives at RH12 1AB"], "--reason must not carry personal details"),
        ([*QUINN, "--person", "nobody@council.example"], "--person nobody@council.example is not in the staff"),
    ],
)
def test_refusals_name_the_problem_and_make_nothing(rt, world, cli_env, files, capsys, argv, error):
    assert cli.main(["export", *JANUARY, *argv, "--out", str(files / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"qabot: {error}") and err.count("\n") == 1
    assert list(files.iterdir()) == [] and _exports(rt) == []


@pytest.mark.parametrize(
    ("period", "error"),
    [
        (["--from", "2027-13-01", "--to", "2027-01-31"], "--from must be a date such as 2027-01-31, got '2027-13-01'"),
        (["--from", "2027-01-01", "--to", "31/01/2027"], "--to must be a date such as 2027-01-31, got '31/01/2027'"),
        (["--from", "2027-02-01", "--to", "2027-01-31"], "--from (2027-02-01) is after --to (2027-01-31)"),
    ],
)
def test_bad_dates_are_refused(rt, world, cli_env, files, capsys, period, error):
    assert cli.main(["export", *period, *QUINN, "--out", str(files / "out")]) == 2
    assert capsys.readouterr().err == f"qabot: {error}\n"
    assert _exports(rt) == []


def test_an_existing_folder_is_never_overwritten(rt, world, cli_env, files, capsys):
    out = files / "taken"
    out.mkdir()
    (out / "audits.csv").write_text("somebody's work")
    assert cli.main(["export", *JANUARY, *QUINN, "--out", str(out)]) == 2
    assert "already exists and is not an empty folder" in capsys.readouterr().err
    assert (out / "audits.csv").read_text() == "somebody's work" and _exports(rt) == []
    # An empty folder is used; nothing in the period still gives three files with their headers.
    empty = files / "empty"
    empty.mkdir()
    assert cli.main(["export", *JANUARY, *QUINN, "--out", str(empty)]) == 0
    assert _read(empty, "audits") == [] and (empty / "events.csv").read_text("utf-8-sig").startswith("event_id,at,")


def test_a_failed_transaction_leaves_no_files(rt, world, cli_env, files, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(exports.outbox, "enqueue", broken)
    with pytest.raises(RuntimeError):
        cli.main(["export", *JANUARY, *QUINN, "--out", str(files / "out")])
    assert list(files.iterdir()) == [] and _exports(rt) == []


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_that_would_run_as_a_formula_is_made_text(start):
    assert exports.safe_cell(f"{start}1+1") == f"'{start}1+1"


def test_ordinary_cells_are_untouched():
    assert [exports.safe_cell(v) for v in ("Good", "2027-01-04T10:00+00:00", "", 3)] == [
        "Good",
        "2027-01-04T10:00+00:00",
        "",
        3,
    ]


def test_the_qa_channel_post_waits_in_the_outbox_without_a_slack_token(rt, world, cli_env, files, monkeypatch):
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    assert cli.main(["export", *JANUARY, *QUINN, "--out", str(files / "out")]) == 0
    [made] = _exports(rt)
    with rt.database.unit_of_work() as db:
        queued = db.scalar(select(OutboxMessage).where(OutboxMessage.key == f"export:{made.id}"))
        assert (queued.recipient, queued.template, queued.status) == ("C0QATEAM", "export_made", "pending")
