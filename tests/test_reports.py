"""The quarterly QA report: its figures (built around the QAF's three questions), Cohen's kappa, the CSV and the
chart, and how it reaches the QA team channel: `qabot report`, `/qa report` and the scheduled run, each through the
outbox, with the files uploaded the way Slack takes them (files.getUploadURLExternal, the upload, then
files.completeUploadExternal), checked by the stand-in."""

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from PIL import Image
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import func, select

from bot import cli
from bot.demo import STAFF
from bot.runtime import Runtime
from bot.workflow import report_files, reports
from bot.workflow.directory import add_person
from bot.workflow.forms import load_form
from bot.workflow.reports import Quarter, kappa
from scheduler.jobs import tick
from store.models import (
    Action,
    Audit,
    Case,
    Dispute,
    Escalation,
    Event,
    Highlight,
    Moderation,
    OutboxMessage,
    Person,
    Service,
    Team,
)
from tests.conftest import QA_CHANNEL

LONDON = ZoneInfo("Europe/London")
FORM = load_form("collaborative")
SCALE = list(FORM.scale.codes)
# Thursday 1 April 2027: the first working day after the quarter (Good Friday and Easter Monday were in March).
REPORT_DAY = datetime(2027, 4, 1, 9, 0, tzinfo=LONDON)
NAMES = [name for name, *_ in STAFF] + ["Cara Carer"]
CASE_REFS = ["CS-100234", "CS-100871", "CS-100512", "CS-300001"]


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=LONDON)


# ----- kappa ---------------------------------------------------------------------------------------------------


def test_kappa_against_a_hand_computed_example():
    """Ten audits, the auditor's overall grade (rows) against the moderator's (columns):

                    O   G   RI  I  | auditor
        O           1   1   0   0  |  2
        G           0   3   1   0  |  4
        RI          0   1   2   0  |  3
        I           0   0   0   1  |  1
        moderator   1   5   3   1  | 10

    observed agreement po = (1 + 3 + 2 + 1) / 10 = 0.70
    expected agreement pe = (2×1 + 4×5 + 3×3 + 1×1) / 10² = 32 / 100 = 0.32
    kappa = (po − pe) / (1 − pe) = 0.38 / 0.68 = 0.559
    """
    o, g, ri, i = SCALE
    table = {(o, o): 1, (o, g): 1, (g, g): 3, (g, ri): 1, (ri, g): 1, (ri, ri): 2, (i, i): 1}
    pairs = [pair for pair, n in table.items() for _ in range(n)]
    assert len(pairs) == 10
    assert round(kappa(pairs, SCALE), 3) == 0.559


def test_kappa_edge_cases():
    o, g, ri, i = SCALE
    assert kappa([], SCALE) is None  # no pairs: no figure, never 0
    assert kappa([(o, o), (g, g), (ri, ri), (i, i)], SCALE) == 1.0
    assert kappa([(g, g)] * 5, SCALE) == 1.0  # all in one grade: pe = 1, yet they agreed on every one
    assert kappa([(g, ri), (ri, g)], SCALE) == -1.0  # po 0, pe 0.5: worse than chance
    assert kappa([(g, g), (g, ri)], SCALE) == 0.0  # po 0.5, pe (2×1 + 0×1) / 4 = 0.5


def test_quarters():
    q1 = Quarter.parse("2027Q1")
    assert (str(q1), q1.months, q1.words) == ("2027Q1", ("2027-01", "2027-02", "2027-03"), "January to March 2027")
    assert Quarter.parse(" 2027q4 ").months == ("2027-10", "2027-11", "2027-12")
    assert q1.shift(-1) == Quarter(2026, 4) and Quarter(2027, 4).shift(1) == Quarter(2028, 1)
    for bad in ("2027-1", "2027Q5", "Q1 2027", "2027Q", ""):
        with pytest.raises(ValueError):
            Quarter.parse(bad)
    today = REPORT_DAY.date()
    assert reports.choose("", today) == reports.last_complete(today) == q1
    assert reports.choose("2027Q2", today) == Quarter(2027, 2)  # in progress: its figures so far
    with pytest.raises(ValueError, match="2027Q3 has not started yet"):
        reports.choose("2027Q3", today)
    assert reports.choose("2027-02", today) == reports.Month(2027, 2)  # one month on its own
    with pytest.raises(ValueError, match="2027-07 has not started yet"):
        reports.choose("2027-07", today)


