"""Reminders as digests, through the clock as `qabot tick` runs it (time frozen with freezegun) and /slack/events:
an action's three reminder points (before due, on the day, overdue, then every five working days); one message a
day per person however much is due; nothing on weekends and bank holidays, rolled into the next working day's
digest; 09:00 local either side of the clocks changing; a sweep run twice, or a restart, sends nothing twice and
skips nothing; Snooze, only by the item's recipient; supervision reminders every 8 weeks (4 for child protection)
until the audit's actions are signed off."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from bot.calendar import now
from bot.runtime import Runtime
from bot.workflow import allocation, digests
from scheduler.jobs import SWEEPS, tick
from store.models import Action, Audit, Case, Escalation, Event, Moderation, OutboxMessage, Person
from tests.test_disputes import _opened
from tests.test_inadequate_walk import _allocate, _ready, _submit

LONDON = ZoneInfo("Europe/London")
DIGEST = next(job for job in SWEEPS if job.name == "digests")


def _at(y, m, d, h=9, mi=0):
    return datetime(y, m, d, h, mi, tzinfo=LONDON)


def _tick(rt, moment):
    """The clock at `moment`: every sweep `qabot tick` runs, then delivery."""
    with freeze_time(moment):
        tick(rt)


def _digests(standin, user):
    return [c for c in standin.posted(user) if c.args["text"].startswith("Your reminders for")]


def _items(call):
    """An item's first line, as the digest shows it (without the emoji)."""
    return [
        b["text"]["text"].split("\n")[0].split(" ", 1)[1]
        for b in call.args["blocks"][1:]
        if b["type"] == "section" and "*QA-" in b["text"]["text"]
    ]


def _person(db, slack_id):
    return db.scalar(select(Person).where(Person.slack_user_id == slack_id))


def _action(rt, audit_id, due, *, at, owner="U0PRAC", status="open", described="Share the plan with the school."):
    """An action as the audit form (or, for a done one, the owner) leaves it at `at`."""
    with freeze_time(at), rt.database.unit_of_work() as db:
        action = Action(
            audit_id=audit_id,
            description=described,
            owner_id=_person(db, owner).id,
            status=status,
            due_at=rt.calendar.at(due, rt.calendar.end),
            created_at=now(),
            done_at=now() if status == "done" else None,
        )
        db.add(action)
        digests.schedule_action(rt.calendar, rt.settings, action)
        db.flush()
        return action.id


def _walk(rt, standin, user, first, last, hours=(9, 13)):
    """Tick at each of `hours` every day from `first` to `last`; the digests `user` got, by day."""
    got = {}
    day = first
    while day <= last:
        for hour in hours:
            before = len(_digests(standin, user))
            _tick(rt, _at(day.year, day.month, day.day, hour))
            for call in _digests(standin, user)[before:]:
                got.setdefault(day, []).extend(_items(call))
        day += timedelta(days=1)
    return got


def test_an_action_is_reminded_before_due_on_the_day_and_when_overdue(rt, standin, slack, audit_id):
    # Submitted on Monday 11 January 2027 at 10:00 with one action for Priya, due Monday 25 January.
    with freeze_time(_at(2027, 1, 11, 10), tick=True):
        _submit(rt, slack, standin, audit_id, "good", date(2027, 1, 11))
    with rt.database.unit_of_work() as db:
        action = db.scalar(select(Action).where(Action.audit_id == audit_id))
        assert action.next_reminder_at == _at(2027, 1, 21)
    got = _walk(rt, standin, "U0PRAC", date(2027, 1, 11), date(2027, 2, 10))
    # Two working days before (Thursday), on the day, the first working day after, then every five working days.
    assert got == {
        date(2027, 1, 21): ["*QA-2027-01-001* — your action is due Monday 25 January 2027."],
        date(2027, 1, 25): ["*QA-2027-01-001* — your action is due today."],
        date(2027, 1, 26): ["*QA-2027-01-001* — your action was due Monday 25 January 2027 and is overdue."],
        date(2027, 2, 2): ["*QA-2027-01-001* — your action was due Monday 25 January 2027 and is overdue."],
        date(2027, 2, 9): ["*QA-2027-01-001* — your action was due Monday 25 January 2027 and is overdue."],
    }
    first = _digests(standin, "U0PRAC")[0]
    assert first.args["text"] == "Your reminders for Thursday 21 January 2027: one thing needs you."
    assert ">Review the plan." in first.args["blocks"][1]["text"]["text"]
    with rt.database.unit_of_work() as db:
        action = db.get(Action, action.id)
        assert (action.last_reminded_at, action.next_reminder_at) == (_at(2027, 2, 9), _at(2027, 2, 16))
        sent = db.scalars(select(Event).where(Event.kind == "reminder.sent")).all()
        priya = _person(db, "U0PRAC").id
        assert [e.detail["item"] for e in sent if e.detail["to"] == priya] == [
            "due_soon",
            "due_today",
            "overdue",
            "overdue",
            "overdue",
        ]


