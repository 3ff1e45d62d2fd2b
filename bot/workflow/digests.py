"""Reminders as digests (DESIGN: "several reminders due to one person on one day arrive as one digest message").

Each action keeps its next reminder in a stored, indexed column (`next_reminder_at`), and each audit with actions
its next supervision reminder (`supervision_due_at`, see supervision.py), so whether something is due is a query:
a restart neither skips nor repeats a reminder. An open action's reminder points, each at `reminder_time` on a
working day, are:

- `action_reminder_days_before` working days before its due date;
- the due date (the next working day when that is not one);
- the first working day after it (overdue);
- then every `action_reminder_every_days` working days while it is still open (0: only the once).

An action marked done waits for its team manager's sign-off: it is listed for them on the first working day after,
then at the same interval until it is signed off.

`send_digests` runs on working days, in working hours, from `reminder_time`: each person with anything due gets ONE
message listing it all, under a key per person per local date, so a second run or a restart sends nothing twice.
Besides their actions (and, for a team manager, the actions awaiting their sign-off and the audits to discuss in
supervision), every other reminder to a person is an item of it, each source keeping its own rule of when, in its
own columns (see reminders.py): an allocation to accept (allocation.py), a meeting the next working day
(meeting.py), a self-assessment missing (self_assessment.py), a moderation due (moderation.py), a step of the
Inadequate pathway not done (inadequate.py), a thematic audit's close-the-loop check for its sponsor (thematic.py),
a thematic audit's deadlines for its auditor and its lead (thematic_due.py); each item carries the buttons that
answer it. Once the digest is queued each item's source is stamped and moved on to its next point. Anything due
on a weekend or bank holiday, or after that day's digest went (to anyone it is for), waits for the next working
day's digest.

An action or a supervision reminder can be snoozed by its recipient until one of the next `SNOOZE_AT_MOST` working
days (two clicks: the list, the day): it leaves the digests until then, and the digest message shows it snoozed.
Other items cannot (see SNOOZABLE)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot import outbox
from bot.calendar import Calendar, now
from bot.config import Settings
from bot.workflow import (
    allocation,
    inadequate,
    meeting,
    moderation,
    reminders,
    self_assessment,
    supervision,
    thematic,
    thematic_due,
    trail,
)
from bot.workflow.directory import by_slack_id
from bot.workflow.outcome import DONE, Outcome, refused
from bot.workflow.reminders import Reminder, digest_key, reachable
from store import bulk, reads
from store.models import Action, Audit, OutboxMessage, Person

WAITING = ("open", "done")  # open: the owner's to do; done: the team manager's to sign off
SNOOZE_AT_MOST = 10  # working days: a snooze is a pause, not a way to stop hearing about it
# The Inadequate pathway's steps first, then what is asked by a date (an allocation to accept, a meeting, a
# self-assessment, a moderation), then own actions, most urgent first; then what the team manager is asked for.
ORDER = (
    "pathway",
    "loop_check",
    "theme_overdue",
    "theme_report",
    "accept",
    "theme_audit",
    "meeting",
    "self_assessment",
    "moderation",
    "overdue",
    "due_today",
    "due_soon",
    "sign_off",
    "supervision",
)
# What may be snoozed, by the kind of row it is. The rest may not: an allocation is answered by its own buttons
# and reminded once; a meeting's reminder and a self-assessment's two are fixed to the meeting's day; a moderation
# is reminded only in the last two working days before its deadline; a pathway step is shared by everyone asked.
SNOOZABLE = {"action": ("overdue", "due_today", "due_soon", "sign_off"), "audit": ("supervision",)}


# ----- when an action is reminded -----------------------------------------------------------------------------------


def _points(cal: Calendar, settings: Settings, action: Action) -> Iterator[datetime]:
    """The action's reminder points in time order (endless while they repeat); none once it is signed off."""
    fw = settings.framework

    def at(day: date) -> datetime:
        return cal.at(day, fw.reminder_time)

    def every(day: date) -> Iterator[datetime]:
        while True:
            yield at(day)
            if fw.action_reminder_every_days <= 0:
                return
            day = cal.add_working_days(day, fw.action_reminder_every_days)

    if action.status == "open":
        due = cal.local(action.due_at).date()
        if fw.action_reminder_days_before > 0:
            yield at(cal.add_working_days(due, -fw.action_reminder_days_before))
        yield at(due if cal.is_working_day(due) else cal.next_working_day(due))
        yield from every(cal.next_working_day(due))
    elif action.status == "done":
        yield from every(cal.next_working_day(cal.local(action.done_at or now()).date()))


