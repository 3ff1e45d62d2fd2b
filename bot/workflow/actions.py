"""SMART actions to completion (step 5; the QAF's Key Area 4): open -> done (its owner, or their delegate, marks it
with a note or a link to the evidence) -> signed off by the audit's team manager, or reopened with a reason. Moving
the due date is bot.workflow.extensions, which builds on what is public here: who may act, what people are shown,
and how their messages follow the action.

Every step is one conditional UPDATE on the action's status: of two clicks one decides, and the other is told who
did. What the owner and the team manager were sent is updated in place as the action moves on, so a button is never
offered for a step already taken. Each step reschedules the action's reminders (bot.workflow.digests), which follow
its due date and status."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import outbox
from bot.calendar import Calendar, now
from bot.config import Settings
from bot.workflow import digests, guard, trail
from bot.workflow.audit_people import in_line
from bot.workflow.directory import by_slack_id
from bot.workflow.outcome import DONE, Outcome, refused
from store.models import Action, ActionExtension, Audit, Event, OutboxMessage, Person

QA_ADMINS = frozenset({"qa_team", "qa_head_of_service"})
NOTE_LIMIT = 2900
LINK_LIMIT = 500  # Action.evidence_link
EXTENSIONS = 2  # the team manager's, then one the Service Manager approves


# ----- who may do what ----------------------------------------------------------------------------------------------


def holds(person: Person, holder: Person | None) -> bool:
    """Whether `person` is the holder, or the delegate they recorded (leave cover, acting up)."""
    return holder is not None and person.id in (holder.id, holder.delegate_id)


def _found(db: Session, action_id: int, slack_user_id: str, what: str) -> tuple[Person, Action, Audit] | Outcome:
    person = by_slack_id(db, slack_user_id)
    action = db.get(Action, action_id)
    audit = db.get(Audit, action.audit_id) if action else None
    if person is None or action is None:
        trail.record(
            db, f"refused.{what}", actor_slack_id=slack_user_id, subject=audit, reason="unknown", action_id=action_id
        )
        return refused("unknown")
    return person, action, audit


def _owner(db: Session, action_id: int, slack_user_id: str, what: str) -> tuple[Person, Action, Audit] | Outcome:
    """The person, action and audit when `slack_user_id` owns the action or is its owner's delegate."""
    found = _found(db, action_id, slack_user_id, what)
    if isinstance(found, Outcome):
        return found
    person, action, audit = found
    owner = db.get(Person, action.owner_id)
    if not holds(person, owner):
        trail.record(db, f"refused.{what}", actor=person, subject=audit, reason="not the owner", action_id=action.id)
        return refused("action_not_owner", qa_ref=audit.qa_ref, owner=owner.name)
    return found


def as_team_manager(
    db: Session, action_id: int, slack_user_id: str, what: str, *, qa_admins: bool
) -> tuple[Person, Action, Audit] | Outcome:
    """The person, action and audit when `slack_user_id` is the audit's team manager or their delegate (or, when
    `qa_admins`, in the QA team)."""
    found = _found(db, action_id, slack_user_id, what)
    if isinstance(found, Outcome):
        return found
    person, action, audit = found
    manager = audit.team_manager
    if not (holds(person, manager) or (qa_admins and person.roles & QA_ADMINS)):
        trail.record(
            db, f"refused.{what}", actor=person, subject=audit, reason="not the team manager", action_id=action.id
        )
        return refused(
            "action_not_team_manager" if qa_admins else "action_extend_not_team_manager",
            qa_ref=audit.qa_ref,
            holder=manager.name if manager else None,
        )
    return found


def name_of(db: Session, person_id: int | None) -> str | None:
    """Who, by name, for a message (None when nobody)."""
    person = db.get(Person, person_id) if person_id else None
    return person.name if person else None


def settled(db: Session, action: Action, audit: Audit, **extra: Any) -> Outcome:
    """Why a step cannot be taken on the action as it stands, naming whoever moved it there and when."""
    if action.status == "done":
        return refused(
            "action_already_done", qa_ref=audit.qa_ref, by=name_of(db, action.done_by_id), at=action.done_at, **extra
        )
    if action.status == "signed_off":
        return refused(
            "action_signed_off",
            qa_ref=audit.qa_ref,
            by=name_of(db, action.signed_off_by_id),
            at=action.signed_off_at,
            **extra,
        )
    reopened = _last_reopened(db, action)
    if reopened is not None:
        return refused(
            "action_reopened", qa_ref=audit.qa_ref, by=name_of(db, reopened.actor_id), at=reopened.at, **extra
        )
    return refused("action_not_done", qa_ref=audit.qa_ref, **extra)