def test_a_signed_off_action_is_reminded_no_more(rt, standin, audit_id):
    action_id = _action(rt, audit_id, date(2027, 3, 17), at=_at(2027, 3, 12, 10))
    _tick(rt, _at(2027, 3, 15))
    with rt.database.unit_of_work() as db:
        db.get(Action, action_id).status = "signed_off"
    _walk(rt, standin, "U0PRAC", date(2027, 3, 16), date(2027, 3, 31), hours=(9,))
    assert len(_digests(standin, "U0PRAC")) == 1
    with rt.database.unit_of_work() as db:
        assert db.get(Action, action_id).next_reminder_at is None


def test_everything_due_to_one_person_on_one_day_is_one_message(rt, standin, audit_id):
    friday = _at(2027, 3, 12, 10)
    soon = _action(rt, audit_id, date(2027, 3, 17), at=friday, described="Book the family group conference.")
    today = _action(rt, audit_id, date(2027, 3, 15), at=friday, described="Update the chronology.")
    late = _action(rt, audit_id, date(2027, 3, 12), at=friday, described="Share the plan with the school.")
    done = _action(rt, audit_id, date(2027, 3, 19), at=_at(2027, 3, 12, 11), status="done")
    with rt.database.unit_of_work() as db:
        db.get(Audit, audit_id).supervision_due_at = _at(2027, 3, 15)
        assert {db.get(Action, a).next_reminder_at for a in (soon, today, late, done)} == {_at(2027, 3, 15)}
    for moment in (_at(2027, 3, 15), _at(2027, 3, 15, 9, 5), _at(2027, 3, 15, 15)):
        _tick(rt, moment)
    [priya] = _digests(standin, "U0PRAC")
    assert priya.args["text"] == "Your reminders for Monday 15 March 2027: 3 things need you."
    assert _items(priya) == [
        "*QA-2027-01-001* — your action was due Friday 12 March 2027 and is overdue.",
        "*QA-2027-01-001* — your action is due today.",
        "*QA-2027-01-001* — your action is due Wednesday 17 March 2027.",
    ]
    # Tom, the team manager: the action Priya marked done, and the audit to discuss in supervision.
    [tom] = _digests(standin, "U0TM")
    assert _items(tom) == [
        "*QA-2027-01-001* — Priya Practitioner marked this action done: it needs your sign-off.",
        "*QA-2027-01-001* — please discuss this audit in supervision: 4 of its actions are not yet signed off "
        "(a reminder every 4 weeks until they are).",
    ]
    with rt.database.unit_of_work() as db:
        keys = db.scalars(select(OutboxMessage.key).where(OutboxMessage.template == "action_digest")).all()
        priya_id, tom_id = _person(db, "U0PRAC").id, _person(db, "U0TM").id
    assert sorted(keys) == sorted([f"digest:{priya_id}:2027-03-15", f"digest:{tom_id}:2027-03-15"])


