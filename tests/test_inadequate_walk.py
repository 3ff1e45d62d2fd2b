"""The Inadequate pathway walked across seven months (October 2027 to April 2028) through /slack/events and the
clock, as `qabot tick` runs it: both clock changes (31 October 2027, 26 March 2028), the Christmas, New Year and
Easter bank holidays, a dispute that upgrades and one that downgrades (into the pathway).

Priya's three cases: A is confirmed Inadequate, re-audited in January (Inadequate again: the AD Safeguarding
escalates to the AD responsible, the Head of Service resolves it) and followed up in April (still Inadequate: the
Executive Director); B is upgraded on dispute; C is downgraded to Inadequate on dispute, and leaves the cycle when
its January re-audit is Good."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from bot.workflow import allocation
from bot.workflow.directory import add_person
from scheduler.jobs import tick
from store.models import Audit, Case, Dispute, Event, Moderation, PathwayTask, Person
from tests.test_audit_form import _walk
from tests.test_disputes import REASON, WHY, _opened

LONDON = ZoneInfo("Europe/London")


def _at(y, m, d, h=10, mi=0):
    return datetime(y, m, d, h, mi, tzinfo=LONDON)


@pytest.fixture
def council(rt, world):
    """Above Helen (Head of Service) the line goes on to Ada, the Assistant Director, and Ed, the Executive
    Director; Ann is the AD Safeguarding, Quality & Practice, Mo moderates, Hana is the QA Head of Service."""
    with rt.database.unit_of_work() as db:
        ed = add_person(
            db, name="Ed Exec", email="ed@council.example", slack_user_id="U0ED", roles=["executive_director"]
        )
        ada = add_person(
            db,
            name="Ada Director",
            email="ada@council.example",
            slack_user_id="U0ADA",
            roles=["assistant_director"],
            manager_email="ed@council.example",
        )
        db.get(Person, world.people["helen"]).line_manager = ada
        assert ed.id
        for name, email, slack_id, role in (
            ("Ann Safeguard", "ann@council.example", "U0ANN", "ad_safeguarding"),
            ("Mo Derator", "mo@council.example", "U0MOD", "moderator"),
            ("Hana Head", "hana@council.example", "U0HEAD", "qa_head_of_service"),
        ):
            add_person(db, name=name, email=email, slack_user_id=slack_id, roles=[role], team="Quality Assurance")
    return world


def _day(moment: datetime):
    return freeze_time(moment, tick=True)


def _allocate(rt, world, case_index: int, month: str) -> int:
    with rt.database.unit_of_work() as db:
        case = db.scalars(select(Case).order_by(Case.id)).all()[case_index]
        audit = allocation.allocate(db, rt.calendar, rt.settings, case, db.get(Person, world.people["amira"]), month)
        return audit.id


def _ready(rt, audit_id: int, met: datetime) -> None:
    """Accepted, the meeting held and the family's feedback in (their own tests walk those steps)."""
    with rt.database.unit_of_work() as db:
        audit = db.get(Audit, audit_id)
        audit.status, audit.meeting_at = "in_progress", met
        audit.family_feedback = {"how": "visit", "child_voice": "Wants to stay.", "family_view": "Listened to."}


def _submit(rt, slack, standin, audit_id: int, overall: str, today: date) -> None:
    view = _walk(slack, standin, audit_id, overall=overall)
    due = (today + timedelta(days=14)).isoformat()
    action = {"action_1": {"answer": "Review the plan."}, "owner_1": {"answer": "U0PRAC"}, "due_1": {"answer": due}}
    assert slack.view_submission("U0AUD", view, action).body == ""
    rt.dispatcher.drain()


def _moderation(rt, audit_id: int) -> Moderation:
    with rt.database.unit_of_work() as db:
        return db.scalar(select(Moderation).where(Moderation.audit_id == audit_id))


def _moderate(rt, slack, standin, audit_id: int) -> int:
    """Mo agrees every grade."""
    moderation_id = _moderation(rt, audit_id).id
    view = _opened(slack, standin, "U0MOD", "moderation_open", moderation_id)
    assert slack.view_submission("U0MOD", view, {"mode": {"answer": "reflective"}}).body == ""
    rt.dispatcher.drain()
    return moderation_id