def _last_reopened(db: Session, action: Action) -> Event | None:
    return db.scalar(
        select(Event)
        .where(
            Event.kind == "action.reopened",
            Event.subject_type == Audit.__tablename__,
            Event.subject_id == action.audit_id,
            Event.detail["action_id"].as_integer() == action.id,
        )
        .order_by(Event.id.desc())
    )


# ----- what people see ----------------------------------------------------------------------------------------------


def about(db: Session, action: Action, audit: Audit) -> dict[str, Any]:
    """What every message about the action shows of it."""
    return {
        "qa_ref": audit.qa_ref,
        "action_id": action.id,
        "description": action.description,
        "owner": name_of(db, action.owner_id),
        "due": action.due_at,
    }


def _state(db: Session, action: Action) -> dict[str, Any]:
    """Where the action stands now, for the owner's messages: who moved it there, and when."""
    by, at = {
        "done": (action.done_by_id, action.done_at),
        "signed_off": (action.signed_off_by_id, action.signed_off_at),
    }.get(action.status, (None, None))
    return {"status": action.status, "due": action.due_at, "state_by": name_of(db, by), "state_at": at}


def _assigned_key(action: Action) -> str:
    return f"action:{action.id}:assigned"


def list_key(audit: Audit) -> str:
    """The team manager's list of the audit's actions, updated in place."""
    return f"audit:{audit.id}:actions:tm"


def announce(db: Session, audit: Audit, auditor: Person, actions: list[Action]) -> None:
    """A new audit's actions: each owner is told theirs, with Mark done; the team manager gets the list, with
    Extend on each."""
    for action in actions:
        owner = db.get(Person, action.owner_id)
        if owner.slack_user_id:
            outbox.enqueue(
                db,
                _assigned_key(action),
                owner.slack_user_id,
                "action_assigned",
                {
                    "qa_ref": audit.qa_ref,
                    "action_id": action.id,
                    "description": action.description,
                    "auditor": auditor.name,
                }
                | _state(db, action),
            )
    manager = audit.team_manager
    if actions and manager is not None and manager.slack_user_id:
        outbox.enqueue(db, list_key(audit), manager.slack_user_id, "action_list", list_ctx(db, audit))


def list_ctx(db: Session, audit: Audit) -> dict[str, Any]:
    """The team manager's list as it stands: each action's status, its extensions, and Extend where it is
    offered."""
    rows = db.scalars(select(Action).where(Action.audit_id == audit.id).order_by(Action.id)).all()
    listed = []
    for action in rows:
        pending = extension(db, action, 2)
        listed.append(
            about(db, action, audit)
            | {
                "status": action.status,
                "extensions": action.extensions,
                "asked": name_of(db, pending.asked_id) if pending and pending.status == "requested" else None,
                # Extend is offered while the team manager can still extend or ask for an extension.
                "extend": action.status == "open" and action.extensions < EXTENSIONS and pending is None,
            }
        )
    return {"qa_ref": audit.qa_ref, "actions": listed, "service_manager": name_of(db, service_manager_id(audit))}


def extension(db: Session, action: Action, number: int) -> ActionExtension | None:
    """The action's first or second extension, if there is one (the list shows a second one pending)."""
    return db.scalar(
        select(ActionExtension).where(ActionExtension.action_id == action.id, ActionExtension.number == number)
    )


def service_manager_id(audit: Audit) -> int | None:
    """The practitioner's Service Manager, who decides a second extension."""
    manager = in_line(audit, "service_manager")
    return manager.id if manager else None


