"""The escalation chain through the clock and /slack/events: an overdue action, first in its owner's daily digest,
climbs Service Manager -> Head of Service -> Assistant Director -> Executive Director by itself, across Easter and the
clocks going forward; at each level the person there may resolve, extend or escalate it now; only they (or their
delegate, or the QA team) may; a double click decides once; a restarted clock sends nothing twice; the watchdog
reports a stalled escalation."""

from datetime import UTC, date, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from bot.calendar import clock_at
from bot.workflow import digests
from scheduler.jobs import SWEEPS, tick
from store.models import Action, Audit, Escalation, Event, Moderation, OutboxMessage, Person
from tests.test_disputes import _opened
from tests.test_inadequate_walk import _at, council  # noqa: F401 (a fixture)

DUE = date(2027, 3, 19)  # a Friday; five working days on is Tuesday 30 March, after Easter
CHAIN = ["U0SM", "U0HOS", "U0ADA", "U0ED"]


@pytest.fixture
def overdue(rt, council, audit_id):  # noqa: F811
    """Priya's action from her audit, due Friday 19 March 2027 and still open."""
    with rt.database.unit_of_work() as db:
        priya = db.scalar(select(Person).where(Person.slack_user_id == "U0PRAC"))
        action = Action(
            audit_id=audit_id,
            description="Share the updated plan with the school.",
            owner_id=priya.id,
            status="open",
            due_at=rt.calendar.at(DUE, rt.calendar.end),
            created_at=_at(2027, 3, 1),
        )
        db.add(action)
        digests.schedule_action(rt.calendar, rt.settings, action)
        db.flush()
        return action.id


def _escalation(rt) -> Escalation:
    with rt.database.unit_of_work() as db:
        return db.scalar(select(Escalation).where(Escalation.policy == "overdue_action").order_by(Escalation.id.desc()))


def _requests(standin, user):
    """The requests to decide (the notices of where it went say the same first words, without the ask)."""
    return [c for c in standin.posted(user) if "Please resolve it" in c.args["text"]]


