"""An immediate safeguarding concern: alerted at once whatever the hour, with no case content; acknowledged with
a button (once, by someone alerted); re-alerted and taken up the line every 2 working hours until it is. It is a
policy of the one escalation engine: acknowledging is not resolving — the acknowledger records what was done
(Resolve), is reminded if they have not within a working day, and then it climbs like any escalation."""

from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from bot.calendar import clock_at
from bot.workflow import allocation, safeguarding
from bot.workflow import escalation as engine
from bot.workflow.directory import add_person
from scheduler.jobs import SWEEPS, tick
from store.models import Action, Audit, Case, Escalation, EscalationStep, Event, OutboxMessage, Person
from tests.test_disputes import _opened

LONDON = ZoneInfo("Europe/London")
MONDAY_9 = datetime(2027, 1, 4, 9, 0, tzinfo=LONDON)
FRIDAY_20 = datetime(2027, 1, 8, 20, 0, tzinfo=LONDON)
NEXT_MONDAY = datetime(2027, 1, 11, tzinfo=LONDON)
LEVEL_0 = ("U0TM", "U0SM", "U0HOS", "U0ADSG")
CASE_CONTENT = ("CS-100234", "Priya", "Family Support North", "Child protection", "casesystem")


@pytest.fixture
def line(rt, world):
    """The demo directory plus an AD Safeguarding, Quality & Practice, and Helen's line above her: an assistant
    director and the Executive Director."""
    with rt.database.unit_of_work() as db:
        add_person(
            db, name="Erin Exec", email="erin@council.example", slack_user_id="U0ED", roles=["executive_director"]
        )
        alan = add_person(
            db,
            name="Alan Director",
            email="alan@council.example",
            slack_user_id="U0AD",
            roles=["assistant_director"],
            manager_email="erin@council.example",
        )
        db.get(Person, world.people["helen"]).line_manager = alan
        add_person(
            db, name="Dana Safeguard", email="dana@council.example", slack_user_id="U0ADSG", roles=["ad_safeguarding"]
        )
    return world


def _audit(rt, world) -> int:
    """An audit of Priya's child-protection case, allocated to Amira (its DM delivered), as on a Monday."""
    with rt.database.unit_of_work() as db:
        case = db.get(Case, world.case_id)
        audit = allocation.allocate(
            db, rt.calendar, rt.settings, case, db.get(Person, world.people["amira"]), "2027-01"
        )
        audit_id = audit.id
    rt.dispatcher.drain()
    return audit_id


def _friday_night(rt, world, clock) -> int:
    """Allocated on Monday; the concern raised at 20:00 on Friday, its alerts delivered. The escalation id."""
    clock.move_to(MONDAY_9)
    audit_id = _audit(rt, world)
    clock.move_to(FRIDAY_20)
    esc_id = _raise(rt, world, audit_id)
    rt.dispatcher.drain()
    return esc_id


def _raise(rt, world, audit_id) -> int:
    with rt.database.unit_of_work() as db:
        audit = db.get(Audit, audit_id)
        return safeguarding.raise_concern(db, rt.calendar, rt.settings, audit, db.get(Person, world.people["amira"])).id


def _sweep(rt) -> int:
    """The escalation engine's one sweep: it moves safeguarding concerns on as it does every other escalation."""
    with rt.database.unit_of_work() as db:
        return engine.sweep(db, rt.calendar, rt.settings)


def _alerts(standin, to=None):
    return [c for c in standin.posted(to) if "safeguarding" in c.args["text"]]


def _buttons(message) -> list[str]:
    return [e["action_id"] for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]


def _kinds(rt, prefix="") -> list[str]:
    with rt.database.unit_of_work() as db:
        return [k for k in db.scalars(select(Event.kind).order_by(Event.id)) if k.startswith(prefix)]


def _escalation(rt, esc_id) -> Escalation:
    with rt.database.unit_of_work() as db:
        return db.get(Escalation, esc_id)


