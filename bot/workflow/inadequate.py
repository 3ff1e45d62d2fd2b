"""The Inadequate pathway (QAF: "Inadequate Audit", "Audits inadequate for a second time"). When moderation (or a
dispute decision) leaves an audit Inadequate, the case is re-audited three months on, and again until it is no
longer Inadequate. What happens depends on how far along that cycle the case is:

- first time: the Service Manager and Head of Service hold a Reflective Practice & Action Meeting;
- at the re-audit: the AD Safeguarding, Quality & Practice escalates to the Assistant Director responsible, and the
  Head of Service and Service Manager are tasked to resolve it;
- at any follow-up after that: a final escalation to the Executive Director.

Each step is a task asked of named people (frozen when it is set), reminded in their digests until it is done."""

from __future__ import annotations

from datetime import date, datetime
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import months, outbox
from bot.calendar import Calendar, now
from bot.config import Settings
from bot.workflow import trail
from bot.workflow.audit_people import in_line
from bot.workflow.directory import everyone_with
from bot.workflow.forms import load_form
from bot.workflow.reminders import Reminder
from store.models import Audit, PathwayTask, Person

ESCALATE_WITHIN = 2  # working days for the AD Safeguarding to escalate
RESOLVE_WITHIN = 20  # working days for the Head of Service and Service Manager to resolve
ACKNOWLEDGE_WITHIN = 5  # working days for the Executive Director to acknowledge
REMIND_EVERY = 5  # working days between reminders of a task not done


def _is_inadequate(audit: Audit, grade: str | None) -> bool:
    return grade is not None and grade == load_form(audit.kind).scale.worst


def settle(db: Session, cal: Calendar, settings: Settings, audit: Audit, grade: str | None, *, by: Person) -> None:
    """The audit's overall grade is settled (moderated, or decided on dispute): start the pathway for an
    Inadequate grade, withdraw it when a dispute lifts the grade, and end the re-audit cycle when a re-audit is
    no longer Inadequate. Safe to call again with the same grade (an upheld dispute)."""
    tasks = list(db.scalars(select(PathwayTask).where(PathwayTask.audit_id == audit.id).order_by(PathwayTask.id)))
    if _is_inadequate(audit, grade):
        if not tasks:
            _start(db, cal, settings, audit, by)
        return
    case = audit.case
    # The re-audit this audit was due for (as a re-audit) or set up (when it was Inadequate) is no longer needed.
    ended = case.reaudit_due is not None and case.reaudit_due in (audit.month, _next_reaudit(settings, audit))
    if ended:
        case.reaudit_due = None
    pending = [t for t in tasks if t.status == "pending"]
    if tasks and (pending or ended):
        _withdraw(db, settings, audit, pending, grade, by)
    if audit.cycle >= 1 and (ended or pending):
        _end_cycle(db, settings, audit, grade, by)


def _next_reaudit(settings: Settings, audit: Audit) -> str:
    return months.shift(audit.month, settings.framework.reaudit_after_months)


def reachable(person: Person | None) -> bool:
    return person is not None and person.active and bool(person.slack_user_id)


def _with_delegates(db: Session, people: list[Person | None]) -> list[Person]:
    """The people who can be asked, each followed by their delegate (acting up, leave cover)."""
    asked: dict[int, Person] = {}
    for person in people:
        if person is None:
            continue
        delegate = db.get(Person, person.delegate_id) if person.delegate_id else None
        for who in (person, delegate):
            if reachable(who):
                asked.setdefault(who.id, who)
    return list(asked.values())


def assistant_director(db: Session, audit: Audit) -> Person | None:
    """The Assistant Director responsible for the child: the one in the practitioner's line."""
    return in_line(audit, "assistant_director")


def _first_of_cycle(db: Session, audit: Audit) -> Audit:
    first = audit
    while first.reaudit_of_id is not None:
        first = db.get(Audit, first.reaudit_of_id)
    return first