def next_point(cal: Calendar, settings: Settings, action: Action, after: datetime) -> datetime | None:
    """The action's first reminder point after `after`, or None when it has no more."""
    return next((point for point in _points(cal, settings, action) if point > after), None)


def schedule_action(cal: Calendar, settings: Settings, action: Action) -> None:
    """Set the action's next reminder from its status and dates, as of now: for an open action, N working days
    before it is due at `reminder_time` (or, when that has passed, the next of: the due date, the first working day
    after it, then every `action_reminder_every_days` working days); for one done, its sign-off reminders; none once
    signed off. Call it whenever an action is created, extended, marked done or reopened. A new schedule replaces
    any snooze."""
    action.snoozed_until = None
    action.next_reminder_at = next_point(cal, settings, action, now())


def recipient(db: Session, action: Action) -> Person | None:
    """Whose the action's reminder is: the owner while it is open, the audit's team manager once it is done."""
    if action.status == "open":
        return db.get(Person, action.owner_id)
    if action.status == "done":
        return db.get(Audit, action.audit_id).team_manager
    return None


# ----- the sweep ----------------------------------------------------------------------------------------------------


def send_digests(db: Session, cal: Calendar, settings: Settings) -> int:
    """On working days, in working hours, from `reminder_time`: one digest to each person with anything due, then
    each item's source stamped and moved on to its next reminder. Returns the digests queued."""
    moment = now()
    wall = cal.local(moment)
    if not cal.in_working_hours(moment) or wall.time() < settings.framework.reminder_time:
        return 0
    today = wall.date()
    snooze_days = [cal.add_working_days(today, n) for n in range(1, SNOOZE_AT_MOST + 1)]
    _tidy(db, moment)
    stamps: dict[int, datetime | None] = {}  # each action reminded: its next point, written once all are queued
    due = [
        *_actions_due(db, cal, settings, moment, stamps),
        *_supervision_due(db, cal, settings, moment),
        *allocation.due_reminders(db, cal, settings, moment),
        *meeting.due_reminders(db, cal, moment),
        *self_assessment.due_reminders(db, cal, settings, moment),
        *moderation.due_reminders(db, cal, moment),
        *inadequate.due_reminders(db, cal, settings, moment),
        *thematic.due_reminders(db, cal, settings, moment),
        *thematic_due.due_reminders(db, cal, settings, moment),
    ]
    everyone = {p.id: p for reminder in due for p in reminder.to if reachable(p)}
    keys = {digest_key(p, today) for p in everyone.values()}
    gone = set(db.scalars(select(OutboxMessage.key).where(OutboxMessage.key.in_(keys)))) if keys else set()

    listed: dict[int, list[Reminder]] = {}
    going: list[Reminder] = []
    for reminder in due:
        people = {p.id: p for p in reminder.to if reachable(p)}
        if any(digest_key(p, today) in gone for p in people.values()):
            continue  # someone's digest went already today: it waits, for all it is to, for the next working day's
        if not people:  # nobody to tell (left, or not on Slack): moved on all the same, so it is not looked at again
            reminder.sent(moment)
            trail.record(
                db,
                "reminder.unreachable",
                subject=reminder.subject,
                item=reminder.item["kind"],
                item_id=reminder.item["id"],
            )
            continue
        going.append(reminder)
        for person_id in people:
            listed.setdefault(person_id, []).append(reminder)

    messages, events = [], []
    for person_id in sorted(listed):
        person = everyone[person_id]
        theirs = sorted(listed[person_id], key=lambda r: ORDER.index(r.item["kind"]))
        key = digest_key(person, today)
        ctx = {"on": today, "items": [r.item for r in theirs], "snooze_days": snooze_days}
        messages.append(outbox.message(key, person.slack_user_id, "action_digest", ctx))
        events += [
            ("reminder.sent", r.subject, {"item": r.item["kind"], "item_id": r.item["id"], "to": person.id, "key": key})
            for r in theirs
        ]
    outbox.enqueue_many(db, messages)
    trail.record_many(db, events)
    for reminder in going:
        reminder.sent(moment)
    _stamp(db, moment, stamps)
    return len(listed)