def _click(slack, standin, user, esc_id, sent_to=None, **kw):
    """`user` presses Acknowledge on the latest alert sent to `sent_to` (default: their own)."""
    call = _alerts(standin, sent_to or user)[-1]
    return slack.block_action(user, "safeguarding_ack", str(esc_id), message=standin.message(call.response["ts"]), **kw)


def test_an_alert_on_a_friday_night_goes_at_once_with_no_case_content(rt, standin, line):
    with freeze_time(MONDAY_9) as clock:
        audit_id = _audit(rt, line)
        clock.move_to(FRIDAY_20)
        esc_id = _raise(rt, line, audit_id)
        assert rt.dispatcher.drain().sent == 5  # not held until Monday 09:00

    for user in LEVEL_0:
        [call] = _alerts(standin, user)
        assert "QA-2027-01-001" in call.args["text"] and "acknowledge and act now" in call.args["text"]
        assert "Raised by Amira Auditor at 8 Jan 2027, 20:00" in call.args["text"]
        message = standin.message(call.response["ts"])
        assert _buttons(message) == ["safeguarding_ack"]
        shown = str(message["blocks"])
        assert "The detail is in the case record — contact the auditor" in shown
        assert "Tom Teamlead (team manager)" in shown and "Dana Safeguard (AD Safeguarding" in shown
    [post] = _alerts(standin, "C0QATEAM")
    posted = standin.message(post.response["ts"])
    assert _buttons(posted) == []
    assert "the team manager, service manager, head of service and AD Safeguarding" in posted["text"]
    for name in ("Tom", "Sara", "Helen", "Dana"):
        assert name not in str(post.args)
    for user in ("U0AD", "U0ED", "U0PRAC", "U0AUD", "U0AUD2", "U0QA"):
        assert _alerts(standin, user) == []
    for call in _alerts(standin):
        for secret in CASE_CONTENT:
            assert secret not in str(call.args)

    with rt.database.unit_of_work() as db:
        escalation = db.get(Escalation, esc_id)
        assert (escalation.policy, escalation.subject_id, escalation.level) == ("safeguarding", audit_id, 0)
        assert escalation.status == "pending"
        assert rt.calendar.local(escalation.respond_by) == datetime(2027, 1, 11, 11, 0, tzinfo=LONDON)
        assert [e["role"] for e in escalation.chain] == [
            "team_manager",
            "service_manager",
            "head_of_service",
            "ad_safeguarding",
            "assistant_director",
            "executive_director",
        ]
        assert [e["level"] for e in escalation.chain] == [0, 0, 0, 0, 1, 2]
        steps = db.scalars(select(EscalationStep).where(EscalationStep.escalation_id == esc_id)).all()
        assert [s.what for s in steps] == ["raised"] + ["alerted"] * 4
        assert steps[0].person_id == line.people["amira"]
        assert all(db.scalars(select(OutboxMessage.urgent).where(OutboxMessage.key.like("safeguarding:%"))))
        assert db.get(Audit, audit_id).immediate_concern
    assert _kinds(rt, "safeguarding") == ["safeguarding.raised"]


def test_raising_twice_for_one_audit_alerts_once(rt, standin, line):
    with freeze_time(FRIDAY_20):
        audit_id = _audit(rt, line)
        first, second = _raise(rt, line, audit_id), _raise(rt, line, audit_id)
        rt.dispatcher.drain()
    assert first == second
    assert len(_alerts(standin)) == 5
    assert _kinds(rt, "safeguarding") == ["safeguarding.raised"]