# ----- a small seeded quarter -----------------------------------------------------------------------------------


def _audit(db, case, month, n, *, status="awaiting_moderation", overall=None, domains=None, voice=None):
    submitted = overall is not None
    audit = Audit(
        qa_ref=f"QA-{month}-{n:03d}",
        case_id=case.id,
        month=month,
        category=case.category,
        status=status,
        allocated_at=at(f"{month}-01"),
        overall_grade=overall,
        grades={q.id: {"grade": (domains or {}).get(q.id, overall), "rationale": "Seen."} for q in FORM.domains}
        if submitted
        else {},
        answers={"child_voice": voice} if voice else {},
        submitted_at=at(f"{month}-20") if submitted else None,
    )
    db.add(audit)
    db.flush()
    return audit


@pytest.fixture
def quarter(rt, world):
    """2027Q1: five audits allocated (one passed back), three completed, two moderated, one of them disputed; an
    audit of April, actions, escalations and highlights in and out of the quarter."""
    with rt.database.unit_of_work() as db:
        people = {name: db.get(Person, pid) for name, pid in world.people.items()}
        cases = list(db.scalars(select(Case).order_by(Case.id)))
        other = Case(
            case_ref="CS-300001",
            category="CLA",
            team=Team(name="Children We Care For", service=Service(name="Corporate Parenting")),
            month="2027-02",
        )
        db.add(other)
        db.flush()
        # Good, agreed. Requires Improvement, changed to Good (with Assessment) by the moderator, then to
        # Outstanding on dispute. Inadequate, awaiting moderation. One not done yet; one passed back.
        agreed = _audit(db, cases[0], "2027-01", 1, status="moderated", overall="good", voice="yes")
        changed = _audit(
            db,
            cases[1],
            "2027-01",
            2,
            status="moderated",
            overall="requires_improvement",
            domains={"assessment": "requires_improvement", "planning": "good"},
            voice="partly",
        )
        _audit(db, other, "2027-02", 3, overall="inadequate", voice="no")
        _audit(db, cases[2], "2027-03", 4, status="accepted")
        _audit(db, cases[2], "2027-03", 5, status="declined")
        _audit(db, cases[0], "2027-04", 6, overall="inadequate", voice="no")  # next quarter
        db.add(Moderation(audit_id=agreed.id, status="done", due_at=at("2027-01-29"), grade="good", changes={}))
        moderation = Moderation(
            audit_id=changed.id,
            status="done",
            due_at=at("2027-01-29"),
            grade="good",
            changes={
                "overall": {"from": "requires_improvement", "to": "good", "rationale": "Impact shown."},
                "assessment": {"from": "requires_improvement", "to": "good", "rationale": "Analysis is there."},
            },
        )
        db.add(moderation)
        db.flush()
        db.add(
            Dispute(
                audit_id=changed.id,
                moderation_id=moderation.id,
                raised_by_id=people["priya"].id,
                reason="More than good.",
                raised_at=at("2027-02-01"),
                status="changed",
                new_grade="outstanding",
                decided_at=at("2027-02-10"),
            )
        )
        owner = people["priya"].id
        for due, status, done in (
            ("2027-02-01", "signed_off", "2027-01-30"),  # on time
            ("2027-02-01", "done", "2027-02-03"),  # late
            ("2027-03-01", "open", None),  # overdue
            ("2027-04-05", "open", None),  # due next quarter
        ):
            db.add(
                Action(
                    audit_id=agreed.id,
                    description="Review the plan.",
                    owner_id=owner,
                    status=status,
                    due_at=at(due, 17),
                    done_at=at(done) if done else None,
                )
            )
        sm, hos = people["sara"].id, people["helen"].id
        for n, (policy, chain, level, started) in enumerate(
            (
                ("overdue_action", [("service_manager", sm), ("head_of_service", hos)], 1, "2027-02-10"),
                ("overdue_moderation", [("service_manager", sm)], 0, "2027-02-11"),
                ("safeguarding", [("team_manager", people["tom"].id)], 0, "2027-02-12"),  # an alert, not drift
                ("overdue_action", [("service_manager", sm)], 0, "2027-04-02"),  # next quarter
            )
        ):
            db.add(
                Escalation(
                    policy=policy,
                    subject_type="actions",
                    subject_id=n + 1,
                    chain=[{"level": i, "role": role, "person_id": pid} for i, (role, pid) in enumerate(chain)],
                    level=level,
                    status="pending",
                    started_at=at(started),
                    respond_by=at(started) + timedelta(days=3),
                )
            )
        for theme, posted in (
            ("Child's voice", "2027-01-15"),
            (" child's voice", "2027-03-31"),
            ("Supervision", "2027-02-02"),
            ("Supervision", "2027-04-01"),  # next quarter
        ):
            db.add(Highlight(theme=theme, learned="What helped.", author_id=people["quinn"].id, posted_at=at(posted)))
    return Quarter(2027, 1)


