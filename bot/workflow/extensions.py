"""Extending a SMART action's due date (step 5; the QAF's Key Area 4). The audit's team manager may move it once,
to a later working day within 20 working days, with a reason, and it is moved at once; a second extension is asked
of the practitioner's Service Manager, who approves or refuses it; there is no third.

Each extension is a row (ActionExtension, one per number) and each decision one conditional UPDATE: of two clicks
one decides, and the other is told who did. The owner hears of a new date, the Service Manager's request shows their
decision in place, and the team manager's list (bot.workflow.actions) offers Extend only while it can still be
used. Granting one reschedules the action's reminders (bot.workflow.digests)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from bot import outbox
from bot.calendar import Calendar, now
from bot.config import Settings
from bot.workflow import actions, digests, guard, trail
from bot.workflow.audit_people import in_line
from bot.workflow.directory import by_slack_id
from bot.workflow.outcome import DONE, Outcome, refused
from store.models import Action, ActionExtension, Audit, Person
from store.writes import insert_once

EXTEND_AT_MOST = 20  # working days from today: SMART actions are due within four weeks, extended or not


# ----- the team manager's extension, or their request for a second --------------------------------------------------


def _cannot_extend(db: Session, action: Action, audit: Audit, **extra: Any) -> Outcome | None:
    if action.status == "done":
        return refused("action_extend_done", qa_ref=audit.qa_ref, **extra)
    if action.status != "open":
        return actions.settled(db, action, audit, **extra)
    second = actions.extension(db, action, 2)
    if second is not None and second.status == "requested":
        return refused(
            "action_extension_pending",
            qa_ref=audit.qa_ref,
            asked=actions.name_of(db, second.asked_id),
            at=second.requested_at,
            **extra,
        )
    if second is not None and second.status == "refused":
        return refused(
            "action_extension_refused",
            qa_ref=audit.qa_ref,
            by=actions.name_of(db, second.decided_by_id),
            at=second.decided_at,
            **extra,
        )
    if action.extensions >= actions.EXTENSIONS:
        return refused("action_extension_limit", qa_ref=audit.qa_ref, due=action.due_at, **extra)
    return None


def _latest(cal: Calendar) -> date:
    return cal.add_working_days(cal.local(now()).date(), EXTEND_AT_MOST)


def extend_form(db: Session, cal: Calendar, action_id: int, slack_user_id: str) -> Outcome:
    """What the Extend form shows: whether the team manager extends it, or asks the Service Manager."""
    found = actions.as_team_manager(db, action_id, slack_user_id, "action_extend", qa_admins=False)
    if isinstance(found, Outcome):
        return found
    _, action, audit = found
    if problem := _cannot_extend(db, action, audit):
        return problem
    return Outcome(
        ok=True,
        detail=actions.about(db, action, audit)
        | {
            "second": action.extensions >= 1,
            "service_manager": actions.name_of(db, actions.service_manager_id(audit)),
            "latest": _latest(cal),
        },
    )


def extend(
    db: Session,
    cal: Calendar,
    settings: Settings,
    action_id: int,
    slack_user_id: str,
    to: date | None,
    reason: str | None,
) -> Outcome:
    """A later due date, with a reason: the team manager's first extension is granted at once; a second is asked
    of the practitioner's Service Manager. Refusals name the field."""
    found = actions.as_team_manager(db, action_id, slack_user_id, "action_extend", qa_admins=False)
    if isinstance(found, Outcome):
        return found
    person, action, audit = found
    if problem := _cannot_extend(db, action, audit, field="to"):
        return problem
    latest = _latest(cal)
    reason = (reason or "").strip()
    errors = {}
    if problem := cal.new_date_problem(to, EXTEND_AT_MOST):
        errors["to"] = f"action_{problem}"
    elif cal.at(to, cal.end) <= action.due_at:
        errors["to"] = "action_date_not_later"
    if not reason:
        errors["reason"] = "action_extend_reason_needed"
    elif len(reason) > actions.NOTE_LIMIT:
        errors["reason"] = "action_note_too_long"
    if errors:
        return refused("action_errors", errors=errors, limit=EXTEND_AT_MOST, latest=latest, due=action.due_at)
    if problem := guard.check(db, {"reason": reason}):
        return problem
    new_due = cal.at(to, cal.end)
    if action.extensions == 0:
        return _extend_now(db, cal, settings, person, action, audit, new_due, reason)
    return _ask_service_manager(db, person, action, audit, new_due, reason)