def _tidy(db: Session, moment: datetime) -> None:
    """Past-due points that are not to be sent, so the sweep's query finds only what is due: a signed-off action
    has no more reminders, and a snoozed one comes back when its snooze ends."""
    db.execute(
        update(Action)
        .where(Action.next_reminder_at <= moment, Action.status.not_in(WAITING))
        .values(next_reminder_at=None)
        .execution_options(synchronize_session=False)
    )
    db.execute(
        update(Action)
        .where(Action.next_reminder_at <= moment, Action.snoozed_until > moment)
        .values(next_reminder_at=Action.snoozed_until)
        .execution_options(synchronize_session=False)
    )


def _actions_due(
    db: Session, cal: Calendar, settings: Settings, moment: datetime, stamps: dict[int, datetime | None]
) -> list[Reminder]:
    awake = or_(Action.snoozed_until.is_(None), Action.snoozed_until <= moment)
    # Plain rows, not ORM objects: the sweep only reads them (and stamps the actions with an UPDATE per next point).
    actions = db.execute(
        select(Action.id, Action.audit_id, Action.description, Action.owner_id, Action.status, Action.due_at)
        .add_columns(Action.done_at, Audit.qa_ref, Audit.team_manager_id)
        .join(Audit, Audit.id == Action.audit_id)
        .where(Action.next_reminder_at <= moment, Action.status.in_(WAITING), awake)
        .order_by(Action.due_at, Action.id)
    ).all()
    wanted = sorted({i for a in actions for i in (a.owner_id, a.team_manager_id) if i is not None})
    people = {}
    for start in range(0, len(wanted), reads.CHUNK):
        ids = wanted[start : start + reads.CHUNK]
        people |= {
            p.id: p
            for p in db.execute(
                select(Person.id, Person.name, Person.active, Person.slack_user_id).where(Person.id.in_(ids))
            )
        }
    audits = {a.audit_id: _Audit(a.audit_id) for a in actions}
    # Actions due together mostly share their dates: their next point is worked out once.
    nexts: dict[tuple[Any, ...], datetime | None] = {}

    def sent(action: Any) -> Callable[[datetime], None]:
        def stamp(moment: datetime) -> None:
            dates = (action.status, action.due_at, action.done_at)
            if dates not in nexts:
                nexts[dates] = next_point(cal, settings, action, moment)
            stamps[action.id] = nexts[dates]

        return stamp

    reminders = []
    for action in actions:
        owner = people.get(action.owner_id)
        to = owner if action.status == "open" else people.get(action.team_manager_id)
        reminders.append(
            Reminder(_action_item(cal, action, owner, moment), [to], audits[action.audit_id], sent(action))
        )
    return reminders


@dataclass(frozen=True)
class _Audit:
    """An action's audit as the trail names a subject, without loading the audit."""

    id: int
    __tablename__ = Audit.__tablename__


def _supervision_due(db: Session, cal: Calendar, settings: Settings, moment: datetime) -> list[Reminder]:
    return [
        Reminder(
            {
                "kind": "supervision",
                "id": audit.id,
                "qa_ref": audit.qa_ref,
                "snoozed_until": None,
                "open": count,
                "weeks": supervision.weeks(settings, audit),
            },
            [audit.team_manager],
            audit,
            partial(supervision.advance, cal, settings, audit),
        )
        for audit, count in supervision.due(db, moment)
    ]