def _start(db: Session, cal: Calendar, settings: Settings, audit: Audit, by: Person) -> None:
    fw = settings.framework
    today = cal.local(now()).date()
    audit.case.reaudit_due = _next_reaudit(settings, audit)
    sm, hos = in_line(audit, "service_manager"), in_line(audit, "head_of_service")
    if audit.cycle == 0:
        plan = [("reflective_meeting", [sm, hos], fw.reflective_meeting_within_days, {})]
    elif audit.cycle == 1:
        ad = assistant_director(db, audit)
        plan = [
            ("ad_escalation", everyone_with(db, "ad_safeguarding"), ESCALATE_WITHIN, {"ad_id": ad.id if ad else None}),
            ("resolution", [hos, sm], RESOLVE_WITHIN, {}),
        ]
    else:
        plan = [("executive", everyone_with(db, "executive_director"), ACKNOWLEDGE_WITHIN, {})]
    trail.record(
        db,
        "inadequate.confirmed",
        actor=by,
        subject=audit,
        cycle=audit.cycle,
        reaudit_due=audit.case.reaudit_due,
        tasks=[kind for kind, *_ in plan],
    )
    unasked = []
    for kind, people, within, detail in plan:
        asked = _with_delegates(db, people)
        due = cal.at(cal.add_working_days(today, within), cal.end)
        task = PathwayTask(
            audit_id=audit.id,
            kind=kind,
            asked=[p.id for p in asked],
            status="pending",
            created_at=now(),
            due_at=due,
            next_reminder_at=cal.at(cal.local(due).date(), fw.reminder_time),
            detail=detail,
        )
        db.add(task)
        db.flush()
        trail.record(db, f"inadequate.{kind}_asked", subject=audit, task_id=task.id, asked=task.asked)
        if not asked:
            unasked.append(kind)
        ctx = task_context(db, settings, audit, task)
        for person in asked:
            outbox.enqueue(db, ask_key(task, person), person.slack_user_id, "inadequate_task", ctx)
    if audit.cycle >= 2:
        tell_others(db, audit, "final", everyone_with(db, "ad_safeguarding") + [assistant_director(db, audit)])
    if settings.qa_channel:
        outbox.enqueue(
            db,
            f"inadequate:{audit.id}:confirmed",
            settings.qa_channel,
            "inadequate_qa",
            {
                "kind": "confirmed",
                "qa_ref": audit.qa_ref,
                "cycle": audit.cycle,
                "tasks": [kind for kind, *_ in plan],
                "unasked": unasked,
                "reaudit": months.words(audit.case.reaudit_due),
            },
        )


def ask_key(task: PathwayTask, person: Person) -> str:
    return f"inadequate:task:{task.id}:ask:{person.id}"


def task_context(db: Session, settings: Settings, audit: Audit, task: PathwayTask) -> dict[str, Any]:
    first = _first_of_cycle(db, audit)
    ad = db.get(Person, task.detail["ad_id"]) if task.detail.get("ad_id") else None
    done_by = db.get(Person, task.done_by_id) if task.done_by_id else None
    resolvers = [in_line(audit, "head_of_service"), in_line(audit, "service_manager")]
    return {
        "task_id": task.id,
        "kind": task.kind,
        "qa_ref": audit.qa_ref,
        "first_ref": first.qa_ref if first.id != audit.id else None,
        "cycle": audit.cycle,
        "due": task.due_at,
        "reaudit": months.words(audit.case.reaudit_due) if audit.case.reaudit_due else None,
        "ad": ad.name if ad else None,
        "resolvers": [p.name for p in resolvers if p is not None],
        "status": task.status,
        "done_by": done_by.name if done_by else None,
        "done_at": task.done_at,
        "held_on": date.fromisoformat(task.detail["held_on"]) if task.detail.get("held_on") else None,
        "withdrawn_grade": task.detail.get("withdrawn_grade"),
    }


def tell_others(db: Session, audit: Audit, kind: str, people: list[Person | None], **extra: Any) -> None:
    """An FYI in a DM (no button) to the people concerned with a step, once each."""
    ctx = {"kind": kind, "qa_ref": audit.qa_ref, **extra}
    for person in {p.id: p for p in people if reachable(p)}.values():
        outbox.enqueue(db, f"inadequate:{audit.id}:{kind}:{person.id}", person.slack_user_id, "inadequate_notice", ctx)


