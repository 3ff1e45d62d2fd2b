"""The people the Inadequate pathway asks act on its steps: record the Reflective Practice & Action Meeting or the
resolution (a form), escalate to the Assistant Director responsible, acknowledge the final escalation. Only the
people asked (or their delegates) may; each step is done once."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import outbox
from bot.calendar import Calendar, now
from bot.config import Settings
from bot.workflow import guard, inadequate, trail
from bot.workflow.audit_people import in_line
from bot.workflow.directory import by_slack_id, everyone_with
from bot.workflow.outcome import Outcome, refused
from store.models import Audit, PathwayTask, Person

ATTENDEES = ("practitioner", "team_manager", "auditor", "service_manager", "head_of_service")
NOTE_LIMIT = 2900


def _asked(db: Session, task_id: int, slack_user_id: str, action: str) -> tuple[Person, PathwayTask, Audit] | Outcome:
    """The person, task and audit when `slack_user_id` was asked (or covers for someone who was) and it is pending."""
    person = by_slack_id(db, slack_user_id)
    task = db.get(PathwayTask, task_id)
    audit = db.get(Audit, task.audit_id) if task else None
    if person is None or task is None or audit is None:
        trail.record(db, f"refused.{action}", actor_slack_id=slack_user_id, subject=audit, reason="unknown")
        return refused("unknown")
    covering = db.scalars(select(Person.id).where(Person.delegate_id == person.id)).all()
    if person.id not in task.asked and not set(covering) & set(task.asked):
        trail.record(db, f"refused.{action}", actor=person, subject=audit, reason="not asked", task_id=task.id)
        return refused("pathway_not_asked", qa_ref=audit.qa_ref)
    if task.status != "pending":
        return _already(db, task, audit)
    return person, task, audit


def _already(db: Session, task: PathwayTask, audit: Audit) -> Outcome:
    if task.status == "withdrawn":
        return refused("pathway_withdrawn", qa_ref=audit.qa_ref, grade=task.detail.get("withdrawn_grade"))
    done_by = db.get(Person, task.done_by_id) if task.done_by_id else None
    return refused("pathway_done", qa_ref=audit.qa_ref, by=done_by.name if done_by else "someone", at=task.done_at)


def form_context(db: Session, task_id: int, slack_user_id: str) -> Outcome:
    """What the meeting (or resolution) form shows."""
    found = _asked(db, task_id, slack_user_id, "pathway_open")
    if isinstance(found, Outcome):
        return found
    _, task, audit = found
    if task.kind not in ("reflective_meeting", "resolution"):
        return refused("unknown")
    return Outcome(
        ok=True,
        detail={"task_id": task.id, "kind": task.kind, "qa_ref": audit.qa_ref, "attendees": list(ATTENDEES)},
    )


def record(
    db: Session,
    cal: Calendar,
    settings: Settings,
    task_id: int,
    slack_user_id: str,
    held_on: date | None,
    attendees: set[str],
    note: str | None,
) -> Outcome:
    """The Reflective Practice & Action Meeting was held (when, who came, what was agreed), or the Head of Service
    or Service Manager records how the twice-Inadequate case was resolved. Refusals name the field."""
    found = _asked(db, task_id, slack_user_id, "pathway_record")
    if isinstance(found, Outcome):
        return found
    person, task, audit = found
    note = (note or "").strip() or None
    detail: dict[str, Any] = {}
    if task.kind == "reflective_meeting":
        if held_on is None:
            return refused("pathway_held_on_needed", field="held_on")
        if held_on > cal.local(now()).date():
            return refused("pathway_held_on_future", field="held_on")
        if held_on < cal.local(task.created_at).date():
            return refused("pathway_held_on_before", field="held_on", at=task.created_at)
        detail = {"held_on": held_on, "attendees": [r for r in ATTENDEES if r in attendees]}
    elif task.kind == "resolution":
        if not note:
            return refused("pathway_note_needed", field="note")
    else:
        return refused("unknown")
    if note and len(note) > NOTE_LIMIT:
        return refused("pathway_note_too_long", field="note", limit=NOTE_LIMIT)
    if note and (problem := guard.check(db, {"note": note})):
        return problem
    return _complete(db, settings, person, task, audit, detail | ({"note": note} if note else {}))


def escalate(db: Session, cal: Calendar, settings: Settings, task_id: int, slack_user_id: str) -> Outcome:
    """The AD Safeguarding, Quality & Practice escalates the twice-Inadequate case to the AD responsible."""
    return _one_click(db, settings, task_id, slack_user_id, "ad_escalation")


def acknowledge(db: Session, cal: Calendar, settings: Settings, task_id: int, slack_user_id: str) -> Outcome:
    """The Executive Director acknowledges the final escalation."""
    return _one_click(db, settings, task_id, slack_user_id, "executive")


def _one_click(db: Session, settings: Settings, task_id: int, slack_user_id: str, kind: str) -> Outcome:
    found = _asked(db, task_id, slack_user_id, f"pathway_{kind}")
    if isinstance(found, Outcome):
        return found
    person, task, audit = found
    if task.kind != kind:
        return refused("unknown")
    return _complete(db, settings, person, task, audit, {})


def _complete(
    db: Session, settings: Settings, person: Person, task: PathwayTask, audit: Audit, detail: dict[str, Any]
) -> Outcome:
    # One conditional UPDATE: of two people asked clicking at once, only one records it.
    moment = now()
    won = db.execute(
        update(PathwayTask)
        .where(PathwayTask.id == task.id, PathwayTask.status == "pending")
        .values(status="done", done_at=moment, done_by_id=person.id, detail=task.detail | _stored(detail))
    ).rowcount
    db.refresh(task)
    if not won:
        return _already(db, task, audit)
    trail.record(db, f"inadequate.{task.kind}_done", actor=person, subject=audit, task_id=task.id, **_stored(detail))
    inadequate.refresh_messages(db, settings, audit, task)
    if task.kind == "ad_escalation":
        ad = db.get(Person, task.detail["ad_id"]) if task.detail.get("ad_id") else None
        resolvers = [in_line(audit, "head_of_service"), in_line(audit, "service_manager")]
        inadequate.tell_others(
            db, audit, "escalated_to_you", [ad], by=person.name, resolvers=[p.name for p in resolvers if p]
        )
    elif task.kind == "resolution":
        ad = inadequate.assistant_director(db, audit)
        inadequate.tell_others(
            db, audit, "resolved", everyone_with(db, "ad_safeguarding") + [ad], by=person.name, note=detail["note"]
        )
    if settings.qa_channel:
        outbox.enqueue(
            db,
            f"inadequate:task:{task.id}:done",
            settings.qa_channel,
            "inadequate_qa",
            {"kind": f"{task.kind}_done", "qa_ref": audit.qa_ref, "held_on": detail.get("held_on")},
        )
    return Outcome(ok=True, detail={"qa_ref": audit.qa_ref})


def _stored(detail: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in detail.items()}
