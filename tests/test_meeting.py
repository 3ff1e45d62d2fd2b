"""Step 1's meeting: the auditor records it; the attendees are told and reminded the working day before."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from bot.workflow import allocation
from scheduler.jobs import tick
from store.models import Audit, Case, Event, Person
from tests.test_digests import _digests, _items

LONDON = ZoneInfo("Europe/London")
MONDAY_10 = datetime(2027, 1, 4, 10, 0, tzinfo=LONDON)


@pytest.fixture
def audit_id(rt, world):
    with freeze_time(MONDAY_10), rt.database.unit_of_work() as db:
        audit = allocation.allocate(
            db, rt.calendar, rt.settings, db.get(Case, world.case_id), db.get(Person, world.people["amira"]), "2027-01"
        )
        audit.status = "accepted"
        return audit.id


def _form(slack, standin, audit_id, user="U0AUD"):
    slack.block_action(user, "meeting_open", str(audit_id))
    return standin.last("views.open")


def _when(day, at="10:30", roles=("practitioner", "team_manager")):
    return {"when_day": {"day": day}, "when_time": {"time": at}, "attending": {"roles": list(roles)}}


@freeze_time(MONDAY_10, tick=True)
def test_a_meeting_is_recorded_and_everyone_attending_is_told(rt, standin, slack, audit_id):
    view = _form(slack, standin, audit_id).response["view"]
    assert view["callback_id"] == "meeting_form"
    assert slack.view_submission("U0AUD", view, _when("2027-01-12")).body == ""
    rt.dispatcher.drain()
    with rt.database.unit_of_work() as db:
        audit = db.get(Audit, audit_id)
        assert audit.status == "in_progress"
        assert audit.meeting_at == datetime(2027, 1, 12, 10, 30, tzinfo=LONDON)
        assert [a["role"] for a in audit.meeting_attendees] == ["practitioner", "team_manager"]
        assert audit.meeting_reminder_at == datetime(2027, 1, 11, 9, 0, tzinfo=LONDON)
        event = db.scalars(select(Event).where(Event.kind == "audit.meeting_arranged")).one()
        assert event.detail["cro_missing"] is True  # a child-protection case without a CRO
    practitioner = standin.posted("U0PRAC")[-1]
    assert "the audit meeting is on 12 Jan 2027, 10:30" in practitioner.args["text"]
    assert "self_assessment_open" in str(practitioner.args["blocks"])
    assert "12 Jan 2027, 10:30" in standin.posted("U0TM")[-1].args["text"]
    confirmation = standin.posted("U0AUD")[-1]
    assert "No Conference & Reviewing Officer is invited" in str(confirmation.args["blocks"])
    assert {"family_feedback_open", "audit_form_open"} <= set(str(confirmation.args["blocks"]).split("'"))


@pytest.mark.parametrize(
    ("day", "error"),
    [
        ("2027-01-02", "That time has passed. Please choose a date and time still to come."),
        (
            "2027-01-09",
            "Saturday 9 January 2027 is not a working day (a weekend or bank holiday). Please choose another date.",
        ),
        (
            "2027-02-03",
            "The audit and its moderation are due by Friday 29 January 2027. Please hold the meeting before then.",
        ),
    ],
)
@freeze_time(MONDAY_10, tick=True)
def test_a_date_that_cannot_work_is_refused_on_the_field(rt, standin, slack, audit_id, day, error):
    view = _form(slack, standin, audit_id).response["view"]
    assert slack.view_submission("U0AUD", view, _when(day)).json() == {
        "response_action": "errors",
        "errors": {"when_day": error},
    }
    with rt.database.unit_of_work() as db:
        assert db.get(Audit, audit_id).meeting_at is None


def test_attendees_are_reminded_the_working_day_before_once(rt, standin, slack, audit_id):
    with freeze_time(MONDAY_10, tick=True):
        view = _form(slack, standin, audit_id).response["view"]
        slack.view_submission("U0AUD", view, _when("2027-01-11", roles=("practitioner", "team_manager", "cro")))
        rt.dispatcher.drain()
    # The meeting is Monday 11th: the reminder goes in Friday 8th's 09:00 digests, not over the weekend.
    assert tick(rt, datetime(2027, 1, 8, 8, 59, tzinfo=LONDON))["digests"] == 0
    assert tick(rt, datetime(2027, 1, 8, 9, 0, tzinfo=LONDON))["digests"] == 3
    assert tick(rt, datetime(2027, 1, 8, 9, 0, tzinfo=LONDON))["digests"] == 0
    for day in (11, 12):
        tick(rt, datetime(2027, 1, day, 9, 0, tzinfo=LONDON))
    for user in ("U0PRAC", "U0TM", "U0AUD"):
        reminders = [i for c in _digests(standin, user) for i in _items(c) if "the audit meeting is on" in i]
        assert reminders == ["*QA-2027-01-001* — the audit meeting is on 11 Jan 2027, 10:30."], user
    with rt.database.unit_of_work() as db:
        assert db.get(Audit, audit_id).meeting_reminder_at is None


@freeze_time(MONDAY_10, tick=True)
def test_only_the_auditor_of_an_accepted_audit_records_the_meeting(rt, standin, slack, audit_id):
    assert _form(slack, standin, audit_id, user="U0PRAC") is None
    assert "Only the auditor of QA-2027-01-001 can do this" in standin.responses[-1].body["text"]
    with rt.database.unit_of_work() as db:
        db.get(Audit, audit_id).status = "allocated"
    assert _form(slack, standin, audit_id) is None
    assert "accept it first" in standin.responses[-1].body["text"]
    with rt.database.unit_of_work() as db:
        assert db.scalar(select(Event.actor_slack_id).where(Event.kind == "refused.meeting_open")) == "U0PRAC"
