"""The staff-directory import: reading Excel's CSV, refusing a bad file whole, and making the directory match
the file — updates by email, leavers deactivated with their open work listed, history kept."""

import logging
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from bot import cli
from bot.demo import STAFF
from bot.workflow import allocation
from bot.workflow.directory import by_email, by_slack_id
from bot.workflow.staff_import import (
    DirectoryError,
    DirectoryInvalid,
    import_org,
    read_staff_csv,
    resolve_slack_ids,
)
from store.models import Action, Audit, Case, Event, Moderation, Person, Team

MONDAY_9 = datetime(2027, 1, 4, 9, 0, tzinfo=ZoneInfo("Europe/London"))
# Odd case and spacing, as people type headers in Excel.
HEADER = " Name ,EMAIL,Slack User ID,Roles,team,Service,Manager_Email"
# Priya comes before her manager Tom: the order of the file must not matter.
BASE = [
    "Helen Head,helen@x.example,U0HOS,head_of_service,Leadership,Children's Services,",
    "Priya Practitioner,priya@x.example,,practitioner,North,Children's Services,TOM@x.example",
    "Sara Service,sara@x.example,U0SM, Service_Manager ; ,Leadership,,helen@x.example",
    "Tom Teamlead,tom@x.example,U0TM,team_manager,North,,sara@x.example",
    "Amira Auditor,amira@x.example,U0AUD, auditor ;moderator,Quality Assurance,QA,",
]


def _csv(tmp_path: Path, lines: list[str], name: str = "staff.csv") -> Path:
    path = tmp_path / name
    path.write_text("\r\n".join([HEADER, *lines]) + "\r\n", encoding="utf-8-sig")  # with a BOM, as Excel saves
    return path


def _import(rt, tmp_path, lines, **kwargs):
    rows = read_staff_csv(_csv(tmp_path, lines))
    with rt.database.unit_of_work() as db:
        return import_org(db, rows, **kwargs)


def _demo_lines(leave_out: tuple[str, ...] = ()) -> list[str]:
    """The demo directory (already seeded by `world`) as a staff file, without the people named."""
    lines = []
    for name, email, slack_id, roles, team, manager in STAFF:
        if name.split()[0].lower() not in leave_out:
            manager_email = f"{manager}@council.example" if manager else ""
            lines.append(f"{name},{email},{slack_id},{';'.join(roles)},{team},Children's Social Care,{manager_email}")
    return lines


def _kinds(rt) -> list[str]:
    with rt.database.unit_of_work() as db:
        return list(db.scalars(select(Event.kind).order_by(Event.id)))


def _counts(rt) -> tuple[int, int, int, int]:
    """People, active people, events, teams."""
    with rt.database.unit_of_work() as db:
        count = select(func.count())
        return (
            db.scalar(count.select_from(Person)),
            db.scalar(count.select_from(Person).where(Person.active.is_(True))),
            db.scalar(count.select_from(Event)),
            db.scalar(count.select_from(Team)),
        )


def test_reads_the_csv_excel_writes(tmp_path):
    rows = read_staff_csv(_csv(tmp_path, [*BASE[:2], ",,,,,,", BASE[2]]))
    assert [r.row for r in rows] == [2, 3, 5]  # the spreadsheet's row numbers, blank row skipped
    helen, priya, sara = rows
    assert helen.name == "Helen Head" and helen.slack_user_id == "U0HOS" and helen.service == "Children's Services"
    assert priya.slack_user_id is None and priya.manager_email == "tom@x.example"
    assert sara.roles == ("service_manager",) and sara.service is None


def test_a_missing_column_is_named(tmp_path):
    path = tmp_path / "staff.csv"
    path.write_text("name,email,roles,team\nAnn,ann@x.example,auditor,QA\n", encoding="utf-8-sig")
    with pytest.raises(DirectoryError, match="has no manager_email column"):
        read_staff_csv(path)


