"""Retention: the nightly job (the same `tick` as `qabot tick`) deletes or anonymises what is past its configured
period, never what open work needs; it runs once a night, a second run changes nothing, each run is on the trail
with its counts, and `qabot retention --dry-run` changes nothing."""

import csv
import json
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import delete, func, select
from sqlalchemy.exc import DBAPIError

from bot import cli, config
from bot.config import ConfigError, Retention
from bot.workflow import actions, reports, restricted, retention
from bot.workflow.requests import claim
from scheduler.jobs import tick
from store.models import (
    Action,
    Audit,
    Case,
    CaseListEntry,
    Event,
    EventsPurge,
    IdempotencyKey,
    Moderation,
    OutboxMessage,
)
from tests.test_disputes import _dispute, _moderated
from tests.test_moderation import (
    FORM,
    LONDON,
    MONDAY_10,
    moderators,  # noqa: F401 (a fixture)
)

DONE_NOTE = "Plan shared with the school on Friday."
FEEDBACK = "Happier at school."


def night(day) -> datetime:
    """03:00 on `day`: inside the job's nightly window."""
    return datetime(day.year, day.month, day.day, 3, 0, tzinfo=LONDON)


def _finish(rt, slack, standin, audit_id, *, sign_off=True, dispute=False):
    """Priya's audit moderated Good; its action done by Priya and (unless told not to) signed off by Tom; and if
    asked, the moderated grade disputed by Priya (left undecided)."""
    with freeze_time(MONDAY_10, tick=True):
        moderation_id = _moderated(rt, slack, standin, audit_id, "good")
        if dispute:
            assert _dispute(rt, slack, standin, "U0PRAC", moderation_id).body == ""
        with rt.database.unit_of_work() as db:
            action_id = db.scalar(select(Action.id))
            assert actions.mark_done(db, rt.calendar, rt.settings, action_id, "U0PRAC", DONE_NOTE, None).ok
        if sign_off:
            with rt.database.unit_of_work() as db:
                assert actions.sign_off(db, rt.calendar, rt.settings, action_id, "U0TM").ok
    rt.dispatcher.drain()


@pytest.fixture
def closed(rt, slack, standin, world, audit_id, moderators):  # noqa: F811
    """A closed audit (moderated, its action signed off); returns the moment of its last activity."""
    _finish(rt, slack, standin, audit_id)
    with rt.database.unit_of_work() as db:
        audit = db.get(Audit, audit_id)
        assert audit.status == "moderated" and audit.answers and audit.family_feedback["child_voice"] == FEEDBACK
        return db.scalar(select(func.max(Event.at)).where(Event.subject_type == "audits", Event.subject_id == audit_id))


def _audit(rt, audit_id) -> Audit:
    with rt.database.unit_of_work() as db:
        return db.get(Audit, audit_id)


def _runs(rt) -> list[Event]:
    with rt.database.unit_of_work() as db:
        return list(db.scalars(select(Event).where(Event.kind == retention.RUN).order_by(Event.id)))


def _snapshot(rt) -> dict:
    """Every row retention may touch, as stored."""
    with rt.database.unit_of_work() as db:
        rows = {}
        for model in (Audit, Case, CaseListEntry, Action, Moderation, OutboxMessage, IdempotencyKey, Event):
            rows[model.__tablename__] = sorted(
                json.dumps({c.name: getattr(r, c.name) for c in model.__table__.columns}, default=str, sort_keys=True)
                for r in db.scalars(select(model))
            )
        return rows


