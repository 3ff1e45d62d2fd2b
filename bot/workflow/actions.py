"""SMART actions to completion (step 5; the QAF's Key Area 4): open -> done (its owner, or their delegate, marks it
with a note or a link to the evidence) -> signed off by the audit's team manager, or reopened with a reason. The team
manager may extend the due date once, with a reason; a second extension is asked of the practitioner's Service
Manager, who approves or refuses it; there is no third.

Every step is one conditional UPDATE on the action's (or the extension's) status: of two clicks one decides, and the
other is told who did. What the owner, the team manager and the Service Manager were sent is updated in place as
the action moves on, so a button is never offered for a step already taken. Each step reschedules the action's
reminders (bot.workflow.digests), which follow its due date and status."""

from __future__ import annotations

from datetime import date, datetime
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
from store.writes import insert_once

QA_ADMINS = frozenset({"qa_team", "qa_head_of_service"})
NOTE_LIMIT = 2900
LINK_LIMIT = 500  # Action.evidence_link
EXTEND_AT_MOST = 20  # working days from today: SMART actions are due within four weeks, extended or not
EXTENSIONS = 2  # the team manager's, then one the Service Manager approves


# ----- who may do what ----------------------------------------------------------------------------------------------


def _is(person: Person, holder: Person | None) -> bool:
    """The holder, or the delegate they recorded (leave cover, acting up)."""
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
    if not _is(person, owner):
        trail.record(db, f"refused.{what}", actor=person, subject=audit, reason="not the owner", action_id=action.id)
        return refused("action_not_owner", qa_ref=audit.qa_ref, owner=owner.name)
    return found


def _manager(
    db: Session, action_id: int, slack_user_id: str, what: str, *, qa_admins: bool
) -> tuple[Person, Action, Audit] | Outcome:
    """The person, action and audit when `slack_user_id` is the audit's team manager or their delegate (or, when
    `qa_admins`, in the QA team)."""
    found = _found(db, action_id, slack_user_id, what)
    if isinstance(found, Outcome):
        return found
    person, action, audit = found
    manager = audit.team_manager
    if not (_is(person, manager) or (qa_admins and person.roles & QA_ADMINS)):
        trail.record(
            db, f"refused.{what}", actor=person, subject=audit, reason="not the team manager", action_id=action.id
        )
        return refused(
            "action_not_team_manager" if qa_admins else "action_extend_not_team_manager",
            qa_ref=audit.qa_ref,
            holder=manager.name if manager else None,
        )
    return found


def _name(db: Session, person_id: int | None) -> str | None:
    person = db.get(Person, person_id) if person_id else None
    return person.name if person else None


def _settled(db: Session, action: Action, audit: Audit, **extra: Any) -> Outcome:
    """Why a step cannot be taken on the action as it stands, naming whoever moved it there and when."""
    if action.status == "done":
        return refused(
            "action_already_done", qa_ref=audit.qa_ref, by=_name(db, action.done_by_id), at=action.done_at, **extra
        )
    if action.status == "signed_off":
        return refused(
            "action_signed_off",
            qa_ref=audit.qa_ref,
            by=_name(db, action.signed_off_by_id),
            at=action.signed_off_at,
            **extra,
        )
    reopened = _last_reopened(db, action)
    if reopened is not None:
        return refused("action_reopened", qa_ref=audit.qa_ref, by=_name(db, reopened.actor_id), at=reopened.at, **extra)
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


def _about(db: Session, action: Action, audit: Audit) -> dict[str, Any]:
    return {
        "qa_ref": audit.qa_ref,
        "action_id": action.id,
        "description": action.description,
        "owner": _name(db, action.owner_id),
        "due": action.due_at,
    }


def _state(db: Session, action: Action) -> dict[str, Any]:
    """Where the action stands now, for the owner's messages: who moved it there, and when."""
    by, at = {
        "done": (action.done_by_id, action.done_at),
        "signed_off": (action.signed_off_by_id, action.signed_off_at),
    }.get(action.status, (None, None))
    return {"status": action.status, "due": action.due_at, "state_by": _name(db, by), "state_at": at}


def _assigned_key(action: Action) -> str:
    return f"action:{action.id}:assigned"


def _list_key(audit: Audit) -> str:
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
        outbox.enqueue(db, _list_key(audit), manager.slack_user_id, "action_list", _list_ctx(db, audit))


def _list_ctx(db: Session, audit: Audit) -> dict[str, Any]:
    rows = db.scalars(select(Action).where(Action.audit_id == audit.id).order_by(Action.id)).all()
    listed = []
    for action in rows:
        pending = _extension(db, action, 2)
        listed.append(
            _about(db, action, audit)
            | {
                "status": action.status,
                "extensions": action.extensions,
                "asked": _name(db, pending.asked_id) if pending and pending.status == "requested" else None,
                # Extend is offered while the team manager can still extend or ask for an extension.
                "extend": action.status == "open" and action.extensions < EXTENSIONS and pending is None,
            }
        )
    return {"qa_ref": audit.qa_ref, "actions": listed, "service_manager": _name(db, _service_manager_id(audit))}