def test_a_file_listing_nobody_is_refused(rt, world, tmp_path):
    before = _counts(rt)
    with rt.database.unit_of_work() as db, pytest.raises(DirectoryInvalid) as caught:
        import_org(db, read_staff_csv(_csv(tmp_path, [])))
    assert caught.value.lines() == ["row 1: the file lists nobody; importing it would deactivate everyone"]
    assert _counts(rt) == before


def test_every_problem_is_reported_with_its_row_and_nothing_is_written(rt, world, tmp_path):
    before = _counts(rt)
    path = _csv(
        tmp_path,
        [
            "Ann A,ann@x.example,U01,practitioner;auditer,North,,ghost@x.example",
            ",bob@x.example,U02,practitioner,North,,",
            "Cat C,cat-at-x.example,U03,practitioner,North,,",
            "Dan D,dan@x.example,U01,practitioner,North,,",
            "Dan Again,DAN@x.example,U06,,North,,",
            "Eve E,eve@x.example,U07,team_manager,North,,eve@x.example",
        ],
    )
    with rt.database.unit_of_work() as db, pytest.raises(DirectoryInvalid) as caught:
        import_org(db, read_staff_csv(path))
    allowed = ", ".join(
        "practitioner team_manager service_manager head_of_service assistant_director executive_director auditor "
        "moderator qa_team qa_head_of_service ad_safeguarding principal_social_worker cro".split()
    )
    assert caught.value.lines() == [
        f"row 2: unknown role 'auditer' (allowed: {allowed})",
        "row 2: Slack user U01 is also on row 5",
        "row 2: manager ghost@x.example is not anyone's email in this file",
        "row 3: no name",
        "row 4: 'cat-at-x.example' is not an email address",
        "row 5: email dan@x.example is also on row 6",
        "row 5: Slack user U01 is also on row 2",
        "row 6: email dan@x.example is also on row 5",
        "row 6: no roles",
        "row 7: manages themselves (manager_email is their own email)",
    ]
    assert "10 problems; nothing was imported" in str(caught.value)
    assert _counts(rt) == before  # nobody added, nobody deactivated, no events


def test_a_management_loop_names_every_row_in_it(rt, tmp_path):
    path = _csv(
        tmp_path,
        [
            "Ann A,a@x.example,U01,team_manager,North,,b@x.example",
            "Bob B,b@x.example,U02,service_manager,North,,c@x.example",
            "Cat C,c@x.example,U03,head_of_service,North,,a@x.example",
            "Dan D,d@x.example,U04,practitioner,North,,a@x.example",  # reports into the loop, is not in it
            "Eve E,e@x.example,U05,team_manager,South,,f@x.example",
            "Fay F,f@x.example,U06,team_manager,South,,e@x.example",
        ],
    )
    with rt.database.unit_of_work() as db, pytest.raises(DirectoryInvalid) as caught:
        import_org(db, read_staff_csv(path))
    assert caught.value.lines() == [
        "row 2: management loop: a@x.example → b@x.example → c@x.example → a@x.example",
        "row 3: management loop: b@x.example → c@x.example → a@x.example → b@x.example",
        "row 4: management loop: c@x.example → a@x.example → b@x.example → c@x.example",
        "row 6: management loop: e@x.example → f@x.example → e@x.example",
        "row 7: management loop: f@x.example → e@x.example → f@x.example",
    ]
    assert _counts(rt) == (0, 0, 0, 0)


def test_import_creates_people_teams_and_line_managers(rt, tmp_path):
    report = _import(rt, tmp_path, BASE)
    assert report.counts() == {"added": 5, "updated": 0, "unchanged": 0, "deactivated": 0, "reactivated": 0}
    assert report.unreachable == ["priya@x.example"]
    assert report.lines() == [
        "Imported 5 people: 5 added.",
        "1 person cannot be messaged in Slack (no Slack account found for their email): priya@x.example",
    ]
    with rt.database.unit_of_work() as db:
        priya = by_email(db, "priya@x.example")
        assert [m.name for m in (priya.line_manager, priya.line_manager.line_manager)] == [
            "Tom Teamlead",
            "Sara Service",
        ]
        assert priya.team.name == "North" and priya.team.service.name == "Children's Services"
        assert by_email(db, "amira@x.example").roles == {"auditor", "moderator"}
        assert by_email(db, "sara@x.example").team.service.name == "Children's Services"
    assert _kinds(rt) == ["person.added"] * 5 + ["directory.imported"]