def moved_on(db: Session, action: Action, audit: Audit, event: Event) -> None:
    """After a step: every message the owner was sent about the action shows where it stands (Mark done offered
    only while it is open), and so does the team manager's list."""
    db.flush()
    originals = db.scalars(
        select(OutboxMessage)
        .where(
            (OutboxMessage.key == _assigned_key(action)) | OutboxMessage.key.like(f"action:{action.id}:owner:%"),
            OutboxMessage.updates_key.is_(None),
        )
        .order_by(OutboxMessage.id)
    ).all()
    state = _state(db, action)
    for original in originals:
        ctx = outbox.decode(original.context) | state
        outbox.enqueue_update(db, f"{original.key}:{event.id}", original.key, original.template, ctx)
    outbox.enqueue_update(db, f"{list_key(audit)}:{event.id}", list_key(audit), "action_list", list_ctx(db, audit))


def tell_owner(db: Session, action: Action, audit: Audit, event: Event, came: str, **ctx: Any) -> None:
    """The owner is told what `came` of their action (signed off, reopened, extended), and by whom."""
    owner = db.get(Person, action.owner_id)
    if owner.slack_user_id:
        outbox.enqueue(
            db,
            f"action:{action.id}:owner:{came}:{event.id}",
            owner.slack_user_id,
            "action_update",
            about(db, action, audit) | {"came": came, **ctx} | _state(db, action),
        )


# ----- marking it done ----------------------------------------------------------------------------------------------


def done_form(db: Session, action_id: int, slack_user_id: str) -> Outcome:
    """What the Mark done form shows."""
    found = _owner(db, action_id, slack_user_id, "action_done")
    if isinstance(found, Outcome):
        return found
    _, action, audit = found
    if action.status != "open":
        return settled(db, action, audit)
    return Outcome(ok=True, detail=about(db, action, audit))


def _is_web_link(link: str) -> bool:
    """An http(s) address with a host: no spaces, no credentials, nothing that would end a Slack link early."""
    if len(link) > LINK_LIMIT or any(c.isspace() or c in "<>|" or not c.isprintable() for c in link):
        return False
    try:
        parts = urlsplit(link)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(host) and parts.username is None


def mark_done(
    db: Session,
    cal: Calendar,
    settings: Settings,
    action_id: int,
    slack_user_id: str,
    note: str | None,
    link: str | None,
) -> Outcome:
    """The owner (or their delegate) says it is done, with a note of what was done, a link to the evidence, or
    both: the team manager is asked to sign it off. Refusals name the field."""
    found = _owner(db, action_id, slack_user_id, "action_done")
    if isinstance(found, Outcome):
        return found
    person, action, audit = found
    if action.status != "open":
        return settled(db, action, audit, field="note")
    note, link = (note or "").strip() or None, (link or "").strip() or None
    errors = {}
    if not note and not link:
        errors["note"] = "action_done_needs_note"
    elif note and len(note) > NOTE_LIMIT:
        errors["note"] = "action_note_too_long"
    if link and not _is_web_link(link):
        errors["link"] = "action_link_invalid"
    if errors:
        return refused("action_errors", errors=errors, limit=NOTE_LIMIT)
    if problem := guard.check(db, {"note": note}):
        return problem
    moment = now()
    won = db.execute(
        update(Action)
        .where(Action.id == action.id, Action.status == "open")
        .values(status="done", done_at=moment, done_by_id=person.id, done_note=note, evidence_link=link)
    ).rowcount
    db.refresh(action)
    if not won:
        return settled(db, action, audit, field="note")
    event = trail.record(
        db,
        "action.done",
        actor=person,
        subject=audit,
        action_id=action.id,
        note=note,
        link=link,
        late=moment > action.due_at,
        for_owner=name_of(db, action.owner_id) if person.id != action.owner_id else None,
    )
    db.flush()
    _ask_sign_off(db, settings, action, audit, person, event)
    digests.schedule_action(cal, settings, action)
    moved_on(db, action, audit, event)
    return DONE


def _done_key(action: Action, event: Event) -> str:
    return f"action:{action.id}:done:{event.id}"


def _ask_sign_off(db: Session, settings: Settings, action: Action, audit: Audit, by: Person, event: Event) -> None:
    """The team manager signs it off or reopens it. With none in the directory, the QA team is asked in its
    channel, by QA reference only."""
    manager = audit.team_manager
    ctx = about(db, action, audit) | {
        "by": by.name,
        "note": action.done_note,
        "link": action.evidence_link,
        "late": action.done_at > action.due_at,
        "to_qa": False,
        "status": "done",
        "decided_by": None,
        "decided_at": None,
        "reason": None,
    }
    if manager is not None and manager.active and manager.slack_user_id:
        outbox.enqueue(db, _done_key(action, event), manager.slack_user_id, "action_done", ctx)
    elif settings.qa_channel:
        hidden = dict.fromkeys(("description", "owner", "by", "note", "link"))
        outbox.enqueue(db, _done_key(action, event), settings.qa_channel, "action_done", ctx | hidden | {"to_qa": True})


