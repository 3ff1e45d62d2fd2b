"""Closing the loop of a thematic audit, walked from February to June 2027 through /slack/events and the clock as
`qabot tick` runs it, across Easter and the May bank holidays: the sponsor signs off the overview report on Monday
15 February; six weeks on falls on Easter Monday, so the six-week check is asked on Tuesday 30 March, in the
sponsor's daily digest, each working day until recorded; the three-month check (Monday 17 May) is left unrecorded,
so it climbs the sponsor's line, Assistant Director then Executive Director, until the sponsor records it; the
lead hears each check in full, the QA channel in figures."""

from datetime import date, timedelta

from freezegun import freeze_time
from sqlalchemy import select

from scheduler.jobs import tick
from store.models import Escalation, Event, LoopCheck, Theme
from tests.test_disputes import _opened
from tests.test_inadequate_walk import _at, council  # noqa: F401 (a fixture)
from tests.test_thematic import _audits, _complete, _define, _theme


def _signed_off(rt, slack, standin) -> Theme:
    """A theme of two hand-picked cases, completed, reported and signed off on Monday 15 February 2027."""
    with freeze_time(_at(2027, 2, 1), tick=True):
        assert _define(rt, slack, standin, audits_by="2027-02-12", report_by="2027-02-19").body == ""
        for audit_id, _, auditor in _audits(rt):
            assert _complete(rt, slack, standin, audit_id, auditor).body == ""
        theme = _theme(rt)
        view = _opened(slack, standin, "U0QA", "thematic_report_open", theme.id)
        report = {"summary": {"answer": "The child's voice was not always recorded."}}
        report |= {"recommendations": {"answer": "Record the child's words at every visit.\nReview plans monthly."}}
        assert slack.view_submission("U0QA", view, report).body == ""
        rt.dispatcher.drain()
    with freeze_time(_at(2027, 2, 15), tick=True):
        slack.block_action("U0HOS", "thematic_sign_off", str(theme.id))
        rt.dispatcher.drain()
    return theme


def _digests(standin, user="U0HOS"):
    return [c for c in standin.posted(user) if c.args["text"].startswith("Your reminders")]


def _record(rt, slack, standin, check_id, moment, values):
    with freeze_time(moment, tick=True):
        view = _opened(slack, standin, "U0HOS", "thematic_loop_open", check_id)
        response = slack.view_submission("U0HOS", view, values)
        rt.dispatcher.drain()
        return view, response


def _check(rt, stage) -> LoopCheck:
    with rt.database.unit_of_work() as db:
        check = db.scalar(select(LoopCheck).where(LoopCheck.stage == stage))
        db.expunge_all()
        return check