def _service_manager_id(audit: Audit) -> int | None:
    manager = in_line(audit, "service_manager")
    return manager.id if manager else None


def _moved_on(db: Session, action: Action, audit: Audit, event: Event) -> None:
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
    outbox.enqueue_update(db, f"{_list_key(audit)}:{event.id}", _list_key(audit), "action_list", _list_ctx(db, audit))


def _tell_owner(db: Session, action: Action, audit: Audit, event: Event, came: str, **ctx: Any) -> None:
    owner = db.get(Person, action.owner_id)
    if owner.slack_user_id:
        outbox.enqueue(
            db,
            f"action:{action.id}:owner:{came}:{event.id}",
            owner.slack_user_id,
            "action_update",
            _about(db, action, audit) | {"came": came, **ctx} | _state(db, action),
        )


# ----- marking it done ----------------------------------------------------------------------------------------------


def done_form(db: Session, action_id: int, slack_user_id: str) -> Outcome:
    """What the Mark done form shows."""
    found = _owner(db, action_id, slack_user_id, "action_done")
    if isinstance(found, Outcome):
        return found
    _, action, audit = found
    if action.status != "open":
        return _settled(db, action, audit)
    return Outcome(ok=True, detail=_about(db, action, audit))


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
        return _settled(db, action, audit, field="note")
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
        return _settled(db, action, audit, field="note")
    event = trail.record(
        db,
        "action.done",
        actor=person,
        subject=audit,
        action_id=action.id,
        note=note,
        link=link,
        late=moment > action.due_at,
        for_owner=_name(db, action.owner_id) if person.id != action.owner_id else None,
    )
    db.flush()
    _ask_sign_off(db, settings, action, audit, person, event)
    digests.schedule_action(cal, settings, action)
    _moved_on(db, action, audit, event)
    return DONE


def _done_key(action: Action, event: Event) -> str:
    return f"action:{action.id}:done:{event.id}"