def _show_decision(db: Session, action: Action, reason: str | None, by: Person, at: datetime) -> None:
    """The sign-off request still showing Sign off / Reopen is updated in place: the decision, the buttons gone."""
    original = db.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.key.like(f"action:{action.id}:done:%"), OutboxMessage.updates_key.is_(None))
        .order_by(OutboxMessage.id.desc())
    )
    if original is None:
        return
    ctx = outbox.decode(original.context) | {
        "status": action.status,
        "decided_by": by.name,
        "decided_at": at,
        "reason": reason,
    }
    outbox.enqueue_update(db, f"{original.key}:decided", original.key, "action_done", ctx)


# ----- the team manager's decision ----------------------------------------------------------------------------------


def sign_off(db: Session, cal: Calendar, settings: Settings, action_id: int, slack_user_id: str) -> Outcome:
    """The team manager (their delegate, or the QA team) accepts it as done."""
    found = as_team_manager(db, action_id, slack_user_id, "action_sign_off", qa_admins=True)
    if isinstance(found, Outcome):
        return found
    person, action, audit = found
    if action.status != "done":
        return settled(db, action, audit)
    moment = now()
    won = db.execute(
        update(Action)
        .where(Action.id == action.id, Action.status == "done")
        .values(status="signed_off", signed_off_by_id=person.id, signed_off_at=moment)
    ).rowcount
    db.refresh(action)
    if not won:
        return settled(db, action, audit)
    event = trail.record(
        db, "action.signed_off", actor=person, subject=audit, action_id=action.id, late=action.done_at > action.due_at
    )
    db.flush()
    _show_decision(db, action, None, person, moment)
    tell_owner(db, action, audit, event, "signed_off", by=person.name, reason=None, to=None)
    digests.schedule_action(cal, settings, action)
    moved_on(db, action, audit, event)
    return DONE


def reopen_form(db: Session, action_id: int, slack_user_id: str) -> Outcome:
    """What the Reopen form shows: the action, and what its owner said was done."""
    found = as_team_manager(db, action_id, slack_user_id, "action_reopen", qa_admins=True)
    if isinstance(found, Outcome):
        return found
    _, action, audit = found
    if action.status != "done":
        return settled(db, action, audit)
    return Outcome(ok=True, detail=about(db, action, audit) | {"note": action.done_note, "link": action.evidence_link})


def reopen(
    db: Session, cal: Calendar, settings: Settings, action_id: int, slack_user_id: str, reason: str | None
) -> Outcome:
    """Not done yet: the action is open again for its owner, with the team manager's reason. Its due date stands
    (extending it is a separate, limited, step). Refusals name the field `reason`."""
    found = as_team_manager(db, action_id, slack_user_id, "action_reopen", qa_admins=True)
    if isinstance(found, Outcome):
        return found
    person, action, audit = found
    if action.status != "done":
        return settled(db, action, audit, field="reason")
    reason = (reason or "").strip()
    if not reason:
        return refused("action_reopen_reason_needed", field="reason")
    if len(reason) > NOTE_LIMIT:
        return refused("action_note_too_long", field="reason", limit=NOTE_LIMIT)
    if problem := guard.check(db, {"reason": reason}):
        return problem
    moment = now()
    # What the owner said is kept on the trail (action.done); the action itself is simply open again.
    won = db.execute(
        update(Action)
        .where(Action.id == action.id, Action.status == "done")
        .values(status="open", done_at=None, done_by_id=None, done_note=None, evidence_link=None)
    ).rowcount
    db.refresh(action)
    if not won:
        return settled(db, action, audit, field="reason")
    event = trail.record(db, "action.reopened", actor=person, subject=audit, action_id=action.id, reason=reason)
    db.flush()
    _show_decision(db, action, reason, person, moment)
    tell_owner(db, action, audit, event, "reopened", by=person.name, reason=reason, to=None)
    digests.schedule_action(cal, settings, action)
    moved_on(db, action, audit, event)
    return DONE