def _figures(rt, quarter):
    with rt.database.unit_of_work() as db:
        return reports.figures(db, rt.calendar, quarter)


@freeze_time(REPORT_DAY)
def test_the_figures_of_a_small_quarter(rt, quarter):
    figures = _figures(rt, quarter)
    assert figures["quarter"] == "2027Q1" and figures["period"] == "January to March 2027"
    with freeze_time(REPORT_DAY - timedelta(days=1)):  # the quarter's last day: a report of it so far
        assert _figures(rt, quarter)["period"] == "January to March 2027 (so far)"
    assert figures["audits"] == {
        "allocated": 4,
        "completed": 3,
        "months": [
            {"label": "January 2027", "allocated": 2, "completed": 2},
            {"label": "February 2027", "allocated": 1, "completed": 1},
            {"label": "March 2027", "allocated": 1, "completed": 0},
        ],
    }
    grades = figures["grades"]
    # Standing grades: Good (agreed); Outstanding (the dispute's); Inadequate (the auditor's, awaiting moderation).
    assert grades["overall"] == [1, 1, 0, 1]
    assert [m["counts"] for m in grades["months"]] == [[1, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]]
    domains = {d["label"]: d["counts"] for d in grades["domains"]}
    assert list(domains) == [q.label for q in FORM.domains]
    assert domains["Assessment"] == [0, 2, 0, 1]  # the moderator's Good replaces the auditor's RI
    assert domains["Planning"] == [0, 2, 0, 1]
    assert domains["Review"] == [0, 1, 1, 1]
    assert grades["services"] == [
        {"label": "Children's Social Care", "counts": [1, 1, 0, 0]},
        {"label": "Corporate Parenting", "counts": [0, 0, 0, 1]},
    ]
    # Two moderated, 7 grades each (six domains and the overall), 2 changed; auditor v moderator: (G, G), (RI, G)
    # gives po 0.5, pe (1×2 + 1×0) / 4 = 0.5, kappa 0.
    assert figures["moderation"] == {
        "audits": 2,
        "grades": 14,
        "changed": 2,
        "overall_changed": 1,
        "kappa": 0.0,
        "kappa_n": 2,
    }
    assert figures["voice"] == {"answered": 3, "yes": 1, "partly": 1, "no": 1}
    assert figures["actions"] == {"due": 3, "on_time": 1, "late": 1, "overdue": 1, "not_yet_due": 0}
    assert figures["escalations"] == {
        "total": 2,
        "levels": [
            {"role": "service_manager", "count": 1},
            {"role": "head_of_service", "count": 1},
            {"role": "assistant_director", "count": 0},
            {"role": "executive_director", "count": 0},
        ],
    }
    assert figures["themes"] == [{"label": "Child's voice", "count": 2}, {"label": "Supervision", "count": 1}]


