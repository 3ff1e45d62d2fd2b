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
message listing it all (their own actions; for a team manager, the actions awaiting their sign-off and the audits
to discuss in supervision), under a key per person per local date, so a second run or a restart sends nothing
twice. Each item is then stamped and moved on to its next point. Anything due on a weekend or bank holiday, or
after that day's digest went, waits for the next working day's digest.

Each item can be snoozed by its recipient until one of the next `SNOOZE_AT_MOST` working days (two clicks: the list,
the day): it leaves the digests until then, and the digest message shows it snoozed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot import outbox
from bot.calendar import Calendar, now
from bot.config import Settings
from bot.workflow import supervision, trail
from bot.workflow.directory import by_slack_id
from bot.workflow.outcome import DONE, Outcome, refused
from store.models import Action, Audit, OutboxMessage, Person

WAITING = ("open", "done")  # open: the owner's to do; done: the team manager's to sign off
SNOOZE_AT_MOST = 10  # working days: a snooze is a pause, not a way to stop hearing about it
# Own actions first, most urgent first; then what the team manager is asked for.
ORDER = ("overdue", "due_today", "due_soon", "sign_off", "supervision")


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


def _reachable(person: Person | None) -> bool:
    return person is not None and person.active and bool(person.slack_user_id)


# ----- the sweep ----------------------------------------------------------------------------------------------------


def digest_key(person: Person, day: date) -> str:
    return f"digest:{person.id}:{day.isoformat()}"


def send_digests(db: Session, cal: Calendar, settings: Settings) -> int:
    """On working days, in working hours, from `reminder_time`: one digest to each person with anything due, then
    each item stamped and moved on to its next reminder. Returns the digests queued."""
    moment = now()
    wall = cal.local(moment)
    if not cal.in_working_hours(moment) or wall.time() < settings.framework.reminder_time:
        return 0
    today = wall.date()
    snooze_days = [cal.add_working_days(today, n) for n in range(1, SNOOZE_AT_MOST + 1)]
    _tidy(db, moment)
    due: dict[int, list[tuple[dict[str, Any], Any]]] = {}
    people: dict[int, Person] = {}

    def add(person: Person | None, item: dict[str, Any], row: Any) -> None:
        if _reachable(person):
            people[person.id] = person
            due.setdefault(person.id, []).append((item, row))
        else:  # nobody to tell (left, or not on Slack): moved on all the same, so it is not looked at again
            _move_on(cal, settings, row, moment)
            trail.record(db, "reminder.unreachable", subject=_audit_of(db, row), item=item["kind"], item_id=row.id)

    awake = or_(Action.snoozed_until.is_(None), Action.snoozed_until <= moment)
    for action in db.scalars(
        select(Action)
        .where(Action.next_reminder_at <= moment, Action.status.in_(WAITING), awake)
        .order_by(Action.due_at, Action.id)
    ).all():
        add(recipient(db, action), _action_item(db, cal, action, moment), action)
    for audit, count in supervision.due(db, moment):
        item = {"kind": "supervision", "id": audit.id, "qa_ref": audit.qa_ref, "snoozed_until": None}
        add(audit.team_manager, item | {"open": count, "weeks": supervision.weeks(settings, audit)}, audit)

    queued = 0
    for person_id in sorted(due):
        person, listed = people[person_id], sorted(due[person_id], key=lambda pair: ORDER.index(pair[0]["kind"]))
        key = digest_key(person, today)
        ctx = {"on": today, "items": [item for item, _ in listed], "snooze_days": snooze_days}
        if not outbox.enqueue(db, key, person.slack_user_id, "action_digest", ctx):
            continue  # today's digest has gone already: these wait, as they are, for the next working day's
        queued += 1
        for item, row in listed:
            if isinstance(row, Action):
                row.last_reminded_at = moment
            _move_on(cal, settings, row, moment)
            trail.record(
                db,
                "reminder.sent",
                subject=_audit_of(db, row),
                item=item["kind"],
                item_id=row.id,
                to=person.id,
                key=key,
            )
    return queued


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


def _action_item(db: Session, cal: Calendar, action: Action, moment: datetime) -> dict[str, Any]:
    audit = db.get(Audit, action.audit_id)
    if action.status == "done":
        kind = "sign_off"
    elif action.due_at <= moment:
        kind = "overdue"
    elif cal.local(action.due_at).date() == cal.local(moment).date():
        kind = "due_today"
    else:
        kind = "due_soon"
    owner = db.get(Person, action.owner_id)
    return {
        "kind": kind,
        "id": action.id,
        "qa_ref": audit.qa_ref,
        "description": action.description,
        "due": action.due_at,
        "owner": owner.name if owner else None,
        "snoozed_until": None,
    }


def _audit_of(db: Session, row: Action | Audit) -> Audit:
    return row if isinstance(row, Audit) else db.get(Audit, row.audit_id)


def _move_on(cal: Calendar, settings: Settings, row: Action | Audit, moment: datetime) -> None:
    if isinstance(row, Audit):
        supervision.advance(cal, settings, row, moment)
    else:
        row.next_reminder_at = next_point(cal, settings, row, moment)


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
    _show_snoozed(db, digest_key(person, sent_on), subject, row.id, until)
    return DONE


def _show_snoozed(db: Session, key: str, subject: str, item_id: int, to: date) -> None:
    """The digest message, as last shown, now with the item snoozed (and its Snooze controls gone)."""
    latest = db.scalar(
        select(OutboxMessage)
        .where(or_(OutboxMessage.key == key, OutboxMessage.updates_key == key))
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )
    if latest is None:
        return
    ctx = outbox.decode(latest.context)
    found = False
    for item in ctx["items"]:
        if ("audit" if item["kind"] == "supervision" else "action") == subject and item["id"] == item_id:
            item["snoozed_until"], found = to, True
    if found:
        outbox.enqueue_update(db, f"{key}:snoozed:{subject}:{item_id}:{to.isoformat()}", key, "action_digest", ctx)