def test_reimport_updates_name_roles_and_manager_by_email(rt, tmp_path):
    _import(rt, tmp_path, BASE)
    changed = [*BASE[:4], "Amira Khan,AMIRA@X.example,U0AUD,auditor;qa_team,Quality Assurance,QA,helen@x.example"]
    report = _import(rt, tmp_path, changed)
    assert report.counts() == {"added": 0, "updated": 1, "unchanged": 4, "deactivated": 0, "reactivated": 0}
    with rt.database.unit_of_work() as db:
        amira = by_email(db, "amira@x.example")
        assert (amira.name, amira.roles, amira.line_manager.name) == (
            "Amira Khan",
            {"auditor", "qa_team"},
            "Helen Head",
        )
        event = db.scalars(select(Event).where(Event.kind == "person.updated")).one()
        assert event.subject_id == amira.id
        assert event.detail["changes"] == {
            "name": ["Amira Auditor", "Amira Khan"],
            "roles": [["auditor", "moderator"], ["auditor", "qa_team"]],
            "line_manager": [None, "helen@x.example"],
        }
        assert db.scalar(select(func.count()).select_from(Person)) == 5


def test_an_unchanged_reimport_writes_nothing(rt, tmp_path):
    _import(rt, tmp_path, BASE)
    events = len(_kinds(rt))
    report = _import(rt, tmp_path, BASE)
    assert not report.changed and report.unchanged == 5
    assert report.lines()[0] == "No changes: the directory already matches the file (5 people)."
    assert len(_kinds(rt)) == events


@freeze_time(MONDAY_9)
def test_a_leaver_is_deactivated_their_open_work_listed_and_history_kept(rt, world, tmp_path):
    with rt.database.unit_of_work() as db:
        amira = db.get(Person, world.people["amira"])
        audit = allocation.allocate(db, rt.calendar, rt.settings, db.get(Case, world.case_id), amira, "2027-01")
        db.add(Moderation(audit_id=audit.id, moderator_id=amira.id, due_at=MONDAY_9 + timedelta(days=20)))
        for status in ("open", "done"):
            db.add(Action(audit_id=audit.id, description="x", owner_id=amira.id, status=status, due_at=MONDAY_9))
    report = _import(rt, tmp_path, _demo_lines(leave_out=("amira",)))

    assert report.counts() == {"added": 0, "updated": 0, "unchanged": 6, "deactivated": 1, "reactivated": 0}
    work = ["audit QA-2027-01-001", "moderation QA-2027-01-001", "action QA-2027-01-001"]
    assert report.open_work == {"amira@council.example": work}
    assert report.lines() == [
        "Imported 6 people: 6 unchanged.",
        "1 person no longer in the file was deactivated (their history is kept):",
        "  amira@council.example: to reallocate: 1 audit (QA-2027-01-001); 1 moderation (QA-2027-01-001); "
        "1 action (QA-2027-01-001)",
        'Move an audit with: qabot reallocate QA-REF [--to AUDITOR] --by YOU --reason "..."',
    ]
    with rt.database.unit_of_work() as db:
        amira = db.get(Person, world.people["amira"])
        assert not amira.active and amira.roles == {"auditor"}
        assert by_slack_id(db, "U0AUD") is None  # a leaver's clicks are no longer theirs to make
        assert db.scalars(select(Audit)).one().auditor_id == amira.id
        deactivated = db.scalars(select(Event).where(Event.kind == "person.deactivated")).one()
        assert deactivated.subject_id == amira.id and deactivated.detail["open_work"] == work
    assert _kinds(rt) == ["audit.allocated", "person.deactivated", "directory.imported"]