@freeze_time(REPORT_DAY)
def test_an_empty_quarter_says_plainly_there_is_no_kappa(rt, world):
    figures = _figures(rt, Quarter(2026, 4))
    assert figures["moderation"]["kappa"] is None and figures["moderation"]["kappa_n"] == 0
    rows = {(s, i, m): v for s, i, m, v in report_files.rows(figures)}
    assert rows[("moderation", "quarter", "cohen's kappa (overall grade)")] == ""
    reports_text = _render(figures)
    assert "Cohen's kappa): no figure, as no audit with an overall grade has been moderated (n = 0)" in reports_text


def _render(figures):
    from messages import render

    payload = render(reports.TEMPLATE, figures | {"again": False})
    return payload["text"] + str(payload["blocks"])


@freeze_time(REPORT_DAY)
def test_the_csv_holds_the_figures(rt, quarter):
    figures = _figures(rt, quarter)
    table = list(csv.DictReader(io.StringIO(report_files.csv_bytes(figures).decode("utf-8"))))
    assert {row["quarter"] for row in table} == {"2027Q1"}
    value = {(r["section"], r["item"], r["measure"]): r["value"] for r in table}
    assert value[("audits", "quarter", "allocated")] == "4"
    assert value[("audits", "March 2027", "completed")] == "0"
    assert value[("overall grade", "quarter", "Outstanding")] == "1"
    assert value[("overall grade", "February 2027", "Inadequate")] == "1"
    assert value[("grade by domain", "Assessment", "Good")] == "2"
    assert value[("overall grade by service", "Corporate Parenting", "Inadequate")] == "1"
    assert value[("moderation", "quarter", "grades changed")] == "2"
    assert value[("moderation", "quarter", "cohen's kappa (overall grade)")] == "0.0"
    assert value[("moderation", "quarter", "kappa n")] == "2"
    assert value[("child's voice", "quarter", "evident")] == "1"
    assert value[("actions", "quarter", "overdue")] == "1"
    assert value[("escalations", "Head of Service", "highest level reached")] == "1"
    assert value[("learning themes", "Child's voice", "highlights")] == "2"
    assert len(table) == len(report_files.rows(figures))


def test_a_theme_cannot_become_a_spreadsheet_formula():
    figures = _empty() | {"themes": [{"label": '=HYPERLINK("x")', "count": 1}]}
    text = report_files.csv_bytes(figures).decode()
    assert "'=HYPERLINK" in text


def _empty():
    from tests.message_examples import NOTHING, REPORT

    return REPORT | NOTHING


@freeze_time(REPORT_DAY)
def test_the_chart_is_a_real_png(rt, quarter):
    import matplotlib.image

    png = report_files.chart_png(_figures(rt, quarter))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG" and image.size == (800, 500)
    assert matplotlib.image.imread(io.BytesIO(png), format="png").shape[:2] == (500, 800)
    # A quarter with nothing completed still draws (and says so) rather than failing.
    assert report_files.chart_png(_empty()).startswith(b"\x89PNG")


# ----- delivery ------------------------------------------------------------------------------------------------


def _reports_posted(standin):
    return [c for c in standin.posted(QA_CHANNEL) if c.args["text"].startswith("Quarterly QA report")]


def _assert_anonymous(*texts):
    for text in texts:
        for secret in [*CASE_REFS, *NAMES, "QA-2027"]:
            assert secret not in text, secret


