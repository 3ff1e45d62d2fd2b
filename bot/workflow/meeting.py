"""Step 1, continued: the auditor records the collaborative meeting; the people attending are told, and
reminded in their digest the working day before."""

from __future__ import annotations

from datetime import date, datetime, time
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import outbox
from bot.calendar import Calendar, now
from bot.config import Settings
from bot.workflow import audit_people, self_assessment, trail
from bot.workflow.allocation import CRO_CATEGORIES
from bot.workflow.directory import by_slack_id
from bot.workflow.outcome import DONE, Outcome, refused
from bot.workflow.reminders import Reminder
from store.models import Audit, Person

OPEN = ("accepted", "in_progress")


def form_context(db: Session, cal: Calendar, audit_id: int, slack_user_id: str) -> Outcome:
    """What the meeting form needs; only the allocated auditor of an accepted audit may record a meeting."""
    found = audit_people.require(db, audit_id, slack_user_id, "auditor", "meeting_open")
    if isinstance(found, Outcome):
        return found
    _, audit = found
    if audit.status not in OPEN:
        return refused("meeting_not_open", qa_ref=audit.qa_ref, status=audit.status)
    current = cal.local(audit.meeting_at) if audit.meeting_at else None
    return Outcome(
        ok=True,
        detail={
            "qa_ref": audit.qa_ref,
            "audit_id": audit.id,
            "practitioner": audit.practitioner.name if audit.practitioner else None,
            "team_manager": audit.team_manager.name if audit.team_manager else None,
            "cro_required": audit.category in CRO_CATEGORIES,
            "day": current.date() if current else None,
            "at_time": current.strftime("%H:%M") if current else None,
            "attending": [a["role"] for a in audit.meeting_attendees],
        },
    )


def record(
    db: Session,
    cal: Calendar,
    settings: Settings,
    audit_id: int,
    slack_user_id: str,
    day: date,
    at: time,
    roles: set[str],
    others: list[str],
) -> Outcome:
    """Record (or move) the meeting. Refusals name the form field to show them on."""
    found = audit_people.require(db, audit_id, slack_user_id, "auditor", "meeting_record")
    if isinstance(found, Outcome):
        return found
    auditor, audit = found
    if audit.status not in OPEN:
        return refused("meeting_not_open", qa_ref=audit.qa_ref, status=audit.status)
    when = cal.at(day, at)
    if when <= now():
        return refused("meeting_in_past", field="when_day")
    if not cal.is_working_day(day):
        return refused("meeting_not_working_day", field="when_day", day=day)
    if audit.due_at and when > audit.due_at:
        return refused("meeting_after_due", field="when_day", due=cal.local(audit.due_at).date())
    extra = []
    for slack_id in others:
        person = by_slack_id(db, slack_id)
        if person is None:
            return refused("meeting_unknown_person", field="others")
        extra.append(person)

    people: dict[int, tuple[str, Person]] = {}
    if "practitioner" in roles and audit.practitioner:
        people[audit.practitioner.id] = ("practitioner", audit.practitioner)
    if "team_manager" in roles and audit.team_manager:
        people[audit.team_manager.id] = ("team_manager", audit.team_manager)
    for person in extra:
        people.setdefault(person.id, ("other", person))
    attendees = [{"role": role, "person_id": person.id} for role, person in people.values()]
    if "cro" in roles:
        attendees.append({"role": "cro"})
    cro_missing = audit.category in CRO_CATEGORIES and "cro" not in roles

    moved = audit.meeting_at is not None
    audit.meeting_at, audit.meeting_attendees, audit.status = when, attendees, "in_progress"
    day_before = cal.add_working_days(day, -1)
    reminder = cal.at(day_before, settings.framework.reminder_time)
    audit.meeting_reminder_at = max(reminder, now()) if day_before >= cal.local(now()).date() else None
    if audit.self_assessment is None:
        due = self_assessment.due_day(cal, settings.framework, when)
        audit.self_assessment_reminder_at = max(cal.at(due, settings.framework.reminder_time), now())
    trail.record(
        db,
        "audit.meeting_moved" if moved else "audit.meeting_arranged",
        actor=auditor,
        subject=audit,
        at=when.isoformat(),
        attendees=attendees,
        cro_missing=cro_missing,
    )
    names = [p.name for _, p in people.values()] + (["a Conference & Reviewing Officer"] if "cro" in roles else [])
    stamp = when.isoformat()
    for role, person in people.values():
        if person.slack_user_id:
            outbox.enqueue(
                db,
                f"meeting:{audit.id}:{stamp}:{person.id}",
                person.slack_user_id,
                "meeting_arranged",
                {
                    "qa_ref": audit.qa_ref,
                    "audit_id": audit.id,
                    "when": when,
                    "auditor": auditor.name,
                    "moved": moved,
                    "self_assessment_needed": role == "practitioner" and audit.self_assessment is None,
                },
            )
    outbox.enqueue(
        db,
        f"meeting:{audit.id}:{stamp}:recorded",
        auditor.slack_user_id,
        "meeting_recorded",
        {"qa_ref": audit.qa_ref, "audit_id": audit.id, "when": when, "attendees": names, "cro_missing": cro_missing},
    )
    return DONE


def due_reminders(db: Session, cal: Calendar, moment: datetime) -> list[Reminder]:
    """For the digests: the working day before a meeting (its stored meeting_reminder_at), everyone attending (the
    auditor too) is reminded once. A meeting that has passed before its reminder could go is not reminded."""
    due = db.scalars(
        select(Audit)
        .where(Audit.meeting_reminder_at <= moment, Audit.status == "in_progress")
        .order_by(Audit.meeting_reminder_at, Audit.id)
    ).all()
    found = []
    for audit in due:
        if audit.meeting_at <= moment:
            audit.meeting_reminder_at = None
            continue
        ids = [a["person_id"] for a in audit.meeting_attendees if "person_id" in a] + [audit.auditor_id]
        people = db.scalars(select(Person).where(Person.id.in_(ids)).order_by(Person.id)).all()
        item = {"kind": "meeting", "id": audit.id, "qa_ref": audit.qa_ref, "when": audit.meeting_at}
        found.append(Reminder(item, list(people), audit, partial(_reminded, db, audit)))
    return found


def _reminded(db: Session, audit: Audit, moment: datetime) -> None:
    audit.meeting_reminder_at = None
    trail.record(db, "audit.meeting_reminded", subject=audit)