def test_a_returning_person_is_reactivated(rt, world, tmp_path):
    _import(rt, tmp_path, _demo_lines(leave_out=("oliver",)))
    report = _import(rt, tmp_path, _demo_lines())
    assert report.counts() == {"added": 0, "updated": 0, "unchanged": 6, "deactivated": 0, "reactivated": 1}
    with rt.database.unit_of_work() as db:
        assert db.get(Person, world.people["oliver"]).active
        assert by_slack_id(db, "U0AUD2").id == world.people["oliver"]
    assert _kinds(rt)[-2:] == ["person.reactivated", "directory.imported"]


def test_slack_ids_are_looked_up_only_where_the_file_leaves_them_empty(rt, tmp_path):
    asked = []

    def lookup(email: str) -> str | None:
        asked.append(email)
        return {"priya@x.example": "U0PRAC"}.get(email)

    lines = [*BASE, "Nia New,nia@x.example,,practitioner,North,,tom@x.example"]
    rows = read_staff_csv(_csv(tmp_path, lines))
    slack_ids = resolve_slack_ids(rows, lookup)
    assert asked == ["priya@x.example", "nia@x.example"]
    with rt.database.unit_of_work() as db:
        report = import_org(db, rows, slack_ids=slack_ids)
        assert by_email(db, "priya@x.example").slack_user_id == "U0PRAC"
    assert report.added == 6 and report.unreachable == ["nia@x.example"]
    # A later lookup that fails keeps the id already known rather than making Priya unreachable.
    report = _import(rt, tmp_path, lines, slack_ids={})
    assert not report.changed and report.unreachable == ["nia@x.example"]


def test_a_slack_id_moves_with_a_changed_email(rt, tmp_path):
    _import(rt, tmp_path, BASE)
    report = _import(rt, tmp_path, [*BASE[:4], "Amira Khan,amira.khan@x.example,U0AUD,auditor,Quality Assurance,QA,"])
    assert (report.added, report.deactivated) == (1, 1)
    with rt.database.unit_of_work() as db:
        assert by_slack_id(db, "U0AUD").email == "amira.khan@x.example"
        assert by_email(db, "amira@x.example").slack_user_id is None


def test_qabot_import_org_looks_up_slack_ids_and_reports(rt, standin, cli_env, tmp_path, capsys):
    standin.add_user("U0PRIYA", "priya@x.example", "Priya Practitioner")
    assert cli.main(["import-org", str(_csv(tmp_path, BASE))]) == 0
    assert capsys.readouterr().out.startswith("Imported 5 people: 5 added.")
    assert [c.args["email"] for c in standin.calls if c.method == "users.lookupByEmail"] == ["priya@x.example"]
    with rt.database.unit_of_work() as db:
        assert by_email(db, "priya@x.example").slack_user_id == "U0PRIYA"
    bad = [*BASE, "Zed,zed@x.example,,auditer,North,,"]
    assert cli.main(["import-org", str(_csv(tmp_path, bad, "bad.csv"))]) == 2
    err = capsys.readouterr().err
    assert "nothing was imported" in err and "row 7: unknown role 'auditer'" in err
    assert cli.main(["import-org", str(tmp_path / "missing.csv")]) == 2
    assert capsys.readouterr().err.strip() == f"qabot: cannot read {tmp_path}/missing.csv: No such file or directory"


def test_a_leaving_practitioner_has_their_audits_listed(rt, world, tmp_path):
    with freeze_time(MONDAY_9), rt.database.unit_of_work() as db:
        audit = allocation.allocate(
            db, rt.calendar, rt.settings, db.get(Case, world.case_id), db.get(Person, world.people["amira"]), "2027-01"
        )
        ref = audit.qa_ref
    report = _import(rt, tmp_path, _demo_lines(leave_out=("priya",)))
    assert report.open_work["priya@council.example"] == [f"practised-audit {ref}"]
    lines = "\n".join(report.lines())
    assert f"priya@council.example: to reallocate: 1 audit of their own or their team's work ({ref})" in lines
    assert "qabot reallocate" not in lines  # the auditor stays: it is the practitioner who left