def _stamp(db: Session, moment: datetime, stamps: dict[int, datetime | None]) -> None:
    """The actions reminded, stamped and moved on: an UPDATE per distinct next point (actions due together mostly
    share one), not one per action."""
    groups: dict[datetime | None, list[int]] = {}
    for action_id, point in stamps.items():
        groups.setdefault(point, []).append(action_id)
    for point, ids in groups.items():
        bulk.update_ids(db, Action, ids, last_reminded_at=moment, next_reminder_at=point)


def _action_item(cal: Calendar, action: Any, owner: Any, moment: datetime) -> dict[str, Any]:
    if action.status == "done":
        kind = "sign_off"
    elif action.due_at <= moment:
        kind = "overdue"
    elif cal.local(action.due_at).date() == cal.local(moment).date():
        kind = "due_today"
    else:
        kind = "due_soon"
    return {
        "kind": kind,
        "id": action.id,
        "qa_ref": action.qa_ref,
        "description": action.description,
        "due": action.due_at,
        "owner": owner.name if owner else None,
        "snoozed_until": None,
    }


def _audit_of(db: Session, row: Action | Audit) -> Audit:
    return row if isinstance(row, Audit) else db.get(Audit, row.audit_id)


# ----- snooze -------------------------------------------------------------------------------------------------------


def snooze(
    db: Session,
    cal: Calendar,
    settings: Settings,
    subject: str,
    item_id: int,
    sent_on: date,
    slack_user_id: str,
    until: date | None,
) -> Outcome:
    """The recipient of a digest's item snoozes it until a working day: it leaves the digests until then
    (`reminder_time` that day), and the digest sent on `sent_on` shows it snoozed. `subject` is "action" (an action,
    the owner's or awaiting sign-off) or "audit" (its supervision reminder). The digest offers only the next working
    days; a day chosen from an older digest, or a forged one, is checked all the same."""
    person = by_slack_id(db, slack_user_id)
    model = {"action": Action, "audit": Audit}.get(subject)
    row = db.get(model, item_id) if model else None
    if person is None or row is None:
        trail.record(db, "refused.digest_snooze", actor_slack_id=slack_user_id, reason="unknown", item_id=item_id)
        return refused("unknown")
    audit = _audit_of(db, row)

    def refuse(reason: str, why: str, **detail: Any) -> Outcome:
        trail.record(db, "refused.digest_snooze", actor=person, subject=audit, reason=why, item=subject, item_id=row.id)
        return refused(reason, qa_ref=audit.qa_ref, **detail)

    if isinstance(row, Action):
        waiting, holder = row.status in WAITING, recipient(db, row)
    else:
        waiting, holder = row.supervision_due_at is not None and supervision.unsettled(db, row) > 0, row.team_manager
    if not waiting:
        return refuse("snooze_nothing_due", "nothing waiting")
    if holder is None or holder.id != person.id:
        return refuse("snooze_not_yours", "not the recipient", name=holder.name if holder else "nobody")
    today = cal.local(now()).date()
    if until is None or until <= today:
        return refuse("snooze_date_past", "date not after today")
    if not cal.is_working_day(until):
        return refuse("snooze_date_not_working", "not a working day")
    if until > cal.add_working_days(today, SNOOZE_AT_MOST):
        return refuse("snooze_date_too_far", "too far", limit=SNOOZE_AT_MOST)
    back = cal.at(until, settings.framework.reminder_time)
    if isinstance(row, Action):
        row.snoozed_until = row.next_reminder_at = back
    else:
        row.supervision_due_at = back
    trail.record(
        db, "reminder.snoozed", actor=person, subject=audit, item=subject, item_id=row.id, until=back.isoformat()
    )
    kinds = SNOOZABLE["audit"] if isinstance(row, Audit) else SNOOZABLE["action"]
    reminders.show(
        db,
        digest_key(person, sent_on),
        kinds,
        row.id,
        f"snoozed:{subject}:{row.id}:{until.isoformat()}",
        snoozed_until=until,
    )
    return DONE