def _ask_sign_off(db: Session, settings: Settings, action: Action, audit: Audit, by: Person, event: Event) -> None:
    """The team manager signs it off or reopens it. With none in the directory, the QA team is asked in its
    channel, by QA reference only."""
    manager = audit.team_manager
    ctx = _about(db, action, audit) | {
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
    found = _manager(db, action_id, slack_user_id, "action_sign_off", qa_admins=True)
    if isinstance(found, Outcome):
        return found
    person, action, audit = found
    if action.status != "done":
        return _settled(db, action, audit)
    moment = now()
    won = db.execute(
        update(Action)
        .where(Action.id == action.id, Action.status == "done")
        .values(status="signed_off", signed_off_by_id=person.id, signed_off_at=moment)
    ).rowcount
    db.refresh(action)
    if not won:
        return _settled(db, action, audit)
    event = trail.record(
        db, "action.signed_off", actor=person, subject=audit, action_id=action.id, late=action.done_at > action.due_at
    )
    db.flush()
    _show_decision(db, action, None, person, moment)
    _tell_owner(db, action, audit, event, "signed_off", by=person.name, reason=None, to=None)
    digests.schedule_action(cal, settings, action)
    _moved_on(db, action, audit, event)
    return DONE


def reopen_form(db: Session, action_id: int, slack_user_id: str) -> Outcome:
    """What the Reopen form shows: the action, and what its owner said was done."""
    found = _manager(db, action_id, slack_user_id, "action_reopen", qa_admins=True)
    if isinstance(found, Outcome):
        return found
    _, action, audit = found
    if action.status != "done":
        return _settled(db, action, audit)
    return Outcome(ok=True, detail=_about(db, action, audit) | {"note": action.done_note, "link": action.evidence_link})


def reopen(
    db: Session, cal: Calendar, settings: Settings, action_id: int, slack_user_id: str, reason: str | None
) -> Outcome:
    """Not done yet: the action is open again for its owner, with the team manager's reason. Its due date stands
    (extending it is a separate, limited, step). Refusals name the field `reason`."""
    found = _manager(db, action_id, slack_user_id, "action_reopen", qa_admins=True)
    if isinstance(found, Outcome):
        return found
    person, action, audit = found
    if action.status != "done":
        return _settled(db, action, audit, field="reason")
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
        return _settled(db, action, audit, field="reason")
    event = trail.record(db, "action.reopened", actor=person, subject=audit, action_id=action.id, reason=reason)
    db.flush()
    _show_decision(db, action, reason, person, moment)
    _tell_owner(db, action, audit, event, "reopened", by=person.name, reason=reason, to=None)
    digests.schedule_action(cal, settings, action)
    _moved_on(db, action, audit, event)
    return DONE


# ----- extensions ---------------------------------------------------------------------------------------------------


def _extension(db: Session, action: Action, number: int) -> ActionExtension | None:
    return db.scalar(
        select(ActionExtension).where(ActionExtension.action_id == action.id, ActionExtension.number == number)
    )


def _cannot_extend(db: Session, action: Action, audit: Audit, **extra: Any) -> Outcome | None:
    if action.status == "done":
        return refused("action_extend_done", qa_ref=audit.qa_ref, **extra)
    if action.status != "open":
        return _settled(db, action, audit, **extra)
    second = _extension(db, action, 2)
    if second is not None and second.status == "requested":
        return refused(
            "action_extension_pending",
            qa_ref=audit.qa_ref,
            asked=_name(db, second.asked_id),
            at=second.requested_at,
            **extra,
        )
    if second is not None and second.status == "refused":
        return refused(
            "action_extension_refused",
            qa_ref=audit.qa_ref,
            by=_name(db, second.decided_by_id),
            at=second.decided_at,
            **extra,
        )
    if action.extensions >= EXTENSIONS:
        return refused("action_extension_limit", qa_ref=audit.qa_ref, due=action.due_at, **extra)
    return None


def _latest(cal: Calendar) -> date:
    return cal.add_working_days(cal.local(now()).date(), EXTEND_AT_MOST)


def extend_form(db: Session, cal: Calendar, action_id: int, slack_user_id: str) -> Outcome:
    """What the Extend form shows: whether the team manager extends it, or asks the Service Manager."""
    found = _manager(db, action_id, slack_user_id, "action_extend", qa_admins=False)
    if isinstance(found, Outcome):
        return found
    _, action, audit = found
    if problem := _cannot_extend(db, action, audit):
        return problem
    return Outcome(
        ok=True,
        detail=_about(db, action, audit)
        | {
            "second": action.extensions >= 1,
            "service_manager": _name(db, _service_manager_id(audit)),
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
    found = _manager(db, action_id, slack_user_id, "action_extend", qa_admins=False)
    if isinstance(found, Outcome):
        return found
    person, action, audit = found
    if problem := _cannot_extend(db, action, audit, field="to"):
        return problem
    today = cal.local(now()).date()
    latest = _latest(cal)
    reason = (reason or "").strip()
    errors = {}
    if to is None or to <= today:
        errors["to"] = "action_date_needed"
    elif not cal.is_working_day(to):
        errors["to"] = "action_date_not_working"
    elif to > latest:
        errors["to"] = "action_date_too_far"
    elif cal.at(to, cal.end) <= action.due_at:
        errors["to"] = "action_date_not_later"
    if not reason:
        errors["reason"] = "action_extend_reason_needed"
    elif len(reason) > NOTE_LIMIT:
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
        first = _extension(db, action, 1)
        return _cannot_extend(db, action, audit, field="to") or refused(
            "action_extended",
            qa_ref=audit.qa_ref,
            by=_name(db, first.requested_by_id if first else None),
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
    _tell_owner(db, action, audit, event, "extended", by=person.name, reason=reason, to=new_due)
    digests.schedule_action(cal, settings, action)
    _moved_on(db, action, audit, event)
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
    extension = _extension(db, action, 2)
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
    outbox.enqueue_update(db, f"{_list_key(audit)}:{event.id}", _list_key(audit), "action_list", _list_ctx(db, audit))
    return Outcome(ok=True, detail={"asked": manager.name})


def _request_key(extension: ActionExtension) -> str:
    return f"action_extension:{extension.id}:asked"


def _request_ctx(db: Session, extension: ActionExtension) -> dict[str, Any]:
    action = db.get(Action, extension.action_id)
    audit = db.get(Audit, action.audit_id)
    first = _extension(db, action, 1)
    return {
        "qa_ref": audit.qa_ref,
        "description": action.description,
        "owner": _name(db, action.owner_id),
        "extension_id": extension.id,
        "requested_by": _name(db, extension.requested_by_id),
        "was": extension.was_due,
        "to": extension.to_due,
        "reason": extension.reason,
        "first_reason": first.reason if first else None,
        "status": extension.status,
        "decided_by": _name(db, extension.decided_by_id),
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
    if not _is(person, holder):
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
        by=_name(db, extension.decided_by_id),
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
            _about(db, action, audit)
            | {"status": decision, "by": person.name, "to": extension.to_due, "was": extension.was_due},
        )
    if decision == "approved":
        _tell_owner(db, action, audit, event, "extended", by=person.name, reason=extension.reason, to=extension.to_due)
        digests.schedule_action(cal, settings, action)
    _moved_on(db, action, audit, event)
    return DONE