def refresh_messages(db: Session, settings: Settings, audit: Audit, task: PathwayTask) -> None:
    """Every asked person's message is updated in place: who did it and when, the buttons gone."""
    ctx = task_context(db, settings, audit, task)
    for person_id in task.asked:
        person = db.get(Person, person_id)
        key = ask_key(task, person)
        outbox.enqueue_update(db, f"{key}:{task.status}", key, "inadequate_task", ctx)


# ----- a dispute lifts the grade, or a re-audit is no longer Inadequate ----------------------------------------


def _withdraw(
    db: Session, settings: Settings, audit: Audit, tasks: list[PathwayTask], grade: str | None, by: Person
) -> None:
    for task in tasks:
        task.status = "withdrawn"
        task.detail = task.detail | {"withdrawn_grade": grade}
        refresh_messages(db, settings, audit, task)
    trail.record(db, "inadequate.withdrawn", actor=by, subject=audit, grade=grade, withdrawn=[t.id for t in tasks])
    if settings.qa_channel:
        outbox.enqueue(
            db,
            f"inadequate:{audit.id}:withdrawn",
            settings.qa_channel,
            "inadequate_qa",
            {"kind": "withdrawn", "qa_ref": audit.qa_ref, "grade": grade},
        )


def _end_cycle(db: Session, settings: Settings, audit: Audit, grade: str | None, by: Person) -> None:
    """A re-audit or follow-up that is no longer Inadequate takes the case off the re-audit cycle."""
    first = _first_of_cycle(db, audit)
    trail.record(db, "inadequate.cycle_ended", actor=by, subject=audit, grade=grade, first_ref=first.qa_ref)
    asked = db.scalars(
        select(PathwayTask.asked).join(Audit, Audit.id == PathwayTask.audit_id).where(Audit.case_id == audit.case_id)
    ).all()
    concerned = {pid for ids in asked for pid in ids}
    people = [db.get(Person, pid) for pid in sorted(concerned)]
    people += [in_line(audit, "service_manager"), in_line(audit, "head_of_service")]
    tell_others(db, audit, "cycle_ended", people, grade=grade, first_ref=first.qa_ref)
    if settings.qa_channel:
        outbox.enqueue(
            db,
            f"inadequate:{audit.id}:cycle_ended",
            settings.qa_channel,
            "inadequate_qa",
            {"kind": "cycle_ended", "qa_ref": audit.qa_ref, "grade": grade, "first_ref": first.qa_ref},
        )


# ----- the clock --------------------------------------------------------------------------------------------------


def due_reminders(db: Session, cal: Calendar, settings: Settings, moment: datetime) -> list[Reminder]:
    """For the digests: a task not done by its due date (its stored next_reminder_at) is reminded to the people asked,
    then every five working days. The QA team gets one list a day of the overdue ones among them, by QA reference,
    as they come due."""
    today = cal.local(moment).date()
    due = db.scalars(
        select(PathwayTask)
        .where(PathwayTask.status == "pending", PathwayTask.next_reminder_at <= moment)
        .order_by(PathwayTask.due_at, PathwayTask.id)
    ).all()
    found, late = [], []
    for task in due:
        audit = db.get(Audit, task.audit_id)
        item = task_context(db, settings, audit, task) | {
            "kind": "pathway",
            "id": task.id,
            "step": task.kind,
            "overdue": task.due_at <= moment,
        }
        asked = [db.get(Person, person_id) for person_id in task.asked]
        found.append(Reminder(item, asked, audit, partial(_reminded, db, cal, settings, audit, task)))
        if task.due_at <= moment:
            late.append({"qa_ref": audit.qa_ref, "kind": task.kind, "due": task.due_at})
    if late and settings.qa_channel:
        outbox.enqueue(
            db,
            f"inadequate:late:{today.isoformat()}",
            settings.qa_channel,
            "inadequate_qa",
            {"kind": "late", "items": late},
        )
    return found


def _reminded(
    db: Session, cal: Calendar, settings: Settings, audit: Audit, task: PathwayTask, moment: datetime
) -> None:
    today = cal.local(moment).date()
    task.next_reminder_at = cal.at(cal.add_working_days(today, REMIND_EVERY), settings.framework.reminder_time)
    trail.record(db, "inadequate.reminded", subject=audit, task_id=task.id, step=task.kind)