def test_nothing_on_weekends_and_bank_holidays_it_waits_for_the_next_working_day(rt, standin, audit_id):
    # Due Friday 24 December 2027; Christmas and Boxing Day fall on the weekend, so Monday 27 and Tuesday 28 are the
    # bank holidays, and New Year's Day's is Monday 3 January 2028.
    action_id = _action(rt, audit_id, date(2027, 12, 24), at=_at(2027, 12, 20, 10))
    got = _walk(rt, standin, "U0PRAC", date(2027, 12, 20), date(2027, 12, 23))
    assert list(got) == [date(2027, 12, 22)]
    # The clock is not running on Christmas Eve: the reminder for the due date is not lost over the holiday...
    for day in (25, 26, 27, 28):
        for hour in (9, 13):
            _tick(rt, _at(2027, 12, day, hour))
    assert len(_digests(standin, "U0PRAC")) == 1
    with rt.database.unit_of_work() as db:
        assert db.get(Action, action_id).next_reminder_at == _at(2027, 12, 24)
    # ...nor doubled on the next working day, when it is also the first day it is overdue.
    got = _walk(rt, standin, "U0PRAC", date(2027, 12, 29), date(2028, 1, 7))
    overdue = ["*QA-2027-01-001* — your action was due Friday 24 December 2027 and is overdue."]
    # Five working days on from Wednesday 29 December skips New Year's bank holiday: Thursday 6 January.
    assert got == {date(2027, 12, 29): overdue, date(2028, 1, 6): overdue}


@pytest.mark.parametrize(
    ("due", "points"),
    [
        # The clocks go forward on Sunday 28 March 2027: 09:00 GMT is 09:00 UTC, 09:00 BST is 08:00 UTC. (Two working
        # days before Tuesday 30 March skip Easter Monday and Good Friday: Wednesday 24 March.)
        (date(2027, 3, 30), [datetime(2027, 3, 24, 9, tzinfo=UTC), datetime(2027, 3, 30, 8, tzinfo=UTC)]),
        # And back on Sunday 31 October 2027.
        (date(2027, 11, 2), [datetime(2027, 10, 29, 8, tzinfo=UTC), datetime(2027, 11, 2, 9, tzinfo=UTC)]),
    ],
)
def test_digests_go_at_nine_local_time_either_side_of_the_clock_change(rt, standin, audit_id, due, points):
    _action(rt, audit_id, due, at=points[0] - timedelta(days=7))
    for point in points:
        before = len(_digests(standin, "U0PRAC"))
        _tick(rt, point - timedelta(minutes=1))
        assert len(_digests(standin, "U0PRAC")) == before
        _tick(rt, point)
        assert len(_digests(standin, "U0PRAC")) == before + 1
        assert rt.calendar.local(point).hour == 9


def test_a_sweep_run_twice_at_the_same_moment_sends_nothing_twice(rt, standin, audit_id):
    _action(rt, audit_id, date(2027, 3, 17), at=_at(2027, 3, 12, 10))
    _action(rt, audit_id, date(2027, 3, 19), at=_at(2027, 3, 12, 10), status="done")
    with freeze_time(_at(2027, 3, 15)):
        assert DIGEST.run(rt) == 2  # Priya's, and Tom's (the action Priya marked done on Friday)
        assert DIGEST.run(rt) == 0
        tick(rt)
        tick(rt)
    assert len(_digests(standin, "U0PRAC")) == len(_digests(standin, "U0TM")) == 1
    with rt.database.unit_of_work() as db:
        digests_queued = select(func.count()).where(OutboxMessage.template == "action_digest")
        assert db.scalar(digests_queued) == 2


def test_what_comes_due_after_the_days_digest_waits_for_the_next(rt, standin, audit_id):
    _action(rt, audit_id, date(2027, 3, 17), at=_at(2027, 3, 12, 10))
    _tick(rt, _at(2027, 3, 15))
    # Due at 11:00 (a point set by hand): Priya has had today's digest, so it waits, untouched, for Tuesday's.
    later = _action(rt, audit_id, date(2027, 3, 26), at=_at(2027, 3, 15, 10), described="Update the chronology.")
    with rt.database.unit_of_work() as db:
        db.get(Action, later).next_reminder_at = _at(2027, 3, 15, 11)
    for hour in (11, 12, 17):
        _tick(rt, _at(2027, 3, 15, hour))
    assert len(_digests(standin, "U0PRAC")) == 1
    with rt.database.unit_of_work() as db:
        assert db.get(Action, later).last_reminded_at is None
    _tick(rt, _at(2027, 3, 16))
    assert _items(_digests(standin, "U0PRAC")[-1]) == ["*QA-2027-01-001* — your action is due Friday 26 March 2027."]


