"""The Inadequate pathway's edges, through /slack/events: who may act (and their delegates), the meeting form's
field errors, a double submission, a dispute that lifts the grade, nobody to ask, and re-audits the clock cannot
allocate or the QA team's draw must not repeat."""

from datetime import date, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from bot.workflow import allocation, allocation_run
from scheduler.jobs import tick
from store.models import Audit, Case, Event, OutboxMessage, Person
from tests.test_disputes import _opened
from tests.test_inadequate_walk import (
    _at,
    _buttons,
    _change,
    _dispute,
    _moderate,
    _record_meeting,
    _submit,
    _task,
    _texts,
    council,  # noqa: F401 (a fixture)
)

MONDAY_10 = _at(2027, 1, 11)


@pytest.fixture
def confirmed(rt, standin, slack, audit_id, council):  # noqa: F811
    """Priya's January audit, graded Inadequate and confirmed by Mo on Monday 11 January."""
    with freeze_time(MONDAY_10, tick=True):
        _submit(rt, slack, standin, audit_id, "inadequate", MONDAY_10.date())
        _moderate(rt, slack, standin, audit_id)
    return audit_id


def _events(rt, kind):
    with rt.database.unit_of_work() as db:
        return db.scalars(select(Event).where(Event.kind == kind)).all()


@freeze_time(MONDAY_10 + timedelta(hours=1), tick=True)
def test_only_the_people_asked_or_their_delegate_record_the_meeting(rt, standin, slack, confirmed):
    task = _task(rt, confirmed, "reflective_meeting")
    assert _opened(slack, standin, "U0TM", "pathway_record", task.id) is None
    assert "was asked of someone else" in standin.responses[-1].body["text"]
    [refusal] = _events(rt, "refused.pathway_open")
    assert refusal.detail["reason"] == "not asked"
    with rt.database.unit_of_work() as db:
        # Tom covers for Sara while she is on leave: he may now record it for her.
        sara = db.scalar(select(Person).where(Person.slack_user_id == "U0SM"))
        sara.delegate_id = db.scalar(select(Person.id).where(Person.slack_user_id == "U0TM"))
    assert _record_meeting(rt, slack, standin, "U0TM", task.id, MONDAY_10.date()).body == ""
    assert _task(rt, confirmed, "reflective_meeting").status == "done"


@freeze_time(MONDAY_10 + timedelta(hours=1), tick=True)
def test_the_meeting_form_refuses_on_its_fields_and_writes_nothing(rt, standin, slack, confirmed):
    task = _task(rt, confirmed, "reflective_meeting")
    view = _opened(slack, standin, "U0SM", "pathway_record", task.id)
    assert [b.get("block_id") for b in view["blocks"]][1:] == ["held_on", "attending", "note"]

    def send(held_on, note="Agreed a new plan."):
        values = {"held_on": {"day": held_on}, "note": {"answer": note}}
        return slack.view_submission("U0SM", view, values).json()

    assert send("2027-01-12")["errors"] == {
        "held_on": "Record the meeting once it has been held: that date is still to come."
    }
    assert "before the meeting was asked for" in send("2027-01-08")["errors"]["held_on"]
    assert "postcode (RH12 1AB)" in send("2027-01-11", "Met at RH12 1AB with mum.")["errors"]["note"]
    assert _task(rt, confirmed, "reflective_meeting").status == "pending"
    assert slack.view_submission("U0SM", view, {"held_on": {"day": "2027-01-11"}}).body == ""
    # The same form sent twice (a double click on Record): it acts once; the second hears who recorded it.
    again = slack.view_submission("U0SM", view | {"id": "V0AGAIN"}, {"held_on": {"day": "2027-01-11"}}).json()
    assert "already done by Sara Service" in again["errors"]["held_on"]
    assert len(_events(rt, "inadequate.reflective_meeting_done")) == 1


@freeze_time(MONDAY_10 + timedelta(hours=1), tick=True)
def test_the_resolution_needs_a_note(rt, standin, slack, council, audit_id):  # noqa: F811
    with rt.database.unit_of_work() as db:
        db.get(Audit, audit_id).cycle = 1  # a re-audit
    _submit(rt, slack, standin, audit_id, "inadequate", MONDAY_10.date())
    _moderate(rt, slack, standin, audit_id)
    task = _task(rt, audit_id, "resolution")
    view = _opened(slack, standin, "U0HOS", "pathway_record", task.id)
    response = slack.view_submission("U0HOS", view, {"note": {"answer": "  "}}).json()
    assert response["errors"] == {"note": "Please say what has been done to resolve it."}


@freeze_time(MONDAY_10 + timedelta(hours=2), tick=True)
def test_a_dispute_that_lifts_the_grade_withdraws_the_pathway(rt, standin, slack, confirmed):
    moderation_id = _events(rt, "moderation.recorded")[0].detail["moderation_id"]
    task = _task(rt, confirmed, "reflective_meeting")
    dispute = _dispute(rt, slack, standin, "U0PRAC", moderation_id)
    _change(rt, slack, standin, dispute.id, "requires_improvement")
    assert _task(rt, confirmed, "reflective_meeting").status == "withdrawn"
    with rt.database.unit_of_work() as db:
        assert db.get(Audit, confirmed).case.reaudit_due is None
        asked = db.scalar(select(OutboxMessage).where(OutboxMessage.key.like(f"inadequate:task:{task.id}:ask:%")))
        [sent] = [
            c for c in standin.posted() if c.args["channel"] == asked.recipient and "Reflective" in c.args["text"]
        ]
    # The message asking Sara is updated in place: the button gone, the reason said.
    updated = standin.message(sent.response["ts"])
    assert "changed the grade to Requires Improvement on dispute" in updated["text"]
    assert not [b for b in updated["blocks"] if b["type"] == "actions"]
    assert any("Inadequate pathway is withdrawn" in t for t in _texts(standin, "C0QATEAM"))
    slack.block_action("U0SM", "pathway_record", str(task.id))
    assert "is no longer Inadequate" in standin.responses[-1].body["text"]
    # An upheld dispute later, or the sweep, changes nothing more.
    assert len(_events(rt, "inadequate.withdrawn")) == 1