def test_a_delegate_column_records_who_covers_whom(rt, tmp_path):
    """An optional delegate_email column: Tom covers Sara's decisions while she is on leave."""
    header = HEADER + ",Delegate_Email"
    lines = [line + ("," + ("tom@x.example" if line.startswith("Sara") else "")) for line in BASE]
    path = tmp_path / "staff.csv"
    path.write_text("\r\n".join([header, *lines]) + "\r\n", encoding="utf-8-sig")
    with rt.database.unit_of_work() as db:
        import_org(db, read_staff_csv(path))
    with rt.database.unit_of_work() as db:
        sara, tom = by_email(db, "sara@x.example"), by_email(db, "tom@x.example")
        assert (sara.delegate_id, tom.delegate_id) == (tom.id, None)
    bad = list(lines)
    bad[2] = bad[2].removesuffix("tom@x.example") + "nobody@x.example"
    path.write_text("\r\n".join([header, *bad]) + "\r\n", encoding="utf-8-sig")
    with rt.database.unit_of_work() as db, pytest.raises(DirectoryInvalid) as refused:
        import_org(db, read_staff_csv(path))
    assert "delegate nobody@x.example is not anyone's email in this file" in str(refused.value.problems)


def test_a_refused_token_imports_the_directory_and_names_who_could_not_be_looked_up(
    rt, standin, cli_env, tmp_path, capsys, monkeypatch
):
    """The directory is what the QA team maintains (a leaver must stop being given work today), so it is imported
    even when Slack will not answer; only the Slack accounts wait, and the command says so and exits 2."""
    _import(rt, tmp_path, [*BASE[:1], "Priya Practitioner,priya@x.example,U0PRIYA,practitioner,North,,"])
    standin.add_user("U0NIA", "nia@x.example", "Nia New")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-revoked")
    lines = [*BASE, "Nia New,nia@x.example,,practitioner,North,,tom@x.example"]
    assert cli.main(["import-org", str(_csv(tmp_path, lines))]) == 2
    out, err = capsys.readouterr()
    assert err.strip() == (
        "qabot: cannot reach Slack to look up 2 people by email (invalid_auth): check SLACK_BOT_TOKEN and"
        " SLACK_API_URL, then run import-org again"
    )
    assert "Traceback" not in err
    assert out.splitlines()[-1] == (
        "2 people could not be looked up in Slack (invalid_auth); they keep any Slack account already recorded:"
        " nia@x.example, priya@x.example"
    )
    assert "cannot be messaged" not in out  # nobody is said to have no Slack account: nobody was asked
    # Slack refused the first lookup: nobody else is asked the same question.
    assert [c.args["email"] for c in standin.calls if c.method == "users.lookupByEmail"] == ["priya@x.example"]
    with rt.database.unit_of_work() as db:
        assert by_email(db, "nia@x.example").active and by_email(db, "priya@x.example").slack_user_id == "U0PRIYA"
    # With the token put right, running it again fills in what was missing.
    monkeypatch.setenv("SLACK_BOT_TOKEN", standin.bot_token)
    assert cli.main(["import-org", str(_csv(tmp_path, lines))]) == 0
    with rt.database.unit_of_work() as db:
        assert by_email(db, "nia@x.example").slack_user_id == "U0NIA"


def test_an_unreachable_slack_is_one_line_not_a_traceback(rt, cli_env, tmp_path, capsys, monkeypatch, caplog):
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:1/api/")
    assert cli.main(["import-org", str(_csv(tmp_path, BASE))]) == 2
    # slack_sdk's error for each attempt is not logged around that line.
    assert not [r for r in caplog.records if r.name.startswith("slack_sdk") and r.levelno >= logging.ERROR]
    out, err = capsys.readouterr()
    assert err.strip() == (
        "qabot: cannot reach Slack to look up 1 person by email (Connection refused): check SLACK_BOT_TOKEN and"
        " SLACK_API_URL, then run import-org again"
    )
    assert out.startswith("Imported 5 people: 5 added.")


def test_import_org_help_names_every_column(capsys):
    with pytest.raises(SystemExit):
        cli.main(["import-org", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for column in ("name", "email", "slack_user_id", "roles", "team", "service", "manager_email", "delegate_email"):
        assert column in help_text