def test_a_restart_neither_repeats_nor_skips_a_digest(rt, settings, standin, audit_id):
    _action(rt, audit_id, date(2027, 3, 17), at=_at(2027, 3, 12, 10))
    # Monday 09:00: the digest is queued, and the process dies before delivering it.
    with freeze_time(_at(2027, 3, 15)):
        assert DIGEST.run(rt) == 1
    rt.close()
    again = Runtime.build(settings, timeout=3)
    again.dispatcher.pace = timedelta(0)
    try:
        # A new process delivers it once, and queues nothing more that day.
        for moment in (_at(2027, 3, 15, 9, 20), _at(2027, 3, 15, 12), _at(2027, 3, 16)):
            _tick(again, moment)
        assert len(_digests(standin, "U0PRAC")) == 1
        # The clock is down on Wednesday morning, the due date: it comes back at 16:00 and the digest goes then.
        _tick(again, _at(2027, 3, 17, 16))
        _tick(again, _at(2027, 3, 17, 17))
        assert [_items(c) for c in _digests(standin, "U0PRAC")[1:]] == [
            ["*QA-2027-01-001* — your action is due today."]
        ]
        _tick(again, _at(2027, 3, 18))
        assert len(_digests(standin, "U0PRAC")) == 3
    finally:
        again.close()


def _snooze_controls(standin, call, index=0):
    """The digest as it stands, and the block_id and Snooze list of its `index`th item still offering one."""
    message = standin.message(call.response["ts"])
    block = [b for b in message["blocks"] if "accessory" in b][index]
    return message, block["block_id"], block["accessory"]


def _forged(select_, value):
    """The Snooze list with a day it never offers (a forged request, or a list edited in the browser)."""
    return select_ | {"options": [*select_["options"], {"text": {"type": "plain_text", "text": value}, "value": value}]}


def test_the_recipient_snoozes_an_item_and_it_comes_back_after(rt, standin, slack, audit_id):
    soon = _action(rt, audit_id, date(2027, 3, 17), at=_at(2027, 3, 12, 10))
    other = _action(rt, audit_id, date(2027, 3, 15), at=_at(2027, 3, 12, 10), described="Update the chronology.")
    _tick(rt, _at(2027, 3, 15))
    [digest] = _digests(standin, "U0PRAC")
    message, block_id, select_ = _snooze_controls(standin, digest, index=1)
    assert block_id == f"snooze:action:{soon}:2027-03-15"
    # The next ten working days: Good Friday and Easter Monday are not among them.
    days = [o["value"] for o in select_["options"]]
    assert days[0] == "2027-03-16" and days[-1] == "2027-03-31" and len(days) == 10
    assert select_["options"][2]["text"]["text"] == "Thursday 18 March 2027"
    with freeze_time(_at(2027, 3, 15, 10), tick=True):
        slack.block_action("U0PRAC", "digest_snooze", "2027-03-18", block_id=block_id, message=message, element=select_)
        rt.dispatcher.drain()
    with rt.database.unit_of_work() as db:
        action = db.get(Action, soon)
        assert action.snoozed_until == action.next_reminder_at == _at(2027, 3, 18)
        [event] = db.scalars(select(Event).where(Event.kind == "reminder.snoozed")).all()
        assert event.actor_slack_id == "U0PRAC" and event.detail["item_id"] == soon
    # The digest shows it snoozed, its Snooze gone; the other item keeps its own.
    shown = standin.message(digest.response["ts"])
    [snoozed] = [b for b in shown["blocks"] if "Snoozed until" in b.get("text", {}).get("text", "")]
    assert "Snoozed until Thursday 18 March 2027" in snoozed["text"]["text"] and "Share" in snoozed["text"]["text"]
    assert [b["block_id"] for b in shown["blocks"] if "accessory" in b] == [f"snooze:action:{other}:2027-03-15"]
    assert standin.responses == []
    # Not on its due date (Wednesday): back on Thursday, overdue by then.
    got = _walk(rt, standin, "U0PRAC", date(2027, 3, 16), date(2027, 3, 18))
    assert got == {
        date(2027, 3, 16): ["*QA-2027-01-001* — your action was due Monday 15 March 2027 and is overdue."],
        date(2027, 3, 18): ["*QA-2027-01-001* — your action was due Wednesday 17 March 2027 and is overdue."],
    }