def test_acknowledgement_updates_every_alert_and_stops_the_re_alerts(rt, standin, slack, line):
    with freeze_time(FRIDAY_20, tick=True) as clock:
        esc_id = _friday_night(rt, line, clock)
        clock.move_to(datetime(2027, 1, 11, 9, 30, tzinfo=LONDON))
        assert _click(slack, standin, "U0SM", esc_id).status == 200
        assert standin.responses == []
        rt.dispatcher.drain()
        clock.move_to(datetime(2027, 1, 11, 11, 0, tzinfo=LONDON))
        assert _sweep(rt) == 0
        assert rt.dispatcher.drain().sent == 0

    alerts = _alerts(standin)
    assert len(alerts) == 5
    updates = [c for c in standin.calls if c.method == "chat.update"]
    assert sorted(u.args["ts"] for u in updates) == sorted(a.response["ts"] for a in alerts)
    for call in alerts:
        shown = standin.message(call.response["ts"])
        assert "acknowledged by Sara Service at 11 Jan 2027, 09:30" in shown["text"]
        # Acknowledging is not resolving: Sara's own alert now asks her to say what was done.
        assert _buttons(shown) == (["escalation_resolve"] if call.args["channel"] == "U0SM" else [])
    assert "press Resolve and say what was done" in str(standin.message(_alerts(standin, "U0SM")[0].response["ts"]))
    escalation = _escalation(rt, esc_id)
    assert escalation.status == "acknowledged" and escalation.decided_by_id == line.people["sara"]
    assert rt.calendar.local(escalation.respond_by) == datetime(2027, 1, 12, 17, 30, tzinfo=LONDON)
    assert _kinds(rt, "safeguarding") == ["safeguarding.raised", "safeguarding.acknowledged"]


def test_a_click_by_someone_not_alerted_is_refused_and_recorded(rt, standin, slack, line):
    with freeze_time(FRIDAY_20, tick=True) as clock:
        esc_id = _friday_night(rt, line, clock)
        # Alan is the assistant director: not alerted until level 1. Amira raised it; a stranger isn't staff.
        for user in ("U0AD", "U0AUD", "U0STRANGER"):
            assert _click(slack, standin, user, esc_id, sent_to="U0TM").status == 200
        rt.dispatcher.drain()
    answers = standin.responses
    assert len(answers) == 3
    for answer in answers:
        assert answer.body["response_type"] == "ephemeral" and answer.body["replace_original"] is False
        assert "Only the people alerted about the safeguarding concern on QA-2027-01-001" in answer.body["text"]
    with rt.database.unit_of_work() as db:
        refusals = db.scalars(select(Event).where(Event.kind == "refused.safeguarding_ack").order_by(Event.id)).all()
        assert [e.actor_slack_id for e in refusals] == ["U0AD", "U0AUD", "U0STRANGER"]
        assert refusals[0].subject_type == "audits" and refusals[0].detail["reason"] == "not alerted"
    assert _escalation(rt, esc_id).status == "pending"
    assert not [c for c in standin.calls if c.method == "chat.update"]


def test_a_forged_button_value_is_refused(rt, standin, slack, line):
    with freeze_time(FRIDAY_20, tick=True) as clock:
        esc_id = _friday_night(rt, line, clock)
        for value in (str(esc_id + 100), "not-a-number", "99999999999999999999"):
            slack.block_action("U0TM", "safeguarding_ack", value)
    assert len(standin.responses) == 3
    assert _escalation(rt, esc_id).status == "pending"
    assert _kinds(rt, "refused") == ["refused.safeguarding_ack"] * 3


def test_two_clicks_at_once_acknowledge_once_and_the_second_is_told_who(rt, standin, slack, line):
    with freeze_time(FRIDAY_20, tick=True) as clock:
        esc_id = _friday_night(rt, line, clock)
        with ThreadPoolExecutor(2) as pool:
            clicks = [pool.submit(_click, slack, standin, user, esc_id) for user in ("U0TM", "U0HOS")]
            assert [c.result().status for c in clicks] == [200, 200]
        rt.dispatcher.drain()
    escalation = _escalation(rt, esc_id)
    winner = {line.people["tom"]: "Tom Teamlead", line.people["helen"]: "Helen Head"}[escalation.decided_by_id]
    [answer] = standin.responses
    assert answer.body["response_type"] == "ephemeral"
    assert f"already acknowledged by {winner} at 8 Jan 2027, 20:0" in answer.body["text"]
    assert _kinds(rt, "safeguarding") == ["safeguarding.raised", "safeguarding.acknowledged"]
    assert len([c for c in standin.calls if c.method == "chat.update"]) == 5