def test_a_closed_audit_keeps_its_text_until_the_night_after_its_period_then_only_the_text_goes(
    rt, world, audit_id, closed
):
    anniversary = closed.astimezone(LONDON).date().replace(year=closed.year + 3)
    before = _audit(rt, audit_id)
    with freeze_time(MONDAY_10), rt.database.unit_of_work() as db:
        figures = reports.figures(db, rt.calendar, reports.choose("2027Q1", anniversary))

    # That night the cut-off is 03:00 on the day of its last activity, three years ago: just inside.
    tick(rt, night(anniversary))
    assert _runs(rt)[-1].detail["audits_anonymised"] == 0
    kept = _audit(rt, audit_id)
    assert kept.anonymised_at is None and kept.answers == before.answers
    assert kept.family_feedback["child_voice"] == FEEDBACK

    tick(rt, night(anniversary + timedelta(days=1)))
    assert _runs(rt)[-1].detail["audits_anonymised"] == 1
    gone = _audit(rt, audit_id)
    assert gone.anonymised_at is not None
    # Grades, choices and dates stay; every typed word is the marker.
    assert gone.overall_grade == before.overall_grade == "good"
    assert {k: v["grade"] for k, v in gone.grades.items()} == {k: v["grade"] for k, v in before.grades.items()}
    assert all(v["rationale"] in (None, retention.MARKER) for v in gone.grades.values())
    assert gone.family_feedback == {"how": "visit", "child_voice": retention.MARKER, "family_view": retention.MARKER}
    assert gone.submitted_at == before.submitted_at and gone.meeting_at == before.meeting_at
    written = {q.id for q in FORM.questions if q.kind == "text"} | {q.rationale_id for q in FORM.questions}
    assert {k for k, v in before.answers.items() if v} & written
    for key, value in before.answers.items():
        assert gone.answers[key] == (retention.MARKER if key in written and value else value), key
    with rt.database.unit_of_work() as db:
        action = db.scalar(select(Action).where(Action.audit_id == audit_id))
        assert action.description == action.done_note == retention.MARKER and action.status == "signed_off"
        case = db.get(Case, world.case_id)
        assert case.case_ref == f"anonymised-{case.id}" and case.anonymised_at is not None
        assert db.scalar(select(CaseListEntry).where(CaseListEntry.case_id == case.id)) is None
        # The quarter's figures still add up.
        with freeze_time(MONDAY_10):
            assert reports.figures(db, rt.calendar, reports.choose("2027Q1", anniversary)) == figures
        # The trail's who, what and when stay: only the events' own age deletes them.
        assert db.scalar(select(func.count()).select_from(Event).where(Event.subject_id == audit_id)) > 5


def test_the_trail_is_kept_seven_years_then_deleted_by_the_job_alone(rt, world, audit_id, closed):
    first = _first_event(rt)
    seventh = first.astimezone(LONDON).date().replace(year=first.year + 7)
    count = _trail(rt)
    tick(rt, night(seventh))  # the cut-off is 03:00 on the first event's day: just inside
    assert _first_event(rt) == first and _trail(rt) == count
    tick(rt, night(seventh + timedelta(days=1)))  # past for that day's events, not for the later ones
    assert 0 < _trail(rt) < count and _first_event(rt) > first
    assert _runs(rt)[-1].detail["events_deleted"] == count - _trail(rt)
    tick(rt, night(closed.astimezone(LONDON).date().replace(year=closed.year + 7) + timedelta(days=1)))
    assert _trail(rt) == 0
    run = _runs(rt)[-1]
    # Outside the job's own transaction the trail is append-only still; a cut-off lets only older rows go.
    for permit in (None, run.at - timedelta(hours=1)):
        with pytest.raises(DBAPIError), rt.database.unit_of_work() as db:
            if permit:
                db.add(EventsPurge(purge_before=permit))
                db.flush()
            db.execute(delete(Event).where(Event.id == run.id))


def _trail(rt) -> int:
    """Events other than the retention runs' own."""
    with rt.database.unit_of_work() as db:
        return db.scalar(select(func.count()).select_from(Event).where(Event.kind != retention.RUN))


def _first_event(rt):
    with rt.database.unit_of_work() as db:
        return db.scalar(select(func.min(Event.at)))


@pytest.mark.parametrize("left_open", ["action", "dispute", "restricted"])
def test_open_work_is_never_touched(rt, slack, standin, world, audit_id, moderators, left_open):  # noqa: F811
    _finish(rt, slack, standin, audit_id, sign_off=left_open != "action", dispute=left_open == "dispute")
    with rt.database.unit_of_work() as db:
        if left_open == "restricted":
            restricted.set_restricted(db, "CS-100871", True, [], via="test")
        kept_outbox = {
            r.key: r.context
            for r in db.scalars(select(OutboxMessage).where(OutboxMessage.key.like(f"allocation:{audit_id}:%")))
        }
    before = _audit(rt, audit_id)
    eight_years = night(MONDAY_10.date().replace(year=2035))
    tick(rt, eight_years)

    counts = _runs(rt)[-1].detail
    with rt.database.unit_of_work() as db:
        audit = db.get(Audit, audit_id)
        case = db.get(Case, audit.case_id)
        other = db.scalar(select(Case).where(Case.case_ref == "CS-100871"))
        if left_open == "restricted":
            # A restricted record is a live instruction: it stays, with its ID, whatever its age.
            assert other is not None and other.restricted and counts["cases_deleted"] == 1
            assert audit.anonymised_at is not None
            return
        assert audit.anonymised_at is None and audit.answers == before.answers
        assert audit.family_feedback == before.family_feedback
        assert case.case_ref == "CS-100234"
        assert db.scalar(
            select(CaseListEntry).where(CaseListEntry.case_id == case.id, CaseListEntry.month == "2027-01")
        )
        assert db.scalar(select(func.count()).select_from(Event).where(Event.subject_id == audit_id)) > 5
        # Its messages may still be updated when it is decided: their content stays.
        assert (
            kept_outbox
            and {
                r.key: r.context
                for r in db.scalars(select(OutboxMessage).where(OutboxMessage.key.like(f"allocation:{audit_id}:%")))
            }
            == kept_outbox
        )
        # What is not about it went: the other cases on the 2027-01 list, never audited.
        assert other is None and counts["cases_deleted"] == 2 and counts["audits_anonymised"] == 0
    if left_open == "action":
        # The work goes on: the team manager signs it off and the messages asking for it are updated in place.
        with freeze_time(eight_years.replace(hour=10)):
            with rt.database.unit_of_work() as db:
                action_id = db.scalar(select(Action.id))
                assert actions.sign_off(db, rt.calendar, rt.settings, action_id, "U0TM").ok
            result = rt.dispatcher.drain()
        assert result.failed == 0 and any(c.method == "chat.update" for c in standin.calls)
        with rt.database.unit_of_work() as db:
            assert not db.scalars(select(OutboxMessage).where(OutboxMessage.status != "sent")).all()