NOT_WORKING = "That is not a working day: reminders come on working days only. Please choose one."


@pytest.mark.parametrize(
    ("picked", "on", "answer"),
    [
        # Monday's list, used on Wednesday.
        ("2027-03-16", _at(2027, 3, 17, 10), "Please choose a day after today to snooze it until."),
        # Days the list never offers: a Saturday, Easter Monday, the eleventh working day.
        ("2027-03-20", _at(2027, 3, 15, 10), NOT_WORKING),
        ("2027-03-29", _at(2027, 3, 15, 10), NOT_WORKING),
        (
            "2027-04-01",
            _at(2027, 3, 15, 10),
            "Please choose a day within 10 working days: a snooze is a pause, not an end to the reminders.",
        ),
        ("2027-03-31", _at(2027, 3, 15, 10), None),
    ],
)
def test_a_snooze_is_until_one_of_the_next_ten_working_days(rt, standin, slack, audit_id, picked, on, answer):
    soon = _action(rt, audit_id, date(2027, 3, 17), at=_at(2027, 3, 12, 10))
    _tick(rt, _at(2027, 3, 15))
    message, block_id, select_ = _snooze_controls(standin, _digests(standin, "U0PRAC")[0])
    with freeze_time(on, tick=True):
        element = select_ if picked in [o["value"] for o in select_["options"]] else _forged(select_, picked)
        slack.block_action("U0PRAC", "digest_snooze", picked, block_id=block_id, message=message, element=element)
        rt.dispatcher.drain()
    with rt.database.unit_of_work() as db:
        action = db.get(Action, soon)
        refusals = db.scalars(select(Event).where(Event.kind == "refused.digest_snooze")).all()
    if answer is None:
        assert action.snoozed_until == _at(2027, 3, 31) and refusals == []
    else:
        assert standin.responses[-1].body["text"] == answer
        assert (action.snoozed_until, action.next_reminder_at) == (None, _at(2027, 3, 17))
        assert len(refusals) == 1
        assert "Snoozed" not in str(standin.message(message["ts"]))


def test_only_the_recipient_may_snooze(rt, standin, slack, audit_id):
    soon = _action(rt, audit_id, date(2027, 3, 17), at=_at(2027, 3, 12, 10))
    _tick(rt, _at(2027, 3, 15))
    message, block_id, select_ = _snooze_controls(standin, _digests(standin, "U0PRAC")[0])
    with freeze_time(_at(2027, 3, 15, 10), tick=True):
        slack.block_action("U0TM", "digest_snooze", "2027-03-16", block_id=block_id, message=message, element=select_)
        rt.dispatcher.drain()
        assert standin.responses[-1].body["text"] == (
            "This reminder about QA-2027-01-001 is for Priya Practitioner: only they can snooze it."
        )
        # A forged item or day is refused too.
        for forged_block, day in (
            (f"snooze:action:{soon}:x", "2027-03-16"),
            ("snooze:audit:99:2027-03-15", "2027-03-16"),
            (block_id, "tomorrow"),
        ):
            slack.block_action("U0PRAC", "digest_snooze", day, block_id=forged_block, element=_forged(select_, day))
            assert "couldn't find that audit" in standin.responses[-1].body["text"]
    with rt.database.unit_of_work() as db:
        action = db.get(Action, soon)
        assert (action.snoozed_until, action.next_reminder_at) == (None, _at(2027, 3, 17))
        refusals = db.scalars(select(Event).where(Event.kind == "refused.digest_snooze")).all()
        assert [(e.actor_slack_id, e.detail["reason"]) for e in refusals] == [
            ("U0TM", "not the recipient"),
            ("U0PRAC", "unreadable"),
            ("U0PRAC", "unknown"),
            ("U0PRAC", "unreadable"),
        ]
    assert "Snoozed" not in str(standin.message(message["ts"]))
    # Once signed off, there is nothing to snooze.
    with rt.database.unit_of_work() as db:
        db.get(Action, soon).status = "signed_off"
    with freeze_time(_at(2027, 3, 15, 11), tick=True):
        slack.block_action("U0PRAC", "digest_snooze", "2027-03-16", block_id=block_id, message=message, element=select_)
    assert standin.responses[-1].body["text"] == (
        "Nothing is waiting on this reminder about QA-2027-01-001 any more, so there is nothing to snooze."
    )