@freeze_time(REPORT_DAY)
def test_the_report_goes_through_the_outbox_with_its_files(rt, standin, quarter):
    with rt.database.unit_of_work() as db:
        key = reports.post(db, rt.calendar, rt.settings, quarter, via="test")
        figures = reports.figures(db, rt.calendar, quarter)
    assert key == "report:2027Q1:1"
    assert rt.dispatcher.drain().sent == 1
    [message] = _reports_posted(standin)
    assert "3 of 4 allocated audits completed (75%)" in message.args["text"]
    body = str(message.args["blocks"])
    assert "Cohen's kappa): 0.00 (n = 2)" in body and "Child's voice 2" in body
    files = standin.files(QA_CHANNEL)
    assert [f["name"] for f in files] == ["qa-report-2027Q1.csv", "qa-report-2027Q1-grades.png"]
    assert files[0]["data"] == report_files.csv_bytes(figures)
    assert files[1]["data"].startswith(b"\x89PNG\r\n\x1a\n")
    assert [c.method for c in standin.calls if c.method.startswith("files.")] == [
        "files.getUploadURLExternal",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    assert all(c.ok for c in standin.calls)
    _assert_anonymous(message.args["text"], body, files[0]["data"].decode(), *(f["name"] for f in files))
    with rt.database.unit_of_work() as db:
        events = db.scalars(select(Event).where(Event.kind == "report.queued")).all()
        assert [(e.detail["quarter"], e.detail["via"]) for e in events] == [("2027Q1", "test")]


@freeze_time(REPORT_DAY)
def test_an_upload_that_fails_is_retried_without_posting_the_message_twice(rt, standin, quarter):
    with rt.database.unit_of_work() as db:
        reports.post(db, rt.calendar, rt.settings, quarter, via="test")
    standin.inject("files.completeUploadExternal", status=500)
    result = rt.dispatcher.drain()
    assert (result.sent, result.deferred) == (0, 1)
    assert len(_reports_posted(standin)) == 1 and standin.files() == []
    with freeze_time(REPORT_DAY + timedelta(minutes=5)):
        assert rt.dispatcher.drain().sent == 1
    assert len(_reports_posted(standin)) == 1
    assert [f["name"] for f in standin.files(QA_CHANNEL)] == ["qa-report-2027Q1.csv", "qa-report-2027Q1-grades.png"]


def test_an_upload_slack_completed_though_its_answer_never_came_is_not_done_twice(settings, standin, quarter):
    rt = Runtime.build(settings, timeout=1)
    try:
        with freeze_time(REPORT_DAY):
            with rt.database.unit_of_work() as db:
                reports.post(db, rt.calendar, rt.settings, quarter, via="test")
            standin.inject("files.completeUploadExternal", delay=2.5)  # shared, but answered too late
            assert rt.dispatcher.drain().deferred == 1
            assert len(standin.files(QA_CHANNEL)) == 2
        with freeze_time(REPORT_DAY + timedelta(minutes=1)):
            assert rt.dispatcher.drain().sent == 1
        assert len(_reports_posted(standin)) == 1 and len(standin.files(QA_CHANNEL)) == 2
        listed = standin.last("files.list").args
        assert listed["channel"] == QA_CHANNEL and int(listed["ts_from"]) <= float(
            _reports_posted(standin)[0].response["ts"]
        )
    finally:
        rt.close()


def test_the_standin_refuses_uploads_as_slack_does(standin):
    client = WebClient(token=standin.bot_token, base_url=standin.api_url)

    def error(call):
        with pytest.raises(SlackApiError) as refused:
            call()
        return refused.value.response["error"]

    assert error(lambda: client.api_call("files.getUploadURLExternal", params={"filename": "a.csv"})) == (
        "invalid_arguments"
    )
    assert error(lambda: client.files_getUploadURLExternal(filename="a.csv", length="many")) == "invalid_arguments"
    assert error(lambda: client.api_call("files.completeUploadExternal", params={"channel_id": QA_CHANNEL})) == (
        "invalid_arguments"
    )
    assert error(lambda: client.files_completeUploadExternal(files=[{"id": "F0NOPE"}], channel_id=QA_CHANNEL)) == (
        "file_not_found"
    )
    # Issued but never uploaded to; uploaded with fewer bytes than announced.
    issued = client.files_getUploadURLExternal(filename="a.csv", length=3)
    assert error(lambda: client.files_completeUploadExternal(files=[{"id": issued["file_id"]}])) == "file_not_found"
    client._upload_file(url=issued["upload_url"], data=b"ab", logger=client._logger, timeout=3, proxy=None, ssl=None)
    assert error(lambda: client.files_completeUploadExternal(files=[{"id": issued["file_id"]}])) == (
        "file_size_mismatch"
    )
    # A channel the bot is not in, one that does not exist, then where it is: shared once.
    standin.add_channel("C0ELSEWHERE", "elsewhere")
    upload = {"content": "a,b\r\n", "filename": "x.csv", "title": "x"}
    assert error(lambda: client.files_upload_v2(channel="C0ELSEWHERE", **upload)) == "not_in_channel"
    assert error(lambda: client.files_upload_v2(channel="C0NOWHERE", **upload)) == "channel_not_found"
    shared = client.files_upload_v2(channel=QA_CHANNEL, **upload)
    assert shared["file"]["channels"] == [QA_CHANNEL] and shared["file"]["title"] == "x"
    assert [(f["name"], f["data"]) for f in standin.files(QA_CHANNEL)] == [("x.csv", b"a,b\r\n")]
    file_id = shared["file"]["id"]
    assert error(lambda: client.files_completeUploadExternal(files=[{"id": file_id}], channel_id=QA_CHANNEL)) == (
        "file_not_found"  # completed already
    )


# ----- the scheduled run, the command line and /qa report --------------------------------------------------------


def _report_rows(rt):
    with rt.database.unit_of_work() as db:
        return db.scalars(
            select(OutboxMessage.key).where(OutboxMessage.template == reports.TEMPLATE).order_by(OutboxMessage.id)
        ).all()


def test_the_scheduled_run_posts_a_quarter_once(rt, standin, settings, quarter):
    tick(rt, REPORT_DAY - timedelta(minutes=1))
    assert _report_rows(rt) == []  # from 09:00 only
    tick(rt, REPORT_DAY)
    tick(rt, REPORT_DAY + timedelta(minutes=5))
    assert _report_rows(rt) == ["report:2027Q1"]
    # A restarted process (a new runtime on the same database) does not post it again.
    again = Runtime.build(settings, timeout=3)
    try:
        tick(again, REPORT_DAY + timedelta(hours=2))
        tick(again, REPORT_DAY + timedelta(days=20))
    finally:
        again.close()
    assert _report_rows(rt) == ["report:2027Q1"]
    assert len(_reports_posted(standin)) == 1
    assert len(standin.files(QA_CHANNEL)) == 2
    message = _reports_posted(standin)[0]
    assert "re-run" not in str(message.args["blocks"])


def test_a_quarter_with_nothing_allocated_has_no_report(rt, standin, world):
    tick(rt, datetime(2027, 1, 4, 9, 30, tzinfo=LONDON))  # 2026Q4, before qabot was used
    assert _report_rows(rt) == []


def test_the_first_working_day_skips_bank_holidays(rt, world):
    # 2027Q4 ends on a Friday; Monday 3 January 2028 is the New Year bank holiday.
    with rt.database.unit_of_work() as db:
        _audit(db, db.get(Case, world.case_id), "2027-12", 1, status="accepted")
    for moment, expected in (
        (datetime(2028, 1, 3, 10, 0, tzinfo=LONDON), 0),
        (datetime(2028, 1, 4, 8, 59, tzinfo=LONDON), 0),
        (datetime(2028, 1, 4, 9, 0, tzinfo=LONDON), 1),
        (datetime(2028, 1, 4, 9, 5, tzinfo=LONDON), 0),
    ):
        with freeze_time(moment), rt.database.unit_of_work() as db:
            assert reports.post_due(db, rt.calendar, rt.settings) == expected


@freeze_time(REPORT_DAY)
def test_qabot_report(rt, standin, quarter, cli_env, capsys):
    assert cli.main(["report", "--quarter", "2027Q1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Quarterly QA report 2027Q1 (January to March 2027):\n")
    assert "  moderation, quarter: cohen's kappa (overall grade) 0.0\n" in out
    assert "Delivery: 1 sent" in out
    _assert_anonymous(out)
    assert len(_reports_posted(standin)) == 1 and len(standin.files(QA_CHANNEL)) == 2
    for bad, says in (("2027-1", "a quarter looks like 2027Q1"), ("2027Q3", "2027Q3 has not started yet")):
        assert cli.main(["report", "--quarter", bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"qabot: --quarter: {says}") and err.count("\n") == 1
    assert _report_rows(rt) == ["report:2027Q1:1"]
    # A period with nothing allocated has no report: said in one line, nothing posted.
    assert cli.main(["report", "--quarter", "2026Q4"]) == 2
    err = capsys.readouterr().err
    assert err == "qabot: nothing was allocated in 2026Q4, so there is no report to post\n"
    assert cli.main(["report", "--quarter", "2027-02"]) == 0
    assert capsys.readouterr().out.startswith("QA report 2027-02 (February 2027):\n")
    assert _report_rows(rt) == ["report:2027Q1:1", "report:2027-02:1"]


@freeze_time(REPORT_DAY + timedelta(days=5), tick=True)
def test_qa_report_for_the_qa_team_only(rt, standin, slack, quarter):
    slack.command("U0PRAC", "/qa", "report")
    refusal = standin.responses[-1].body
    assert refusal["response_type"] == "ephemeral"
    assert refusal["text"].startswith("Only the QA team can post the quarterly QA report.")
    slack.command("U0QA", "/qa", "report 2027-Q1")
    assert standin.responses[-1].body["text"].startswith("Please name the quarter as YYYYQn")
    assert _report_rows(rt) == []
    with rt.database.unit_of_work() as db:
        refused = db.scalars(select(Event).where(Event.kind == "refused.report")).all()
        assert [e.actor_slack_id for e in refused] == ["U0PRAC"]

    slack.command("U0QA", "/qa", "report")  # the last complete quarter
    assert standin.responses[-1].body["text"] == (
        "The quarterly QA report for 2027Q1 is on its way to the QA team channel, with its CSV and chart."
    )
    slack.command("U0QA", "/qa", "report 2027q1")
    rt.dispatcher.drain()
    assert _report_rows(rt) == ["report:2027Q1:1", "report:2027Q1:2"]
    first, second = _reports_posted(standin)
    assert "re-run" not in str(first.args["blocks"]) and "a re-run on request" in str(second.args["blocks"])
    assert len(standin.files(QA_CHANNEL)) == 4
    with rt.database.unit_of_work() as db:
        asked = db.scalars(select(Event).where(Event.kind == "report.queued")).all()
        assert {e.detail["via"] for e in asked} == {"slash command"}
        assert db.scalar(select(func.count()).select_from(Event).where(Event.kind == "refused.report")) == 1

    slack.command("U0QA", "/qa", "report 2026Q4")  # before anything was allocated
    assert standin.responses[-1].body["text"] == "Nothing was allocated in 2026Q4, so there is no report to post."
    with rt.database.unit_of_work() as db:  # the QA Head of Service leads the QA team: theirs to post too
        add_person(
            db, name="Hana Head", email="hana@council.example", slack_user_id="U0HEAD", roles=["qa_head_of_service"]
        )
    standin.add_user("U0HEAD", "hana@council.example", "Hana Head")
    slack.command("U0HEAD", "/qa", "report 2027-02")
    assert standin.responses[-1].body["text"] == (
        "The QA report for 2027-02 is on its way to the QA team channel, with its CSV and chart."
    )
    assert _report_rows(rt)[-1] == "report:2027-02:1"


def test_the_manifest_asks_to_upload_files():
    from tests.test_manifest import MANIFEST

    assert "files:write" in MANIFEST["oauth_config"]["scopes"]["bot"]


@freeze_time(REPORT_DAY)
def test_a_months_report_for_the_demo(rt, standin, quarter):
    january = reports.Month.parse("2027-01")
    assert (january.months, january.words, january.shift(1)) == (("2027-01",), "January 2027", reports.Month(2027, 2))
    with rt.database.unit_of_work() as db:
        assert reports.post(db, rt.calendar, rt.settings, january, via="demo") == "report:2027-01:1"
    rt.dispatcher.drain()
    [message] = [c for c in standin.posted(QA_CHANNEL) if c.args["text"].startswith("QA report, January 2027")]
    assert "2 of 2 allocated audits completed (100%)" in message.args["text"]
    files = standin.files(QA_CHANNEL)
    assert [f["name"] for f in files] == ["qa-report-2027-01.csv", "qa-report-2027-01-grades.png"]
    with Image.open(io.BytesIO(files[1]["data"])) as image:
        assert image.size == (800, 500)