@freeze_time(MONDAY_10 + timedelta(hours=1), tick=True)
def test_with_nobody_to_ask_the_qa_team_is_told(rt, standin, slack, council, audit_id):  # noqa: F811
    with rt.database.unit_of_work() as db:
        for slack_id in ("U0SM", "U0HOS"):
            db.scalar(select(Person).where(Person.slack_user_id == slack_id)).active = False
    _submit(rt, slack, standin, audit_id, "inadequate", MONDAY_10.date())
    _moderate(rt, slack, standin, audit_id)
    assert _task(rt, audit_id, "reflective_meeting").asked == []
    [told] = [t for t in _texts(standin, "C0QATEAM") if "confirmed Inadequate" in t]
    assert "Nobody could be asked for the Reflective Practice & Action Meeting: please arrange it." in told


def _on_the_cycle(rt, audit_id, month="2027-04"):
    with rt.database.unit_of_work() as db:
        audit = db.get(Audit, audit_id)
        audit.status = "moderated"
        audit.case.reaudit_due = month
        return audit.case_id


def test_a_reaudit_nobody_can_take_is_reported_once(rt, standin, council, audit_id):  # noqa: F811
    _on_the_cycle(rt, audit_id)
    with rt.database.unit_of_work() as db:
        for auditor in db.scalars(select(Person).where(Person.slack_user_id.in_(["U0AUD", "U0AUD2"]))):
            auditor.active = False
    tick(rt, _at(2027, 4, 1, 9))
    tick(rt, _at(2027, 4, 1, 9, 10))
    tick(rt, _at(2027, 4, 2, 9))
    [held] = [t for t in _texts(standin, "C0QATEAM") if "re-audit" in t]
    assert held == (
        "The April 2027 re-audit of QA-2027-01-001 could not be allocated: no independent auditor has room."
        " Please allocate it by hand."
    )


def test_the_qa_teams_draw_leaves_out_a_reaudit_already_allocated(rt, standin, council, audit_id):  # noqa: F811
    case_id = _on_the_cycle(rt, audit_id)
    with rt.database.unit_of_work() as db:
        drawn = allocation_run.draw(db, "2027-04", rt.settings.framework, seed=1)
        assert case_id in drawn.drawn
    tick(rt, _at(2027, 4, 1, 9))
    with rt.database.unit_of_work() as db:
        assert case_id not in allocation_run.draw(db, "2027-04", rt.settings.framework, seed=1).drawn
        [reaudit] = db.scalars(select(Audit).where(Audit.month == "2027-04")).all()
        assert (reaudit.cycle, reaudit.reaudit_of_id) == (1, audit_id)


def test_a_reaudit_the_qa_team_allocates_first_is_still_a_reaudit(rt, standin, council, audit_id):  # noqa: F811
    case_id = _on_the_cycle(rt, audit_id)
    with freeze_time(_at(2027, 4, 1, 8, 30)), rt.database.unit_of_work() as db:
        amira = db.scalar(select(Person).where(Person.slack_user_id == "U0AUD"))
        audit = allocation.allocate(db, rt.calendar, rt.settings, db.get(Case, case_id), amira, "2027-04")
        assert (audit.cycle, audit.reaudit_of_id) == (1, audit_id)
    tick(rt, _at(2027, 4, 1, 9))
    with rt.database.unit_of_work() as db:
        assert db.scalar(select(func.count()).select_from(Audit).where(Audit.month == "2027-04")) == 1


@freeze_time(MONDAY_10 + timedelta(hours=1), tick=True)
def test_a_forged_task_id_is_refused_without_a_form(rt, standin, slack, confirmed):
    task = _task(rt, confirmed, "reflective_meeting")
    assert ("pathway_record", str(task.id)) in _buttons(standin, "U0SM")
    for forged in ("12345678901", str(task.id + 1), "1²"):
        opened = len([c for c in standin.calls if c.method == "views.open"])
        slack.block_action("U0SM", "pathway_record", forged)
        assert len([c for c in standin.calls if c.method == "views.open"]) == opened
        assert "contact the QA team" in standin.responses[-1].body["text"]
        slack.block_action("U0ANN", "pathway_escalate", forged)
        assert "contact the QA team" in standin.responses[-1].body["text"]


def test_reminders_stop_once_done(rt, standin, slack, confirmed):
    task = _task(rt, confirmed, "reflective_meeting")
    due = task.due_at
    assert due.date() == date(2027, 1, 25)  # ten working days from Monday 11 January
    with freeze_time(due - timedelta(days=1), tick=True):
        _record_meeting(rt, slack, standin, "U0HOS", task.id, (due - timedelta(days=1)).date())
    before = len(_texts(standin, "U0SM"))
    tick(rt, datetime.combine(due.date(), datetime.min.time(), tzinfo=due.tzinfo) + timedelta(hours=9))
    assert not [t for t in _texts(standin, "U0SM")[before:] if t.startswith("Reminder")]