def _supervision(call):
    return [line.split(" — ")[0].strip("*") for line in _items(call) if "in supervision" in line]


def test_supervision_every_four_weeks_for_child_protection_and_eight_otherwise(rt, standin, slack, world, audit_id):
    # Two of Priya's audits, submitted on Monday 11 January 2027: QA-2027-01-001 is a child-protection case.
    with freeze_time(_at(2027, 1, 4, 10)):
        cin = _allocate(rt, world, 1, "2027-01")
    _ready(rt, cin, _at(2027, 1, 8, 10))
    with freeze_time(_at(2027, 1, 11, 10), tick=True):
        _submit(rt, slack, standin, audit_id, "good", date(2027, 1, 11))
        _submit(rt, slack, standin, cin, "good", date(2027, 1, 11))
    with rt.database.unit_of_work() as db:
        assert db.get(Audit, audit_id).case.category == "CP" and db.get(Audit, cin).case.category == "CIN"
        cp_ref, cin_ref = db.get(Audit, audit_id).qa_ref, db.get(Audit, cin).qa_ref
        assert db.get(Audit, audit_id).supervision_due_at == _at(2027, 2, 8)
        assert db.get(Audit, cin).supervision_due_at == _at(2027, 3, 8)
    seen = {}
    day = date(2027, 1, 12)
    while day <= date(2027, 5, 7):
        if day == date(2027, 4, 1):  # the child-protection case's action is signed off
            with rt.database.unit_of_work() as db:
                for action in db.scalars(select(Action).where(Action.audit_id == audit_id)):
                    action.status = "signed_off"
        before = len(_digests(standin, "U0TM"))
        _tick(rt, _at(day.year, day.month, day.day))
        for call in _digests(standin, "U0TM")[before:]:
            seen[day] = _supervision(call)
        day += timedelta(days=1)
    # Four weeks, then eight: on 8 March both are due, in one message. The early May bank holiday (Monday 3 May)
    # moves the eight-week one to Tuesday; the child-protection one stopped when its action was signed off.
    assert seen == {
        date(2027, 2, 8): [cp_ref],
        date(2027, 3, 8): [cp_ref, cin_ref],
        date(2027, 5, 4): [cin_ref],
    }
    with rt.database.unit_of_work() as db:
        assert db.get(Audit, audit_id).supervision_due_at is None
        assert db.get(Audit, cin).supervision_due_at == _at(2027, 6, 28)
        stopped = db.scalars(select(Event).where(Event.kind == "supervision.stopped")).all()
        assert [(e.subject_id, e.at) for e in stopped] == [(audit_id, _at(2027, 4, 5))]