def test_the_job_runs_once_a_night_and_a_second_run_changes_nothing(rt, world, audit_id, closed):
    later = night(closed.astimezone(LONDON).date().replace(year=closed.year + 3) + timedelta(days=2))
    assert tick(rt, later.replace(hour=1, minute=59))["retention"] == 0
    assert _runs(rt) == []
    first = tick(rt, later)["retention"]
    assert first > 0
    snapshot = _snapshot(rt)
    # The same night again: the job has run.
    assert tick(rt, later + timedelta(hours=1))["retention"] == 0
    assert len(_runs(rt)) == 1
    # The next night it runs, and finds nothing more.
    assert tick(rt, later + timedelta(days=1))["retention"] == 0
    runs = _runs(rt)
    assert len(runs) == 2 and all(v == 0 for k, v in runs[1].detail.items() if k in retention.KINDS)
    after = _snapshot(rt)
    after["events"] = [e for e in after["events"] if json.loads(e)["id"] != runs[1].id]
    assert after == snapshot
    # A day-time tick never runs it.
    assert tick(rt, later + timedelta(days=2, hours=6))["retention"] == 0


def test_each_run_is_on_the_trail_with_counts_and_no_personal_data(rt, world, audit_id, closed):
    with rt.database.unit_of_work() as db:
        refs = [c.case_ref for c in db.scalars(select(Case))]
    tick(rt, night(closed.astimezone(LONDON).date().replace(year=closed.year + 4)))
    (run,) = _runs(rt)
    assert run.actor_id is None and run.subject_type is None
    assert set(run.detail) == {*retention.KINDS, "via", "periods"}
    assert run.detail["via"] == "clock" and run.detail["periods"] == {
        "outbox_days": 30,
        "request_days": 7,
        "case_list_months": 12,
        "audit_text_years": 3,
        "events_years": 7,
    }
    assert run.detail["audits_anonymised"] == 1 and run.detail["cases_anonymised"] == 1
    assert run.detail["cases_deleted"] == 2 and run.detail["case_list_rows_deleted"] == 3
    assert run.detail["notifications_emptied"] > 0 and run.detail["events_deleted"] == 0
    text = json.dumps(run.detail)
    assert not any(ref in text for ref in refs) and FEEDBACK not in text and "Priya" not in text


def test_notifications_and_request_claims_go_just_past_their_period(rt, standin, world):
    sent_at = datetime(2027, 6, 1, 10, 0, tzinfo=LONDON)  # thirty days on is still summer time
    with freeze_time(sent_at), rt.database.unit_of_work() as db:
        from bot import outbox

        outbox.enqueue(db, "month-start:2027-06", "C0QATEAM", "month_start", _month_start())
        assert claim(db, "event:Ev01")
    with freeze_time(sent_at):
        rt.dispatcher.drain()
    with rt.database.unit_of_work() as db:
        row = db.scalar(select(OutboxMessage))
        assert row.status == "sent" and row.context

    def run_at(moment):
        with freeze_time(moment), rt.database.unit_of_work() as db:
            return retention.run(db, rt.calendar, rt.settings, via="test")

    assert run_at(sent_at + timedelta(days=7) - timedelta(seconds=1))["request_claims_deleted"] == 0
    assert run_at(sent_at + timedelta(days=7, seconds=1))["request_claims_deleted"] == 1
    assert run_at(sent_at + timedelta(days=30) - timedelta(seconds=1))["notifications_emptied"] == 0
    assert run_at(sent_at + timedelta(days=30, seconds=1))["notifications_emptied"] == 1
    with rt.database.unit_of_work() as db:
        row = db.scalar(select(OutboxMessage))
        # The row stays, so the notification is still sent once, and can still be found: only its content goes.
        assert row.context == {} and row.key == "month-start:2027-06" and row.ts and row.status == "sent"
        assert db.scalar(select(IdempotencyKey)) is None