def test_the_sponsor_closes_the_loop_and_is_escalated_when_silent(rt, standin, slack, council):  # noqa: F811
    theme = _signed_off(rt, slack, standin)
    assert rt.calendar.local(_check(rt, "six_weeks").due_at).date() == date(2027, 3, 30)
    assert rt.calendar.local(_check(rt, "three_months").due_at).date() == date(2027, 5, 17)

    asked: list[date] = []
    day = date(2027, 2, 15)
    while day <= date(2027, 6, 4):
        tick(rt, _at(day.year, day.month, day.day, 9))
        sent = _digests(standin)
        asked += [day] * (len(sent) - len(asked))
        if day == date(2027, 3, 30):
            # Only the sponsor (or their delegate) records it; a half-answered form is refused on its field.
            check = _check(rt, "six_weeks")
            assert _opened(slack, standin, "U0QA", "thematic_loop_open", check.id) is None
            assert "Only the sponsor of TH-2027-01, Helen Head" in standin.responses[-1].body["text"]
            _, response = _record(rt, slack, standin, check.id, _at(2027, 3, 30, 11), {"rec_1": {"answer": "done"}})
            assert response.json()["errors"] == {"rec_2": "Please choose one answer for this recommendation."}
        if day == date(2027, 4, 1):
            values = {"rec_1": {"answer": "done"}, "rec_2": {"answer": "partly"}}
            values |= {"note_2": {"answer": "Started in two of the four teams."}}
            _, response = _record(rt, slack, standin, _check(rt, "six_weeks").id, _at(2027, 4, 1, 11), values)
            assert response.body == ""
        if day == date(2027, 6, 2):
            check = _check(rt, "three_months")
            values = {"rec_1": {"answer": "done"}, "rec_2": {"answer": "not_yet"}}
            values |= {"impact": {"answer": "Plans now quote the child; visits are more purposeful."}}
            view, response = _record(rt, slack, standin, check.id, _at(2027, 6, 2, 11), values)
            assert view["title"]["text"] == "Three-month check" and response.body == ""
            # A second submission (the form left open on another device) is told it was done.
            with freeze_time(_at(2027, 6, 2, 11, 5), tick=True):
                again = slack.view_submission("U0HOS", view | {"id": "V0SECOND"}, values).json()
            assert "was already recorded by Helen Head" in again["errors"]["impact"]
        day += timedelta(days=1)

    # Asked each working day from the day (after Easter Monday) until recorded; then from 17 May again, skipping
    # the Spring bank holiday (31 May), until recorded on 2 June.
    assert asked == [
        date(2027, 3, 30),
        date(2027, 3, 31),
        date(2027, 4, 1),
        date(2027, 5, 17),
        date(2027, 5, 18),
        date(2027, 5, 19),
        date(2027, 5, 20),
        date(2027, 5, 21),
        date(2027, 5, 24),
        date(2027, 5, 25),
        date(2027, 5, 26),
        date(2027, 5, 27),
        date(2027, 5, 28),
        date(2027, 6, 1),
        date(2027, 6, 2),
    ]
    first = _digests(standin)[0]
    assert "six weeks on: please record how far each recommendation is implemented" in str(first.args["blocks"])
    # The digest that asked shows it recorded, its button gone.
    recorded_digest = standin.message(_digests(standin)[2].response["ts"])
    assert "the six-week check was recorded by Helen Head" in str(recorded_digest["blocks"])
    assert "thematic_loop_open" not in str(recorded_digest["blocks"])

    # The six-week check was recorded within its window: never escalated. The three-month one climbed: to Ada
    # (Assistant Director) five working days after it was due, to Ed (Executive Director) when she did not decide.
    with rt.database.unit_of_work() as db:
        [escalation] = db.scalars(select(Escalation)).all()
        assert escalation.policy == "overdue_loop_check"
        assert [e["role"] for e in escalation.chain] == ["assistant_director", "executive_director"]
        assert escalation.level == 1 and escalation.status == "settled"
        started = db.scalar(select(Event).where(Event.kind == "escalation.started"))
        climbed = db.scalar(select(Event).where(Event.kind == "escalation.climbed"))
        assert rt.calendar.local(started.at).date() == date(2027, 5, 24)
        assert rt.calendar.local(climbed.at).date() == date(2027, 5, 28)
        theme = db.get(Theme, theme.id)
        assert theme.status == "closed"
        assert [e.kind for e in db.scalars(select(Event).where(Event.kind.like("theme.%")).order_by(Event.id))][
            -3:
        ] == [
            "theme.loop_recorded",
            "theme.loop_recorded",
            "theme.closed",
        ]
    [to_ada] = [c for c in standin.posted("U0ADA") if "Please resolve it" in c.args["text"]]
    assert to_ada.args["text"].startswith(
        "The thematic audit TH-2027-01 (Neglect: is the child's lived experience understood?) is waiting for its "
        "sponsor Helen Head to record the three-month check of progress against its goals, due Monday 17 May 2027."
    )
    assert any("Please resolve it" in c.args["text"] for c in standin.posted("U0ED"))
    [told] = [c for c in standin.posted("U0HOS") if "has been escalated" in c.args["text"]]
    assert told.args["text"].startswith("Your three-month close-the-loop check of the thematic audit TH-2027-01")
    # Once recorded the escalation closes by itself, and those asked hear so, their buttons gone.
    assert any("escalation closed" in c.args["text"] for c in standin.posted("U0ADA"))
    for user in ("U0ADA", "U0ED"):
        for request in [c for c in standin.posted(user) if "Please resolve it" in c.args["text"]]:
            assert "escalation_resolve" not in str(standin.message(request.response["ts"])["blocks"])

    # The lead hears each check in full; the QA channel the figures, never the notes.
    lead = [c for c in standin.posted("U0QA") if "close-the-loop check" in c.args["text"]]
    assert [c.args["text"].rsplit("): ", 1)[1] for c in lead] == [
        "1 implemented, 1 partly implemented, 0 not yet.",
        "1 achieved, 0 some progress, 1 no progress yet.",
    ]
    assert "Started in two of the four teams." in str(lead[0].args["blocks"])
    assert "Plans now quote the child" in str(lead[1].args["blocks"])
    channel = [c for c in standin.posted("C0QATEAM") if "close-the-loop check" in c.args["text"]]
    assert len(channel) == 2
    assert not any("Started in two" in str(c.args["blocks"]) or "quote the child" in str(c.args) for c in channel)


def test_a_new_date_from_the_escalation_moves_the_sponsors_reminders(rt, standin, slack, council):  # noqa: F811
    _signed_off(rt, slack, standin)
    for day in (30, 31):
        tick(rt, _at(2027, 3, day, 9))
    # Five working days after Tuesday 30 March (Good Friday and Easter Monday were before it): Tuesday 6 April.
    tick(rt, _at(2027, 4, 6, 9))
    with rt.database.unit_of_work() as db:
        [escalation] = db.scalars(select(Escalation)).all()
    with freeze_time(_at(2027, 4, 6, 11), tick=True):
        slack.block_action("U0HOS", "escalation_extend", str(escalation.id))
        assert "is with Ada Director now" in standin.responses[-1].body["text"]
        view = _opened(slack, standin, "U0ADA", "escalation_extend", escalation.id)
        reason = {"to": {"day": "2027-04-20"}, "reason": {"answer": "Waiting for the service plan review."}}
        assert slack.view_submission("U0ADA", view, reason).body == ""
        rt.dispatcher.drain()
    check = _check(rt, "six_weeks")
    assert check.due_at == rt.calendar.at(date(2027, 4, 20), rt.calendar.end)
    assert check.next_reminder_at == rt.calendar.at(date(2027, 4, 20), rt.settings.framework.reminder_time)
    before = len(_digests(standin))
    for day in range(7, 21):
        tick(rt, _at(2027, 4, day, 9))
    # Not asked again until the new date, then asked that morning.
    assert len(_digests(standin)) == before + 1
    assert "20 April" in str(_digests(standin)[-1].args["blocks"])