def _extend_now(
    db: Session,
    cal: Calendar,
    settings: Settings,
    person: Person,
    action: Action,
    audit: Audit,
    new_due: datetime,
    reason: str,
) -> Outcome:
    moment, was = now(), action.due_at
    won = db.execute(
        update(Action)
        .where(Action.id == action.id, Action.status == "open", Action.extensions == 0)
        .values(extensions=1, due_at=new_due)
    ).rowcount
    db.refresh(action)
    if not won:
        first = actions.extension(db, action, 1)
        return _cannot_extend(db, action, audit, field="to") or refused(
            "action_extended",
            qa_ref=audit.qa_ref,
            by=actions.name_of(db, first.requested_by_id if first else None),
            due=action.due_at,
            field="to",
        )
    db.add(
        ActionExtension(
            action_id=action.id,
            number=1,
            status="granted",
            was_due=was,
            to_due=new_due,
            reason=reason,
            requested_by_id=person.id,
            requested_at=moment,
            decided_by_id=person.id,
            decided_at=moment,
        )
    )
    event = trail.record(
        db,
        "action.extended",
        actor=person,
        subject=audit,
        action_id=action.id,
        number=1,
        was=was.isoformat(),
        to=new_due.isoformat(),
        reason=reason,
    )
    db.flush()
    actions.tell_owner(db, action, audit, event, "extended", by=person.name, reason=reason, to=new_due)
    digests.schedule_action(cal, settings, action)
    actions.moved_on(db, action, audit, event)
    return DONE


def _ask_service_manager(
    db: Session, person: Person, action: Action, audit: Audit, new_due: datetime, reason: str
) -> Outcome:
    manager = in_line(audit, "service_manager")
    if manager is None or not manager.active or not manager.slack_user_id:
        return refused("action_no_service_manager", qa_ref=audit.qa_ref, field="to")
    # One row per extension number: of two requests at once only one goes in.
    asked = insert_once(
        db,
        ActionExtension,
        ("action_id", "number"),
        action_id=action.id,
        number=2,
        status="requested",
        was_due=action.due_at,
        to_due=new_due,
        reason=reason,
        requested_by_id=person.id,
        requested_at=now(),
        asked_id=manager.id,
    )
    if not asked:
        return _cannot_extend(db, action, audit, field="to") or refused("unknown", field="to")
    extension = actions.extension(db, action, 2)
    event = trail.record(
        db,
        "action.extension_requested",
        actor=person,
        subject=audit,
        action_id=action.id,
        extension_id=extension.id,
        asked_id=manager.id,
        was=extension.was_due.isoformat(),
        to=new_due.isoformat(),
        reason=reason,
    )
    db.flush()
    outbox.enqueue(
        db, _request_key(extension), manager.slack_user_id, "action_extension_request", _request_ctx(db, extension)
    )
    outbox.enqueue_update(
        db, f"{actions.list_key(audit)}:{event.id}", actions.list_key(audit), "action_list", actions.list_ctx(db, audit)
    )
    return Outcome(ok=True, detail={"asked": manager.name})


def _request_key(extension: ActionExtension) -> str:
    return f"action_extension:{extension.id}:asked"


def _request_ctx(db: Session, extension: ActionExtension) -> dict[str, Any]:
    action = db.get(Action, extension.action_id)
    audit = db.get(Audit, action.audit_id)
    first = actions.extension(db, action, 1)
    return {
        "qa_ref": audit.qa_ref,
        "description": action.description,
        "owner": actions.name_of(db, action.owner_id),
        "extension_id": extension.id,
        "requested_by": actions.name_of(db, extension.requested_by_id),
        "was": extension.was_due,
        "to": extension.to_due,
        "reason": extension.reason,
        "first_reason": first.reason if first else None,
        "status": extension.status,
        "decided_by": actions.name_of(db, extension.decided_by_id),
        "decided_at": extension.decided_at,
    }