def test_unacknowledged_it_goes_up_the_line_and_never_goes_silent(rt, standin, slack, line):
    with freeze_time(FRIDAY_20, tick=True) as clock:
        esc_id = _friday_night(rt, line, clock)

        # 2 working hours after Friday 20:00 is Monday 11:00, not Friday 22:00.
        clock.move_to(datetime(2027, 1, 9, 10, 0, tzinfo=LONDON))
        assert _sweep(rt) == 0
        clock.move_to(datetime(2027, 1, 11, 10, 59, tzinfo=LONDON))
        assert _sweep(rt) == 0

        clock.move_to(datetime(2027, 1, 11, 11, 0, tzinfo=LONDON))
        assert _sweep(rt) == 1
        assert _sweep(rt) == 0  # the same moment twice: nothing twice
        assert rt.dispatcher.drain().sent == 6
        [to_ad] = _alerts(standin, "U0AD")
        assert "Nobody acknowledged it within 2 working hours, so it has now come to you" in str(to_ad.args)
        for user in LEVEL_0:
            first, again = _alerts(standin, user)
            assert again.args["text"].startswith("Still not acknowledged")
            assert "It has now gone up to Alan Director (assistant director)" in str(again.args)
            assert _buttons(standin.message(again.response["ts"])) == ["safeguarding_ack"]
        assert _alerts(standin, "C0QATEAM")[-1].args["text"].startswith("Still not acknowledged")
        assert _alerts(standin, "U0ED") == []
        assert _escalation(rt, esc_id).level == 1

        clock.move_to(datetime(2027, 1, 11, 13, 0, tzinfo=LONDON))
        assert _sweep(rt) == 1
        assert rt.dispatcher.drain().sent == 7  # Erin alerted; the five before her and the channel told again
        assert len(_alerts(standin, "U0ED")) == 1 and len(_alerts(standin, "U0AD")) == 2
        assert "everyone alerted will be alerted again" in str(_alerts(standin, "U0ED")[0].args)

        # At the top it keeps re-alerting everyone every 2 working hours, overnight included in working time.
        for moment, respond_by in (
            (datetime(2027, 1, 11, 15, 0, tzinfo=LONDON), datetime(2027, 1, 11, 17, 0, tzinfo=LONDON)),
            (datetime(2027, 1, 11, 17, 0, tzinfo=LONDON), datetime(2027, 1, 12, 10, 30, tzinfo=LONDON)),
        ):
            clock.move_to(moment)
            assert _sweep(rt) == 1
            assert _sweep(rt) == 0
            assert rt.dispatcher.drain().sent == 7
            escalation = _escalation(rt, esc_id)
            assert escalation.level == 2 and rt.calendar.local(escalation.respond_by) == respond_by
        assert len(_alerts(standin, "U0ED")) == 3 and len(_alerts(standin, "U0TM")) == 5

        # Anyone alerted so far may acknowledge: Alan, alerted at level 1. Every message is updated.
        clock.move_to(datetime(2027, 1, 12, 9, 15, tzinfo=LONDON))
        assert _click(slack, standin, "U0AD", esc_id).status == 200
        rt.dispatcher.drain()
        clock.move_to(datetime(2027, 1, 12, 11, 0, tzinfo=LONDON))
        assert _sweep(rt) == 0

    alerts = _alerts(standin)
    assert len(alerts) == 5 + 6 + 7 + 7 + 7
    assert len([c for c in standin.calls if c.method == "chat.update"]) == len(alerts)
    for call in alerts:
        shown = standin.message(call.response["ts"])
        assert "acknowledged by Alan Director at 12 Jan 2027, 09:15" in shown["text"]
        assert _buttons(shown) == (["escalation_resolve"] if call.args["channel"] == "U0AD" else [])
        for secret in CASE_CONTENT:
            assert secret not in str(call.args)
    assert _kinds(rt, "safeguarding") == [
        "safeguarding.raised",
        "safeguarding.escalated",
        "safeguarding.escalated",
        "safeguarding.realerted",
        "safeguarding.realerted",
        "safeguarding.acknowledged",
    ]
    with rt.database.unit_of_work() as db:
        whats = db.scalars(
            select(EscalationStep.what).where(EscalationStep.escalation_id == esc_id).order_by(EscalationStep.id)
        ).all()
    assert whats.count("alerted") == 6 and whats.count("realerted") == 4 + 5 + 6 + 6
    assert [w for w in whats if w in safeguarding.ROUND_STEPS] == [
        "raised",
        "escalated",
        "escalated",
        "repeated",
        "repeated",
    ]
    assert whats[-1] == "acknowledged"