def test_the_team_manager_snoozes_a_supervision_reminder(rt, standin, slack, audit_id):
    _action(rt, audit_id, date(2027, 3, 17), at=_at(2027, 3, 12, 10))
    with rt.database.unit_of_work() as db:
        audit = db.get(Audit, audit_id)
        audit.submitted_at, audit.supervision_due_at = _at(2027, 2, 15, 10), _at(2027, 3, 15)
    _tick(rt, _at(2027, 3, 15))
    [digest] = _digests(standin, "U0TM")
    message, block_id, select_ = _snooze_controls(standin, digest)
    assert block_id == f"snooze:audit:{audit_id}:2027-03-15"
    with freeze_time(_at(2027, 3, 15, 10), tick=True):
        slack.block_action("U0PRAC", "digest_snooze", "2027-03-16", block_id=block_id, message=message, element=select_)
        assert "is for Tom Teamlead: only they can snooze it" in standin.responses[-1].body["text"]
        slack.block_action("U0TM", "digest_snooze", "2027-03-16", block_id=block_id, message=message, element=select_)
        rt.dispatcher.drain()
    assert "Snoozed until Tuesday 16 March 2027" in str(standin.message(message["ts"]))
    got = _walk(rt, standin, "U0TM", date(2027, 3, 16), date(2027, 3, 17), hours=(9,))
    assert list(got) == [date(2027, 3, 16)]
    # After the snooze the four-weekly rhythm from the submission carries on: 12 April.
    with rt.database.unit_of_work() as db:
        assert db.get(Audit, audit_id).supervision_due_at == _at(2027, 4, 12)


def test_an_extension_by_the_escalation_chain_moves_the_reminders(rt, standin, slack, audit_id):
    action_id = _action(rt, audit_id, date(2027, 3, 12), at=_at(2027, 3, 1, 10))
    _tick(rt, _at(2027, 3, 19))  # five working days overdue: escalated to Sara, the Service Manager
    with rt.database.unit_of_work() as db:
        escalation = db.scalar(select(Escalation))
    with freeze_time(_at(2027, 3, 19, 11), tick=True):
        view = _opened(slack, standin, "U0SM", "escalation_extend", escalation.id)
        answer = {"to": {"day": "2027-03-25"}, "reason": {"answer": "The school reopens on Thursday."}}
        assert slack.view_submission("U0SM", view, answer).body == ""
    with rt.database.unit_of_work() as db:
        # Two working days before the new date.
        assert db.get(Action, action_id).next_reminder_at == _at(2027, 3, 23)