def _month_start():
    return {"month": "June 2027", "code": "2027-06", "imported": 3, "late": False}


def test_a_months_case_list_goes_twelve_months_after_the_month_ends(rt, world):
    def run_at(moment):
        with freeze_time(moment), rt.database.unit_of_work() as db:
            return retention.run(db, rt.calendar, rt.settings, via="test")

    # January 2027 ended on 31 January; twelve months on is the end of January 2028.
    assert run_at(datetime(2028, 1, 31, 23, 0, tzinfo=LONDON))["case_list_rows_deleted"] == 0
    counts = run_at(datetime(2028, 2, 1, 0, 30, tzinfo=LONDON))
    assert counts["case_list_rows_deleted"] == 3 and counts["cases_deleted"] == 3
    with rt.database.unit_of_work() as db:
        assert db.scalar(select(func.count()).select_from(Case)) == 0


def test_the_dry_run_says_what_would_go_and_changes_nothing(rt, world, audit_id, closed, cli_env, capsys):
    with rt.database.unit_of_work() as db:
        refs = [c.case_ref for c in db.scalars(select(Case))]
    snapshot = _snapshot(rt)
    with freeze_time(closed + timedelta(days=365 * 4)):
        assert cli.main(["retention", "--dry-run"]) == 0
        out = capsys.readouterr().out
        assert _snapshot(rt) == snapshot and _runs(rt) == []
        assert out.splitlines()[0] == "Retention, dry run (nothing changed): would be"
        assert "  closed audits anonymised (typed text replaced; grades and dates kept): 1" in out
        assert "  case list rows deleted: 3" in out and "  cases deleted (on no list, never audited): 2" in out
        assert not any(ref in out for ref in refs) and "Priya" not in out and FEEDBACK not in out
        assert cli.main(["retention"]) == 0
        done = capsys.readouterr().out
    assert done.splitlines()[1:] == out.splitlines()[1:]
    (run,) = _runs(rt)
    assert run.detail["via"].startswith("command line")


def test_exports_still_work_after_anonymisation(rt, world, audit_id, closed, cli_env, tmp_path):
    def export(folder):
        argv = ["export", "--from", "2027-01-01", "--to", "2027-01-31", "--by", "U0QA", "--reason", "Inspection"]
        assert cli.main([*argv, "--out", str(folder)]) == 0
        with (folder / "audits.csv").open(encoding="utf-8-sig", newline="") as f:
            return list(csv.DictReader(f))

    with freeze_time(closed + timedelta(days=365 * 4)):
        (before,) = export(tmp_path / "before")
        assert cli.main(["retention"]) == 0
        (after,) = export(tmp_path / "after")
    assert before["case_system_id"] == "CS-100234" and after["case_system_id"].startswith("anonymised-")
    assert before["grade: overall"] == "Good"
    assert {k: v for k, v in after.items() if k != "case_system_id"} == {
        k: v for k, v in before.items() if k != "case_system_id"
    }
    assert "CS-100234" not in (tmp_path / "after" / "audits.csv").read_text(encoding="utf-8-sig")


def test_retention_is_configured_from_the_environment():
    assert config.load({}).retention == Retention()
    assert config.load({"QABOT_RETAIN_OUTBOX_DAYS": "14"}).retention.outbox_days == 14
    with pytest.raises(ConfigError, match="QABOT_RETAIN_AUDIT_TEXT_YEARS must be a whole number"):
        config.load({"QABOT_RETAIN_AUDIT_TEXT_YEARS": "three"})
    with pytest.raises(ConfigError, match="QABOT_RETAIN_EVENTS_YEARS must be at least"):
        config.load({"QABOT_RETAIN_EVENTS_YEARS": "2"})


def test_a_shorter_period_takes_effect(rt, world, audit_id, closed):
    shorter = replace(rt.settings, retention=Retention(audit_text_years=1, events_years=1))
    with freeze_time(closed.replace(year=closed.year + 1) + timedelta(days=1)), rt.database.unit_of_work() as db:
        assert retention.run(db, rt.calendar, rt.settings, via="test", dry_run=True)["audits_anonymised"] == 0
        counts = retention.run(db, rt.calendar, shorter, via="test")
    assert counts["audits_anonymised"] == 1 and counts["events_deleted"] > 10