def _buttons(message):
    return [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def _started(rt, standin):
    tick(rt, _at(2027, 3, 30, 9))
    return _escalation(rt)


def test_an_overdue_action_climbs_to_the_executive_director(rt, standin, slack, overdue):
    started, reminded = {}, []
    day = date(2027, 3, 15)
    while day <= date(2027, 4, 21):
        tick(rt, _at(day.year, day.month, day.day, 9))
        for user in CHAIN:
            if _requests(standin, user) and user not in started:
                started[user] = day
        sent = [c for c in standin.posted("U0PRAC") if c.args["text"].startswith("Your reminders")]
        reminded += [day] * (len(sent) - len(reminded))
        day += timedelta(days=1)
    # Priya's digest lists it two working days before it is due, on the day, the first working day after, then every
    # five working days while it is open (Good Friday and Easter Monday are not working days).
    assert reminded == [
        date(2027, 3, 17),
        date(2027, 3, 19),
        date(2027, 3, 22),
        date(2027, 3, 31),
        date(2027, 4, 7),
        date(2027, 4, 14),
        date(2027, 4, 21),
    ]
    # Five working days after Friday 19 March skip Good Friday and Easter Monday: Tuesday 30 March. Each level has
    # three working days to the end of the day; the next morning's tick finds it undecided and moves it up.
    assert started == {
        "U0SM": date(2027, 3, 30),
        "U0HOS": date(2027, 4, 5),
        "U0ADA": date(2027, 4, 9),
        "U0ED": date(2027, 4, 15),
    }
    escalation = _escalation(rt)
    assert escalation.level == 3 and [e["role"] for e in escalation.chain] == [
        "service_manager",
        "head_of_service",
        "assistant_director",
        "executive_director",
    ]
    # After the clocks went forward: 17:30 BST is 16:30 UTC.
    with rt.database.unit_of_work() as db:
        first = db.scalars(select(Event).where(Event.kind == "escalation.started")).one()
    assert first.detail["respond_by"] == datetime(2027, 4, 2, 16, 30, tzinfo=UTC).isoformat()
    [asked] = _requests(standin, "U0SM")
    assert asked.args["text"].startswith(
        "An action from the audit of QA-2027-01-001 for Priya Practitioner was due Friday 19 March 2027 and is "
        "still open. It was not done in time, so it has come to you to decide."
    )
    # Priya hears it has gone to her Service Manager.
    [told] = [c for c in standin.posted("U0PRAC") if "has been escalated" in c.args["text"]]
    assert told.args["text"].startswith(
        "Your action from the audit of QA-2027-01-001, due Friday 19 March 2027, is overdue, so it has been "
        "escalated to Sara Service (service manager)."
    )
    # Those asked before hear where it went, and their buttons are gone.
    gone_up = "the escalation has gone up to Ed Exec (Executive Director)"
    assert any(gone_up in t.args["text"] for t in standin.posted("U0SM"))
    assert _buttons(standin.message(asked.response["ts"])) == []
    # At the top it waits, reminded each window, never climbing further; no Escalate now there.
    ed = _requests(standin, "U0ED")
    assert len(ed) == 2 and "still waiting for your decision" in ed[1].args["text"]
    assert "escalation_escalate" not in _buttons(standin.message(ed[-1].response["ts"]))

    with freeze_time(_at(2027, 4, 21, 11), tick=True):
        view = _opened(slack, standin, "U0ED", "escalation_resolve", escalation.id)
        note = {"note": {"answer": "Agreed with the team: the plan goes to the school by Friday."}}
        assert slack.view_submission("U0ED", view, note).body == ""
        rt.dispatcher.drain()
    assert _escalation(rt).status == "resolved"
    for user in [*CHAIN[:3], "U0PRAC"]:
        assert any("escalation closed — resolved by Ed Exec" in t.args["text"] for t in standin.posted(user)), user
    [told] = [c for c in standin.posted("U0PRAC") if "escalation closed" in c.args["text"]]
    assert "the plan goes to the school by Friday" in str(told.args["blocks"])
    # Ed's own message says he resolved it: no notice besides.
    assert not any("escalation closed" in c.args["text"] for c in standin.posted("U0ED"))
    assert all(_buttons(standin.message(c.response["ts"])) == [] for u in CHAIN for c in _requests(standin, u))
    # Resolved is an answer: the still-open action is not escalated again.
    tick(rt, _at(2027, 4, 22, 9))
    with rt.database.unit_of_work() as db:
        assert db.scalar(select(func.count()).select_from(Escalation)) == 1


def _climb_to(rt, slack, standin, level):
    """Each holder in turn presses Escalate now."""
    with freeze_time(_at(2027, 3, 30, 10), tick=True):
        for holder in CHAIN[:level]:
            slack.block_action(holder, "escalation_escalate", str(_escalation(rt).id))
        rt.dispatcher.drain()
    assert _escalation(rt).level == level


@pytest.mark.parametrize("level", [0, 1, 2, 3])
def test_resolve_at_each_level(rt, standin, slack, overdue, level):
    escalation = _started(rt, standin)
    _climb_to(rt, slack, standin, level)
    holder = CHAIN[level]
    with freeze_time(_at(2027, 3, 30, 11), tick=True):
        view = _opened(slack, standin, holder, "escalation_resolve", escalation.id)
        assert slack.view_submission(holder, view, {"note": {"answer": " "}}).json()["errors"] == {
            "note": "Please say how it was resolved."
        }
        assert slack.view_submission(holder, view, {"note": {"answer": "Done in supervision."}}).body == ""
        # The same form again (a double click on Resolve): decided once, and told by whom.
        again = slack.view_submission(holder, view | {"id": "V0AGAIN"}, {"note": {"answer": "Done."}}).json()
        assert "already closed by" in again["errors"]["note"]
    assert (_escalation(rt).status, _escalation(rt).level) == ("resolved", level)
    with rt.database.unit_of_work() as db:
        assert len(db.scalars(select(Event).where(Event.kind == "escalation.resolved")).all()) == 1


@pytest.mark.parametrize("level", [0, 1, 2, 3])
def test_extend_at_each_level_moves_the_date_and_drift_starts_again(rt, standin, slack, overdue, level):
    escalation = _started(rt, standin)
    _climb_to(rt, slack, standin, level)
    holder = CHAIN[level]
    with freeze_time(_at(2027, 3, 30, 11), tick=True):
        view = _opened(slack, standin, holder, "escalation_extend", escalation.id)
        errors = slack.view_submission(holder, view, {"to": {"day": "2027-04-03"}}).json()["errors"]
        assert errors == {
            "to": "That is not a working day: please choose one.",
            "reason": "Please say why it needs more time.",
        }
        answer = {"to": {"day": "2027-04-09"}, "reason": {"answer": "The school is closed for Easter."}}
        assert slack.view_submission(holder, view, answer).body == ""
        rt.dispatcher.drain()
    assert _escalation(rt).status == "extended"
    with rt.database.unit_of_work() as db:
        assert db.get(Action, overdue).due_at == rt.calendar.at(date(2027, 4, 9), rt.calendar.end)
    # The owner hears the new date and why; those asked below hear it too.
    for user in ["U0PRAC", *CHAIN[:level]]:
        [told] = [c for c in standin.posted(user) if "escalation closed" in c.args["text"]]
        assert "gave it a new date, Friday 9 April 2027" in told.args["text"], user
        assert "closed for Easter" in str(told.args["blocks"])
    # Still open five working days after the new date: a new escalation, from the Service Manager again.
    tick(rt, _at(2027, 4, 15, 9))
    assert _escalation(rt).id == escalation.id
    tick(rt, _at(2027, 4, 16, 9))
    again = _escalation(rt)
    assert again.id != escalation.id and (again.status, again.level) == ("pending", 0)
    assert again.started_at.date() == date(2027, 4, 16)


PEOPLE = ["U0PRAC", "U0TM", "U0SM", "U0HOS", "U0ADA", "U0ED", "U0AUD", "U0QA", "U0COVER"]


@pytest.mark.parametrize("button", ["escalation_resolve", "escalation_extend", "escalation_escalate"])
@pytest.mark.parametrize("user", PEOPLE)
def test_who_may_decide(rt, standin, slack, overdue, user, button):
    """With the Service Manager: only she, her recorded delegate (Tom's cover) or the QA team may decide."""
    with rt.database.unit_of_work() as db:
        cover = Person(name="Cora Cover", email="cora@council.example", slack_user_id="U0COVER", active=True)
        db.add(cover)
        db.flush()
        db.scalar(select(Person).where(Person.slack_user_id == "U0SM")).delegate_id = cover.id
    escalation = _started(rt, standin)
    allowed = user in ("U0SM", "U0COVER", "U0QA")
    with freeze_time(_at(2027, 3, 30, 10), tick=True):
        opened = len([c for c in standin.calls if c.method == "views.open"])
        slack.block_action(user, button, str(escalation.id))
        rt.dispatcher.drain()
        got_form = len([c for c in standin.calls if c.method == "views.open"]) > opened
    after = _escalation(rt)
    if button == "escalation_escalate":
        assert (after.level == 1) is allowed
    else:
        assert got_form is allowed
    if not allowed:
        assert "is with Sara Service now" in standin.responses[-1].body["text"]
        assert (after.status, after.level) == ("pending", 0)
        with rt.database.unit_of_work() as db:
            [refusal] = db.scalars(select(Event).where(Event.kind == f"refused.{button}")).all()
            assert refusal.detail["reason"] in ("not at the current level", "unknown")


def test_a_double_click_on_escalate_now_climbs_once(rt, standin, slack, overdue):
    escalation = _started(rt, standin)
    with freeze_time(_at(2027, 3, 30, 10), tick=True):
        slack.block_action("U0SM", "escalation_escalate", str(escalation.id), action_ts="1.1")
        slack.block_action("U0SM", "escalation_escalate", str(escalation.id), action_ts="1.2")
        rt.dispatcher.drain()
    assert _escalation(rt).level == 1
    assert "is with Helen Head now" in standin.responses[-1].body["text"]
    assert len(_requests(standin, "U0HOS")) == 1


def test_a_restarted_clock_sends_nothing_twice(rt, standin, overdue):
    for _ in range(3):
        tick(rt, _at(2027, 3, 30, 9))
    tick(rt, _at(2027, 4, 5, 9))
    tick(rt, _at(2027, 4, 5, 9))
    with rt.database.unit_of_work() as db:
        assert db.scalar(select(func.count()).select_from(Escalation)) == 1
        keys = db.scalars(select(OutboxMessage.key).where(OutboxMessage.key.like("escalation:%:ask:%"))).all()
    assert len(_requests(standin, "U0SM")) == 1 and len(_requests(standin, "U0HOS")) == 1
    assert len(keys) == len(set(keys))


def test_putting_the_action_right_closes_the_escalation(rt, standin, overdue):
    _started(rt, standin)
    with rt.database.unit_of_work() as db:
        db.get(Action, overdue).status = "done"
    tick(rt, _at(2027, 3, 31, 9))
    assert (_escalation(rt).status, _escalation(rt).decision) == ("settled", "settled")
    [asked] = _requests(standin, "U0SM")
    assert "escalation closed — it was done meanwhile" in standin.message(asked.response["ts"])["text"]


def test_the_watchdog_reports_a_stalled_escalation_once(rt, standin, overdue):
    _started(rt, standin)
    watchdog = next(job for job in SWEEPS if job.name == "escalation-watchdog")
    # The clock stopped: nothing moved it on at the end of Friday 2 April. The watchdog alone runs.
    for moment in (_at(2027, 4, 2, 18, 45), _at(2027, 4, 2, 19, 0)):
        with clock_at(moment):
            watchdog.run(rt)
    tick(rt, _at(2027, 4, 5, 9))
    qa = [c.args["text"] for c in standin.posted("C0QATEAM") if "has not moved on" in c.args["text"]]
    assert qa == [
        "The escalation of an overdue action on QA-2027-01-001 is past its deadline and has not moved on: "
        "is `qabot clock` running? Please check."
    ]


def test_an_overdue_moderation_climbs_the_moderators_line(rt, standin, overdue, audit_id):
    with rt.database.unit_of_work() as db:
        helen = db.scalar(select(Person).where(Person.slack_user_id == "U0HOS"))
        mo = db.scalar(select(Person).where(Person.slack_user_id == "U0MOD"))
        mo.line_manager = helen
        db.get(Action, overdue).status = "done"
        db.get(Audit, audit_id).status = "awaiting_moderation"
        db.add(Moderation(audit_id=audit_id, moderator_id=mo.id, status="pending", due_at=_at(2027, 3, 19, 17, 30)))
    tick(rt, _at(2027, 3, 23, 9))  # two working days late: not yet
    assert standin.posted("U0HOS") == []
    tick(rt, _at(2027, 3, 24, 9))  # three: up the moderator's line (Mo reports to Helen, Head of Service)
    with rt.database.unit_of_work() as db:
        [escalation] = db.scalars(select(Escalation).where(Escalation.policy == "overdue_moderation")).all()
        assert [e["role"] for e in escalation.chain] == ["head_of_service", "assistant_director", "executive_director"]
    [asked] = standin.posted("U0HOS")
    assert asked.args["text"].startswith("The moderation of QA-2027-01-001 by Mo Derator was due Friday 19 March 2027")