def test_empty_levels_close_up(rt, standin, world):
    """No AD Safeguarding and no assistant director: the first level is the line, the next the Executive
    Director (found in the directory though the line does not reach them)."""
    with freeze_time(MONDAY_9):
        with rt.database.unit_of_work() as db:
            add_person(
                db, name="Erin Exec", email="erin@council.example", slack_user_id="U0ED", roles=["executive_director"]
            )
        esc_id = _raise(rt, world, _audit(rt, world))
    chain = _escalation(rt, esc_id).chain
    assert [(e["level"], e["role"]) for e in chain] == [
        (0, "team_manager"),
        (0, "service_manager"),
        (0, "head_of_service"),
        (1, "executive_director"),
    ]
    with rt.database.unit_of_work() as db:
        raised = db.scalars(select(Event).where(Event.kind == "safeguarding.raised")).one()
    assert raised.detail["not_found"] == ["ad_safeguarding", "assistant_director"]


def test_a_delegate_is_alerted_too_and_whoever_raised_it_is_not(rt, standin, line):
    """Tom's leave cover hears alongside him, and can acknowledge; Dana, AD Safeguarding, raised it herself (as the
    auditor) so she is not alerted about her own concern."""
    with freeze_time(MONDAY_9):
        audit_id = _audit(rt, line)
        with rt.database.unit_of_work() as db:
            cover = add_person(db, name="Tina Cover", email="tina@council.example", slack_user_id="U0TINA", roles=[])
            db.get(Person, line.people["tom"]).delegate_id = cover.id
            dana = db.scalar(select(Person).where(Person.slack_user_id == "U0ADSG"))
            escalation = safeguarding.raise_concern(db, rt.calendar, rt.settings, db.get(Audit, audit_id), dana)
            esc_id = escalation.id
            assert [(e["role"], e.get("covering_for")) for e in escalation.chain if e["level"] == 0] == [
                ("team_manager", None),
                ("team_manager", line.people["tom"]),
                ("service_manager", None),
                ("head_of_service", None),
            ]
        rt.dispatcher.drain()
        assert _alerts(standin, "U0ADSG") == []
        [to_tina] = _alerts(standin, "U0TINA")
        assert "Tina Cover (covering for the team manager)" in str(to_tina.args)
        assert "Raised by Dana Safeguard" in to_tina.args["text"]
        with rt.database.unit_of_work() as db:
            assert safeguarding.acknowledge(db, rt.calendar, rt.settings, esc_id, "U0ADSG").reason == "not_alerted"
            assert safeguarding.acknowledge(db, rt.calendar, rt.settings, esc_id, "U0TINA").ok
            again = safeguarding.acknowledge(db, rt.calendar, rt.settings, esc_id, "U0TM")
        assert again.reason == "already_acknowledged" and again.detail["by"] == "Tina Cover"


# --- acknowledging is not resolving -------------------------------------------------------------------------

MONDAY_930 = datetime(2027, 1, 11, 9, 30, tzinfo=LONDON)
DONE_NOTE = {"note": {"answer": "Strategy discussion held the same morning; the plan is updated in the record."}}