def _task(rt, audit_id: int, kind: str) -> PathwayTask:
    with rt.database.unit_of_work() as db:
        return db.scalar(select(PathwayTask).where(PathwayTask.audit_id == audit_id, PathwayTask.kind == kind))


def _texts(standin, to: str) -> list[str]:
    """Each message to `to`; a digest with each of its items' words after its heading."""
    return [
        "\n".join([c.args["text"]] + [b["text"]["text"] for b in c.args["blocks"][1:] if b["type"] == "section"])
        if c.args["text"].startswith("Your reminders for")
        else c.args["text"]
        for c in standin.posted(to)
    ]


def _since(standin, to: str, before: int) -> list[str]:
    return _texts(standin, to)[before:]


def _buttons(standin, to: str) -> list[tuple[str, str]]:
    return [
        (e["action_id"], e["value"])
        for c in standin.posted(to)
        for b in c.args["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]


def _case(rt, audit_id: int) -> Case:
    with rt.database.unit_of_work() as db:
        return db.get(Audit, audit_id).case


def _kinds(rt, audit_id: int) -> list[str]:
    with rt.database.unit_of_work() as db:
        return list(
            db.scalars(
                select(Event.kind)
                .where(Event.subject_type == "audits", Event.subject_id == audit_id)
                .order_by(Event.id)
            )
        )


def _dispute(rt, slack, standin, user: str, moderation_id: int) -> Dispute:
    view = _opened(slack, standin, user, "dispute_open", moderation_id)
    assert slack.view_submission(user, view, {"reason": {"answer": REASON}}).body == ""
    rt.dispatcher.drain()
    with rt.database.unit_of_work() as db:
        return db.scalar(select(Dispute).where(Dispute.moderation_id == moderation_id))


def _change(rt, slack, standin, dispute_id: int, grade: str) -> None:
    view = _opened(slack, standin, "U0HEAD", "dispute_change", dispute_id)
    response = slack.view_submission("U0HEAD", view, {"grade": {"answer": grade}, "rationale": {"answer": WHY}})
    assert response.body == ""
    rt.dispatcher.drain()


def _record_meeting(rt, slack, standin, user: str, task_id: int, held_on: date):
    view = _opened(slack, standin, user, "pathway_record", task_id)
    assert view is not None
    response = slack.view_submission(
        user,
        view,
        {
            "held_on": {"day": held_on.isoformat()},
            "attending": {"roles": ["practitioner", "team_manager", "auditor", "service_manager"]},
            "note": {"answer": "A new plan with the school; supervision weekly until the re-audit."},
        },
    )
    rt.dispatcher.drain()
    return response


def test_seven_months_of_the_inadequate_pathway(rt, standin, slack, council):
    world = council
    # ---- October 2027: three audits of Priya's cases -------------------------------------------------------------
    with _day(_at(2027, 10, 4, 9, 30)):
        a, b, c = (_allocate(rt, world, i, "2027-10") for i in range(3))
        for audit_id in (a, b, c):
            _ready(rt, audit_id, _at(2027, 10, 26, 10))

    with _day(_at(2027, 10, 28)):
        _submit(rt, slack, standin, a, "inadequate", date(2027, 10, 28))
        _submit(rt, slack, standin, b, "requires_improvement", date(2027, 10, 28))
        _submit(rt, slack, standin, c, "good", date(2027, 10, 28))
    # Inadequate is moderated within two working days: Friday, then Monday 1 November, after the clocks went back
    # (17:30 GMT is 17:30 UTC; the others are due on the month's last working day, 17:30 BST).
    assert _moderation(rt, a).due_at == datetime(2027, 11, 1, 17, 30, tzinfo=UTC)
    assert _moderation(rt, b).due_at == datetime(2027, 10, 29, 16, 30, tzinfo=UTC)

    with _day(_at(2027, 10, 29)):
        mod_b, mod_c = _moderate(rt, slack, standin, b), _moderate(rt, slack, standin, c)
    with _day(_at(2027, 10, 29, 11)):
        dispute_b = _dispute(rt, slack, standin, "U0PRAC", mod_b)
        dispute_c = _dispute(rt, slack, standin, "U0TM", mod_c)

    # Monday 1 November: 08:30 GMT is before the reminder time; at 09:00 GMT Mo is reminded A is due today.
    reminded = len(_texts(standin, "U0MOD"))
    tick(rt, datetime(2027, 11, 1, 8, 30, tzinfo=UTC))
    assert _since(standin, "U0MOD", reminded) == []
    tick(rt, datetime(2027, 11, 1, 9, 0, tzinfo=UTC))
    [reminder] = _since(standin, "U0MOD", reminded)
    assert "QA-2027-10-001" in reminder

    with _day(_at(2027, 11, 1, 10)):
        _moderate(rt, slack, standin, a)
    meeting_a = _task(rt, a, "reflective_meeting")
    assert meeting_a.status == "pending" and _case(rt, a).reaudit_due == "2028-01"
    # Ten working days: Monday 15 November, end of the working day (GMT).
    assert meeting_a.due_at == datetime(2027, 11, 15, 17, 30, tzinfo=UTC)
    for who in ("U0SM", "U0HOS"):
        [asked] = [t for t in _texts(standin, who) if "Reflective Practice" in t]
        assert asked.startswith("QA-2027-10-001 has been confirmed Inadequate at moderation.")
        assert "re-audited in January 2028" in asked
        assert ("pathway_record", str(meeting_a.id)) in _buttons(standin, who)
    qa = _texts(standin, "C0QATEAM")
    assert any(t.startswith("QA-2027-10-001 is confirmed Inadequate.") for t in qa)
    assert not any("CS-1" in t for t in qa)  # no case-system id in the channel

    # The QA Head decides both disputes: B after a 3/4-way meeting, upgraded to Good; C downgraded to Inadequate,
    # which puts C on the pathway too (the QAF: "if graded inadequate, the 'Inadequate' escalation process").
    with _day(_at(2027, 11, 2)):
        view = _opened(slack, standin, "U0HEAD", "dispute_meeting", dispute_b.id)
        answer = {
            "when_day": {"day": "2027-11-04"},
            "when_time": {"time": "14:00"},
            "attending": {"roles": ["practitioner", "team_manager", "auditor", "moderator"]},
        }
        assert slack.view_submission("U0HEAD", view, answer).body == ""
        _change(rt, slack, standin, dispute_c.id, "inadequate")
    with _day(_at(2027, 11, 4, 15)):
        _change(rt, slack, standin, dispute_b.id, "good")
    with rt.database.unit_of_work() as db:
        directions = {
            e.subject_id: e.detail["direction"]
            for e in db.scalars(select(Event).where(Event.kind == "dispute.changed"))
        }
    assert directions == {b: "upgrade", c: "downgrade"}
    assert _task(rt, b, "reflective_meeting") is None and _case(rt, b).reaudit_due is None
    meeting_c = _task(rt, c, "reflective_meeting")
    assert meeting_c.status == "pending" and _case(rt, c).reaudit_due == "2028-01"

    # Monday 15 November: A's meeting is due; Sara and Helen are reminded.
    before = len(_texts(standin, "U0SM"))
    tick(rt, _at(2027, 11, 15, 9))
    assert any("\n:rotating_light: QA-2027-10-001" in t for t in _since(standin, "U0SM", before))

    # Sara records A's meeting; Helen's click a moment later hears it is done.
    with _day(_at(2027, 11, 15, 11)):
        assert _record_meeting(rt, slack, standin, "U0SM", meeting_a.id, date(2027, 11, 12)).body == ""
        slack.block_action("U0HOS", "pathway_record", str(meeting_a.id))
        assert "already done by Sara Service" in standin.responses[-1].body["text"]
    assert _task(rt, a, "reflective_meeting").detail["held_on"] == "2027-11-12"

    # C's meeting is not recorded: reminded on its due day and every five working days after, never on a weekend
    # or a bank holiday — after Tuesday 21 December the next is Thursday 30 December (27 and 28 are holidays).
    reminders, listed = [], []
    day = date(2027, 11, 16)
    while day <= date(2027, 12, 31):
        before, qa_before = len(_texts(standin, "U0HOS")), len(_texts(standin, "C0QATEAM"))
        tick(rt, _at(day.year, day.month, day.day, 9))
        if any("\n:rotating_light: QA-2027-10-003" in t for t in _since(standin, "U0HOS", before)):
            reminders.append(day)
        if "Inadequate pathway steps overdue: QA-2027-10-003." in _since(standin, "C0QATEAM", qa_before):
            listed.append(day)
        day += timedelta(days=1)
    assert reminders == [
        date(2027, 11, 16),
        date(2027, 11, 23),
        date(2027, 11, 30),
        date(2027, 12, 7),
        date(2027, 12, 14),
        date(2027, 12, 21),
        date(2027, 12, 30),
    ]
    assert listed == reminders[1:]  # the QA team's list names it once it is overdue (due 17:30 on the 16th)
    with _day(_at(2027, 12, 30, 11)):
        assert _record_meeting(rt, slack, standin, "U0HOS", meeting_c.id, date(2027, 12, 22)).body == ""

    # ---- January 2028: the re-audits are allocated by the clock on the first working day ------------------------
    tick(rt, _at(2028, 1, 3, 9, 30))  # the New Year bank holiday (1 January was a Saturday)
    with rt.database.unit_of_work() as db:
        assert db.scalars(select(Audit).where(Audit.month == "2028-01")).all() == []
    tick(rt, _at(2028, 1, 4, 9, 0))
    with rt.database.unit_of_work() as db:
        reaudits = {
            x.reaudit_of_id: (x.id, x.cycle, x.auditor.slack_user_id)
            for x in db.scalars(select(Audit).where(Audit.month == "2028-01"))
        }
    assert set(reaudits) == {a, c}
    (a1, cycle_a1, by_a1), (c1, _, _) = reaudits[a], reaudits[c]
    assert (cycle_a1, by_a1) == (1, "U0AUD")  # the auditor who graded it before
    assert any("This is the re-audit of QA-2027-10-001" in t for t in _texts(standin, "U0AUD"))

    for audit_id in (a1, c1):
        _ready(rt, audit_id, _at(2028, 1, 18, 10))
    with _day(_at(2028, 1, 20)):
        _submit(rt, slack, standin, a1, "inadequate", date(2028, 1, 20))
        _submit(rt, slack, standin, c1, "good", date(2028, 1, 20))
    with _day(_at(2028, 1, 21)):
        _moderate(rt, slack, standin, a1)
        _moderate(rt, slack, standin, c1)

    # C's re-audit is Good: the case leaves the cycle, and those who were asked hear so.
    assert _case(rt, c1).reaudit_due is None
    assert any("leaves the re-audit cycle" in t for t in _texts(standin, "U0HOS"))
    assert "inadequate.cycle_ended" in _kinds(rt, c1)

    # A's re-audit is Inadequate again: the AD Safeguarding escalates to Ada (the AD in Priya's line), and the Head
    # of Service and Service Manager are tasked to resolve it.
    escalation, resolution = _task(rt, a1, "ad_escalation"), _task(rt, a1, "resolution")
    with rt.database.unit_of_work() as db:
        ann, hos, sm = (
            db.scalar(select(Person.id).where(Person.slack_user_id == u)) for u in ("U0ANN", "U0HOS", "U0SM")
        )
    assert (escalation.asked, resolution.asked) == ([ann], [hos, sm])
    [ask] = [t for t in _texts(standin, "U0ANN") if "escalate it to" in t]
    assert ask.startswith("QA-2028-01-001, the three-month re-audit of QA-2027-10-001, is Inadequate again.")
    assert "Ada Director, the Assistant Director responsible" in ask
    # Ada has heard only of C's meeting, which drifted past its date while nobody recorded it (the escalation chain
    # goes to those above the Service Manager and Head of Service who were asked).
    assert _texts(standin, "U0ADA")[0].startswith(
        "The Reflective Practice & Action Meeting asked for QA-2027-10-003 (graded Inadequate) was due Tuesday 16 "
        "November 2027 and has not been recorded."
    )
    assert not [t for t in _texts(standin, "U0ADA") if "QA-2028-01-001" in t]
    with _day(_at(2028, 1, 21, 11)):
        slack.block_action("U0SM", "pathway_escalate", str(escalation.id))
        assert "asked of someone else" in standin.responses[-1].body["text"]
        slack.block_action("U0ANN", "pathway_escalate", str(escalation.id))
        rt.dispatcher.drain()
    [told] = [t for t in _texts(standin, "U0ADA") if "QA-2028-01-001" in t]
    assert told.startswith("Ann Safeguard (AD Safeguarding, Quality & Practice) has escalated QA-2028-01-001 to you")
    with _day(_at(2028, 2, 7)):
        view = _opened(slack, standin, "U0HOS", "pathway_record", resolution.id)
        note = {"note": {"answer": "A new team manager and a weekly multi-agency review of the plan."}}
        assert slack.view_submission("U0HOS", view, note).body == ""
        rt.dispatcher.drain()
    assert any("has recorded how it was resolved" in t for t in _texts(standin, "U0ADA"))
    assert _case(rt, a1).reaudit_due == "2028-04"

    # ---- April 2028: the follow-up, after the clocks went forward ------------------------------------------------
    tick(rt, datetime(2028, 4, 3, 7, 30, tzinfo=UTC))  # 08:30 BST: not yet
    with rt.database.unit_of_work() as db:
        assert db.scalars(select(Audit).where(Audit.month == "2028-04")).all() == []
    tick(rt, datetime(2028, 4, 3, 8, 0, tzinfo=UTC))  # 09:00 BST, the first working day
    with rt.database.unit_of_work() as db:
        [a2] = db.scalars(select(Audit).where(Audit.month == "2028-04")).all()
        a2_id = a2.id
        assert (a2.cycle, a2.reaudit_of_id) == (2, a1)
    _ready(rt, a2_id, _at(2028, 4, 11, 10))
    with _day(_at(2028, 4, 13)):
        _submit(rt, slack, standin, a2_id, "inadequate", date(2028, 4, 13))
    # Two working days from Thursday 13 April skip Good Friday and Easter Monday: Wednesday 19th, 17:30 BST.
    assert _moderation(rt, a2_id).due_at == datetime(2028, 4, 19, 16, 30, tzinfo=UTC)
    with _day(_at(2028, 4, 18)):
        _moderate(rt, slack, standin, a2_id)
    executive = _task(rt, a2_id, "executive")
    [final] = [t for t in _texts(standin, "U0ED") if "final escalation" in t]
    assert final.startswith("QA-2028-04-001, a follow-up audit of QA-2027-10-001, is still Inadequate.")
    assert any("final escalation has gone to the Executive Director" in t for t in _texts(standin, "U0ANN"))
    assert any("final escalation has gone to the Executive Director" in t for t in _texts(standin, "U0ADA"))
    with _day(_at(2028, 4, 18, 14)):
        slack.block_action("U0ED", "pathway_acknowledge", str(executive.id))
        rt.dispatcher.drain()
    assert _task(rt, a2_id, "executive").status == "done"
    # Still Inadequate: the case stays on the cycle.
    assert _case(rt, a2_id).reaudit_due == "2028-07"

    assert [k for k in _kinds(rt, a) if k.startswith(("moderation.", "inadequate."))] == [
        "moderation.assigned",
        "moderation.reminded",
        "moderation.recorded",
        "inadequate.confirmed",
        "inadequate.reflective_meeting_asked",
        "inadequate.reminded",
        "inadequate.reflective_meeting_done",
    ]
    assert [k for k in _kinds(rt, a1) if k.startswith("inadequate.")] == [
        "inadequate.reaudit_allocated",
        "inadequate.confirmed",
        "inadequate.ad_escalation_asked",
        "inadequate.resolution_asked",
        "inadequate.ad_escalation_done",
        "inadequate.resolution_done",
    ]
    assert [k for k in _kinds(rt, a2_id) if k.startswith("inadequate.")] == [
        "inadequate.reaudit_allocated",
        "inadequate.confirmed",
        "inadequate.executive_asked",
        "inadequate.executive_done",
    ]