# ----- the Service Manager's decision on a second extension ---------------------------------------------------------


def _asked(
    db: Session, extension_id: int, slack_user_id: str, what: str
) -> tuple[Person, ActionExtension, Action, Audit] | Outcome:
    person = by_slack_id(db, slack_user_id)
    extension = db.get(ActionExtension, extension_id)
    action = db.get(Action, extension.action_id) if extension else None
    audit = db.get(Audit, action.audit_id) if action else None
    if person is None or extension is None or extension.status == "granted":
        trail.record(
            db, f"refused.{what}", actor_slack_id=slack_user_id, subject=audit, reason="unknown", extension=extension_id
        )
        return refused("unknown")
    holder = db.get(Person, extension.asked_id) if extension.asked_id else None
    if not actions.holds(person, holder):
        trail.record(
            db,
            f"refused.{what}",
            actor=person,
            subject=audit,
            reason="not the service manager asked",
            action_id=action.id,
        )
        return refused("action_extension_not_yours", qa_ref=audit.qa_ref, holder=holder.name if holder else None)
    if extension.status != "requested":
        return _extension_decided(db, extension, audit)
    return person, extension, action, audit


def _extension_decided(db: Session, extension: ActionExtension, audit: Audit) -> Outcome:
    return refused(
        "action_extension_decided",
        qa_ref=audit.qa_ref,
        status=extension.status,
        by=actions.name_of(db, extension.decided_by_id),
        at=extension.decided_at,
    )


def approve_extension(db: Session, cal: Calendar, settings: Settings, extension_id: int, slack_user_id: str) -> Outcome:
    return _decide_extension(db, cal, settings, extension_id, slack_user_id, "approved")


def refuse_extension(db: Session, cal: Calendar, settings: Settings, extension_id: int, slack_user_id: str) -> Outcome:
    return _decide_extension(db, cal, settings, extension_id, slack_user_id, "refused")


def _decide_extension(
    db: Session, cal: Calendar, settings: Settings, extension_id: int, slack_user_id: str, decision: str
) -> Outcome:
    what = "action_extension_approve" if decision == "approved" else "action_extension_refuse"
    found = _asked(db, extension_id, slack_user_id, what)
    if isinstance(found, Outcome):
        return found
    person, extension, action, audit = found
    moment = now()
    won = db.execute(
        update(ActionExtension)
        .where(ActionExtension.id == extension.id, ActionExtension.status == "requested")
        .values(status=decision, decided_by_id=person.id, decided_at=moment)
    ).rowcount
    db.refresh(extension)
    if not won:
        return _extension_decided(db, extension, audit)
    if decision == "approved":
        # The date is the action's whatever it has come to meanwhile: reopened, it is due then.
        action.due_at, action.extensions = extension.to_due, extension.number
    event = trail.record(
        db,
        f"action.extension_{decision}",
        actor=person,
        subject=audit,
        action_id=action.id,
        extension_id=extension.id,
        to=extension.to_due.isoformat(),
    )
    db.flush()
    outbox.enqueue_update(
        db,
        f"{_request_key(extension)}:{decision}",
        _request_key(extension),
        "action_extension_request",
        _request_ctx(db, extension),
    )
    requester = db.get(Person, extension.requested_by_id)
    if requester.slack_user_id:
        outbox.enqueue(
            db,
            f"action_extension:{extension.id}:{decision}",
            requester.slack_user_id,
            "action_extension_decided",
            actions.about(db, action, audit)
            | {"status": decision, "by": person.name, "to": extension.to_due, "was": extension.was_due},
        )
    if decision == "approved":
        actions.tell_owner(
            db, action, audit, event, "extended", by=person.name, reason=extension.reason, to=extension.to_due
        )
        digests.schedule_action(cal, settings, action)
    actions.moved_on(db, action, audit, event)
    return DONE