def _acknowledged(rt, standin, slack, line, clock) -> int:
    """Raised on Friday night, acknowledged by Sara (service manager) at 09:30 on Monday."""
    esc_id = _friday_night(rt, line, clock)
    clock.move_to(MONDAY_930)
    assert _click(slack, standin, "U0SM", esc_id).status == 200
    rt.dispatcher.drain()
    return esc_id


def _resolve_on(slack, standin, user, esc_id, message_of):
    """`user` presses Resolve on the latest message sent to `message_of` that has it; the form, or None."""
    call = [c for c in standin.posted(message_of) if "escalation_resolve" in str(standin.message(c.response["ts"]))][-1]
    before = len([c for c in standin.calls if c.method == "views.open"])
    slack.block_action(user, "escalation_resolve", str(esc_id), message=standin.message(call.response["ts"]))
    opened = [c for c in standin.calls if c.method == "views.open"]
    return opened[-1].response["view"] if len(opened) > before else None


def test_acknowledged_then_resolved_closes_it_everywhere_once(rt, standin, slack, line):
    with freeze_time(FRIDAY_20, tick=True) as clock:
        esc_id = _acknowledged(rt, standin, slack, line, clock)
        assert _escalation(rt, esc_id).status == "acknowledged"
        clock.move_to(datetime(2027, 1, 11, 15, 0, tzinfo=LONDON))
        view = _resolve_on(slack, standin, "U0SM", esc_id, "U0SM")
        assert view["callback_id"] == "escalation_resolve_form"
        assert "acknowledged by Sara Service" in str(view["blocks"]) and "What was done" in str(view["blocks"])
        assert slack.view_submission("U0SM", view, {"note": {"answer": " "}}).json()["errors"] == {
            "note": "Please say how it was resolved."
        }
        pii = slack.view_submission("U0SM", view, {"note": {"answer": "Called mum on 07700 900123."}}).json()
        assert "note" in pii["errors"] and _escalation(rt, esc_id).status == "acknowledged"
        assert slack.view_submission("U0SM", view, DONE_NOTE).body == ""
        # A double click on Resolve (the form submitted twice): decided once, and told by whom.
        again = slack.view_submission("U0SM", view | {"id": "V0AGAIN"}, DONE_NOTE).json()
        assert "already closed by Sara Service" in again["errors"]["note"]
        rt.dispatcher.drain()
        clock.move_to(datetime(2027, 1, 13, 17, 30, tzinfo=LONDON))
        assert _sweep(rt) == 0
        assert rt.dispatcher.drain().sent == 0

    escalation = _escalation(rt, esc_id)
    assert (escalation.status, escalation.decided_by_id) == ("resolved", line.people["sara"])
    for call in _alerts(standin):
        shown = standin.message(call.response["ts"])
        assert (
            "acknowledged by Sara Service at 11 Jan 2027, 09:30, resolved by Sara Service at 11 Jan 2027, 15:0"
            in (shown["text"])
        )
        assert _buttons(shown) == []
        assert "Strategy discussion" not in str(shown)  # what was done is on the record, not in the alerts
    assert len(_alerts(standin)) == 5  # updated in place: nobody is messaged again
    with rt.database.unit_of_work() as db:
        [step] = db.scalars(
            select(EscalationStep).where(EscalationStep.escalation_id == esc_id, EscalationStep.what == "resolved")
        ).all()
        assert step.person_id == line.people["sara"] and step.note.startswith("Strategy discussion")
    assert [k for k in _kinds(rt) if k.startswith(("safeguarding", "escalation"))] == [
        "safeguarding.raised",
        "safeguarding.acknowledged",
        "escalation.resolved",
    ]