def _buttons(call):
    return [(e["action_id"], e["value"]) for b in call.args["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_every_reminder_to_one_person_on_one_day_is_one_digest(rt, settings, standin, world, audit_id):
    """Priya is an auditor with an allocation to accept, a practitioner with an overdue action and a self-assessment
    due, and a moderator with a moderation due: on Wednesday 20 January she has ONE message listing all four, each
    with its buttons; a second tick or a restart sends nothing more; on Thursday what is due again comes once."""
    with freeze_time(_at(2027, 1, 18, 9, 30)), rt.database.unit_of_work() as db:
        cal, priya = rt.calendar, _person(db, "U0PRAC")
        others = db.scalars(select(Case).where(Case.id != world.case_id).order_by(Case.id)).all()
        # Allocated to her on Monday: to accept by Wednesday, reminded that morning.
        to_accept = allocation.allocate(db, cal, settings, others[0], priya, "2027-01")
        # Her own audit's meeting is Thursday afternoon: her self-assessment is due on Wednesday.
        audit = db.get(Audit, audit_id)
        audit.meeting_at = cal.at(date(2027, 1, 21), time(14))
        audit.self_assessment_reminder_at = cal.at(date(2027, 1, 20), settings.framework.reminder_time)
        # Someone else's audit, hers to moderate by Friday.
        moderated = allocation.allocate(db, cal, settings, others[1], _person(db, "U0AUD"), "2027-01")
        moderated.status, moderated.next_reminder_at = "awaiting_moderation", None
        moderation = Moderation(audit_id=moderated.id, moderator_id=priya.id, due_at=cal.at(date(2027, 1, 22), cal.end))
        db.add(moderation)
        db.flush()
        accept_id, moderation_id = to_accept.id, moderation.id
    action_id = _action(rt, audit_id, date(2027, 1, 19), at=_at(2027, 1, 19, 12))  # due Tuesday: overdue Wednesday
    _tick(rt, _at(2027, 1, 19))
    assert _digests(standin, "U0PRAC") == []

    before = len(standin.posted("U0PRAC"))
    for moment in (_at(2027, 1, 20), _at(2027, 1, 20)):
        _tick(rt, moment)
    [wednesday] = standin.posted("U0PRAC")[before:]  # exactly one DM: the digest
    assert wednesday.args["text"] == "Your reminders for Wednesday 20 January 2027: 4 things need you."
    assert _items(wednesday) == [
        "*QA-2027-01-002* — this audit is waiting for you: please accept it, or tell us you can't take it, by "
        "Wednesday 20 January 2027.",
        "*QA-2027-01-001* — please complete your self-assessment by Wednesday 20 January 2027, before the audit "
        "meeting on 21 Jan 2027, 14:00. It's a grade and a few lines for each area of practice, and three short "
        "questions about the child and your work.",
        "*QA-2027-01-003* — the moderation is due 22 Jan 2027, 17:30.",
        "*QA-2027-01-001* — your action was due Tuesday 19 January 2027 and is overdue.",
    ]
    assert _buttons(wednesday) == [
        ("allocation_accept", str(accept_id)),
        ("allocation_decline", str(accept_id)),
        ("self_assessment_open", str(audit_id)),
        ("moderation_open", str(moderation_id)),
        ("action_done_open", str(action_id)),
    ]
    snoozable = [b["block_id"] for b in wednesday.args["blocks"] if "accessory" in b]
    assert [block_id.split(":")[1] for block_id in snoozable] == ["action"]

    # A restart the same day: the new process sends her nothing more.
    rt.close()
    again = Runtime.build(settings, timeout=3)
    again.dispatcher.pace = timedelta(0)
    try:
        for moment in (_at(2027, 1, 20, 9, 5), _at(2027, 1, 20, 15)):
            _tick(again, moment)
        assert standin.posted("U0PRAC")[before:] == [wednesday]

        # Thursday: the self-assessment (the meeting is today) and the moderation (daily) come again, once; the
        # allocation was reminded once (the QA team is told on Friday) and the action's next is in 5 working days.
        for moment in (_at(2027, 1, 21), _at(2027, 1, 21), _at(2027, 1, 21, 12)):
            _tick(again, moment)
        [_, thursday] = standin.posted("U0PRAC")[before:]
        assert _items(thursday) == [
            "*QA-2027-01-001* — your self-assessment isn't done yet, and the audit meeting is today (21 Jan 2027, "
            "14:00). If you can, please complete it before you meet.",
            "*QA-2027-01-003* — the moderation is due 22 Jan 2027, 17:30.",
        ]
        assert thursday.args["text"] == "Your reminders for Thursday 21 January 2027: 2 things need you."
    finally:
        again.close()
    with rt.database.unit_of_work() as db:
        sent = db.scalars(select(Event).where(Event.kind == "reminder.sent").order_by(Event.id)).all()
        assert [(e.detail["item"], e.detail["key"].split(":")[-1]) for e in sent] == [
            ("accept", "2027-01-20"),
            ("self_assessment", "2027-01-20"),
            ("moderation", "2027-01-20"),
            ("overdue", "2027-01-20"),
            ("self_assessment", "2027-01-21"),
            ("moderation", "2027-01-21"),
        ]


def test_an_allocation_answered_from_the_digest_loses_its_buttons_there(rt, standin, slack, world):
    with freeze_time(_at(2027, 1, 4, 9, 30)), rt.database.unit_of_work() as db:
        case, amira = db.get(Case, world.case_id), db.get(Person, world.people["amira"])
        audit_id = allocation.allocate(db, rt.calendar, rt.settings, case, amira, "2027-01").id
    _tick(rt, _at(2027, 1, 6))
    [digest] = _digests(standin, "U0AUD")
    assert _buttons(digest) == [("allocation_accept", str(audit_id)), ("allocation_decline", str(audit_id))]
    with freeze_time(_at(2027, 1, 6, 10)):
        slack.block_action("U0AUD", "allocation_accept", str(audit_id))
        rt.dispatcher.drain()
    shown = standin.message(digest.response["ts"])
    assert [b for b in shown["blocks"] if b["type"] == "actions"] == []
    assert "accepted by Amira" in shown["blocks"][1]["text"]["text"]