def test_acknowledged_but_not_resolved_reminds_once_then_climbs(rt, standin, slack, line):
    with freeze_time(FRIDAY_20, tick=True) as clock:
        esc_id = _acknowledged(rt, standin, slack, line, clock)
        # One working day to say what was done: to the end of Tuesday.
        clock.move_to(datetime(2027, 1, 12, 17, 29, tzinfo=LONDON))
        assert _sweep(rt) == 0
        clock.move_to(datetime(2027, 1, 12, 17, 30, tzinfo=LONDON))
        assert _sweep(rt) == 1
        assert _sweep(rt) == 0
        clock.move_to(datetime(2027, 1, 13, 9, 0, tzinfo=LONDON))
        assert rt.dispatcher.drain().sent == 1  # not urgent: the reminder waits for working hours
        [reminder] = standin.posted("U0SM")[-1:]
        assert reminder.args["text"].startswith(
            "The immediate safeguarding concern on QA-2027-01-001 was acknowledged by Sara Service at 11 Jan 2027, "
            "09:30, but what was done has not been recorded. It is still waiting for someone to record what was done."
        )
        assert _buttons(standin.message(reminder.response["ts"])) == ["escalation_resolve"]
        for user in ("U0TM", "U0HOS", "U0ADSG", "U0AD", "U0ED"):
            assert "has not been recorded" not in str([c.args for c in standin.posted(user)])
        escalation = _escalation(rt, esc_id)
        assert (escalation.status, escalation.level) == ("acknowledged", 0)

        # Still nothing by the end of Wednesday: up to the assistant director, and everyone involved is told.
        clock.move_to(datetime(2027, 1, 13, 17, 30, tzinfo=LONDON))
        assert _sweep(rt) == 1
        clock.move_to(datetime(2027, 1, 14, 9, 0, tzinfo=LONDON))
        rt.dispatcher.drain()
        [asked] = [c for c in standin.posted("U0AD") if "has not been recorded" in c.args["text"]]
        assert "Nobody recorded it in time, so it has come up to you" in asked.args["text"]
        assert _buttons(standin.message(asked.response["ts"])) == ["escalation_resolve"]
        for user in ("U0TM", "U0HOS", "U0ADSG"):
            [told] = [c for c in standin.posted(user) if "the escalation has gone up" in c.args["text"]]
            assert told.args["text"] == (
                "The immediate safeguarding concern on QA-2027-01-001, acknowledged by Sara Service: the escalation "
                "has gone up to Alan Director (assistant director)."
            )
        # Sara may still resolve it (asked again, with the button); her reminder's button is gone.
        assert _buttons(standin.message(reminder.response["ts"])) == []
        assert _buttons(standin.message(standin.posted("U0SM")[-1].response["ts"])) == ["escalation_resolve"]
        assert _alerts(standin, "U0ED") == []
        escalation = _escalation(rt, esc_id)
        assert (escalation.status, escalation.level) == ("acknowledged", 1)

        # Alan, asked now, resolves it: every message of it loses its buttons.
        view = _opened(slack, standin, "U0AD", "escalation_resolve", esc_id)
        assert slack.view_submission("U0AD", view, DONE_NOTE).body == ""
        rt.dispatcher.drain()

    assert _escalation(rt, esc_id).status == "resolved"
    offered = [c for c in standin.posted() if "escalation_resolve" in str(c.args) or "safeguarding_ack" in str(c.args)]
    assert len(offered) == 5 + 2  # the alerts, the reminder, and the requests to Sara and Alan
    for call in offered:
        assert _buttons(standin.message(call.response["ts"])) == [], call.args["channel"]
    assert [k for k in _kinds(rt) if k.startswith(("safeguarding", "escalation"))] == [
        "safeguarding.raised",
        "safeguarding.acknowledged",
        "escalation.reminded",
        "escalation.climbed",
        "escalation.resolved",
    ]


@pytest.mark.parametrize("user", ["U0SM", "U0COVER", "U0QA", "U0TM", "U0HOS", "U0AD", "U0AUD", "U0PRAC", "U0STRANGER"])
def test_who_may_resolve_an_acknowledged_concern(rt, standin, slack, line, user):
    """Sara acknowledged it: she, her delegate (recorded after the concern was raised) or the QA team may resolve
    it; the others alerted, the auditor, the practitioner, the assistant director (not yet reached) and strangers
    may not, and are told who may."""
    with freeze_time(FRIDAY_20, tick=True) as clock:
        esc_id = _acknowledged(rt, standin, slack, line, clock)
        with rt.database.unit_of_work() as db:
            cover = add_person(db, name="Cora Cover", email="cora@council.example", slack_user_id="U0COVER", roles=[])
            db.get(Person, line.people["sara"]).delegate_id = cover.id
        view = _resolve_on(slack, standin, user, esc_id, "U0SM")
    allowed = user in ("U0SM", "U0COVER", "U0QA")
    assert (view is not None) is allowed
    if not allowed:
        known = user != "U0STRANGER"
        assert ("is with Sara Service now" in standin.responses[-1].body["text"]) is known
        with rt.database.unit_of_work() as db:
            [refusal] = db.scalars(select(Event).where(Event.kind == "refused.escalation_resolve")).all()
            assert refusal.actor_slack_id == user
            assert refusal.detail["reason"] in ("not at the current level", "unknown")
    assert _escalation(rt, esc_id).status == "acknowledged"


def test_an_unacknowledged_concern_cannot_be_resolved(rt, standin, slack, line):
    with freeze_time(FRIDAY_20, tick=True) as clock:
        esc_id = _friday_night(rt, line, clock)
        slack.block_action("U0QA", "escalation_resolve", str(esc_id))
        slack.block_action("U0TM", "escalation_extend", str(esc_id))
    assert "has not been acknowledged yet" in standin.responses[0].body["text"]
    assert _escalation(rt, esc_id).status == "pending"
    assert _kinds(rt, "refused") == ["refused.escalation_resolve", "refused.escalation_extend"]


def test_one_sweep_moves_safeguarding_alerts_and_overdue_actions_together(rt, standin, line):
    """`qabot tick`'s escalation job is the one clock: at 11:00 on Monday it climbs Friday night's unacknowledged
    concern and starts the escalation of an action five working days overdue; the watchdog watches both."""
    with freeze_time(FRIDAY_20, tick=True) as clock:
        esc_id = _friday_night(rt, line, clock)
    with rt.database.unit_of_work() as db:
        db.add(
            Action(
                audit_id=db.get(Escalation, esc_id).subject_id,
                description="Share the updated plan with the school.",
                owner_id=line.people["priya"],
                status="open",
                due_at=rt.calendar.at(date(2027, 1, 4), rt.calendar.end),
                created_at=MONDAY_9,
            )
        )
    # The clock stopped: an hour after the concern's deadline the watchdog alone runs, and tells the QA team.
    watchdog = next(job for job in SWEEPS if job.name == "escalation-watchdog")
    with clock_at(datetime(2027, 1, 11, 12, 0, tzinfo=LONDON)):
        assert watchdog.run(rt) == 1
    results = tick(rt, datetime(2027, 1, 11, 12, 0, tzinfo=LONDON))
    assert results["escalations"] == 2
    assert "immediate safeguarding concern on QA-2027-01-001 is past its deadline" in str(
        [c.args["text"] for c in standin.posted("C0QATEAM")]
    )
    [to_ad] = _alerts(standin, "U0AD")
    assert "it has now come to you" in str(to_ad.args)
    [asked] = [c for c in standin.posted("U0SM") if "Please resolve it" in c.args["text"]]
    assert asked.args["text"].startswith("An action from the audit of QA-2027-01-001")
    with rt.database.unit_of_work() as db:
        assert {(e.policy, e.level) for e in db.scalars(select(Escalation))} == {
            ("safeguarding", 1),
            ("overdue_action", 0),
        }
    again = tick(rt, datetime(2027, 1, 11, 12, 0, tzinfo=LONDON))
    assert again["escalations"] == 0 and again["outbox"].sent == 0
