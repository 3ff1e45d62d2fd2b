"""The QA team moves an open audit to another auditor (`qabot reallocate`): a leaver's audit, or one not accepted.
The auditor is named, or the least-loaded eligible one is chosen as when an auditor passes an audit back; either
way the independence rules and the monthly maximum apply, and the audit starts again at "allocated"."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import outbox
from bot.calendar import Calendar, now
from bot.config import Settings
from bot.workflow import allocation, auditors, guard, reminders
from store.models import Audit, OutboxMessage, Person, PersonRole

MOVERS = frozenset({"qa_team", "qa_head_of_service"})
OPEN = ("allocated", "accepted", "in_progress")


class ReallocationError(ValueError):
    """The audit cannot be moved; the message (one line) says why."""


@dataclass(frozen=True)
class Moved:
    qa_ref: str
    previous: str | None
    auditor: str
    was: str  # the status before: "accepted" or "in_progress" means the new auditor accepts afresh


def _person(db: Session, ref: str) -> Person | None:
    column = Person.email if "@" in ref else Person.slack_user_id
    return db.scalar(select(Person).where(column == (ref.lower() if "@" in ref else ref)))


def move(
    db: Session, cal: Calendar, settings: Settings, qa_ref: str, by_ref: str, reason: str | None, to_ref: str | None
) -> Moved:
    by = _person(db, by_ref.strip())
    if by is None or not by.active:
        raise ReallocationError(f"--by {by_ref} is not an active person in the staff directory")
    if not by.roles & MOVERS:
        raise ReallocationError(
            f"--by {by.name} is not in the QA team: only qa_team or qa_head_of_service may reallocate"
        )
    reason = " ".join((reason or "").split())
    if not reason:
        raise ReallocationError('--reason is required: say why, e.g. --reason "auditor has left"')
    if problem := guard.check(db, {"reason": reason}):
        found = ", ".join(f"{f['kind'].replace('_', ' ')} ({f['text']})" for f in problem.detail["fields"]["reason"])
        raise ReallocationError(f"--reason must not carry personal details; remove: {found}")
    # Locked, so an Accept click at the same moment waits for the move and is then refused as not theirs.
    audit = db.scalar(select(Audit).where(Audit.qa_ref == qa_ref.strip().upper()).with_for_update())
    if audit is None:
        raise ReallocationError(f"there is no audit {qa_ref}")
    if audit.status not in OPEN:
        raise ReallocationError(
            f"{audit.qa_ref} is {audit.status.replace('_', ' ')}: only an allocated, accepted or in-progress audit"
            " can be reallocated"
        )
    previous = audit.auditor
    if to_ref:
        chosen = _named(db, settings, audit, to_ref.strip())
    else:
        exclude = allocation.passed_back(db, audit) | ({previous.id} if previous else set())
        chosen = allocation.least_loaded(db, settings, audit, exclude=exclude | _asked_before(db, audit))
        if chosen is None:
            raise ReallocationError(
                f"no other active auditor is independent of {audit.qa_ref} and under the monthly maximum"
                f" ({settings.framework.auditor_monthly_max}): name one with --to"
            )
    was = audit.status
    allocation.hand_over(db, cal, settings, audit, chosen, previous, by=by, reason=reason, was=was)
    if previous is not None:
        _tell_previous(db, audit, previous, chosen, by)
    return Moved(audit.qa_ref, previous.name if previous else None, chosen.name, was)


def _named(db: Session, settings: Settings, audit: Audit, to_ref: str) -> Person:
    """The auditor named with --to, if every allocation rule allows them; otherwise the rule that refuses."""
    chosen = _person(db, to_ref)
    if chosen is None or not chosen.active:
        raise ReallocationError(f"--to {to_ref} is not an active person in the staff directory")
    if db.get(PersonRole, (chosen.id, "auditor")) is None:
        raise ReallocationError(f"--to {chosen.name} is not an auditor")
    if chosen.id == audit.auditor_id:
        raise ReallocationError(f"--to {chosen.name} is already the auditor of {audit.qa_ref}")
    if why := auditors.conflict(chosen, audit.practitioner, audit.case):
        raise ReallocationError(f"--to {chosen.name} {why}: an auditor must be independent of the case")
    maximum = settings.framework.auditor_monthly_max
    if (load := auditors.monthly_load(db, audit.month)[chosen.id]) >= maximum:
        raise ReallocationError(
            f"--to {chosen.name} already has {load} audit(s) in {audit.month}, the monthly maximum ({maximum})"
        )
    if chosen.id in _asked_before(db, audit):
        raise ReallocationError(f"--to {chosen.name} has already been asked to take {audit.qa_ref}")
    return chosen


def _asked_before(db: Session, audit: Audit) -> set[int]:
    """Auditors already sent this audit's request: each is asked once (the request's key is per auditor)."""
    keys = db.scalars(select(OutboxMessage.key).where(OutboxMessage.key.like(f"allocation:{audit.id}:request:%")))
    return {int(part) for key in keys if (part := key.split(":")[3]).isdigit()}


def _tell_previous(db: Session, audit: Audit, previous: Person, chosen: Person, by: Person) -> None:
    """The previous auditor's request loses its buttons (in their DM and any digest); if they are still here,
    they are told it has moved."""
    moment = now()
    moved = {"qa_ref": audit.qa_ref, "new_auditor": chosen.name, "by_name": by.name, "at": moment}
    request_key = f"allocation:{audit.id}:request:{previous.id}"
    outbox.enqueue_update(db, f"{request_key}:moved", request_key, "allocation_moved", moved)
    decided = {"status": "moved", "by": by.name, "at": moment}
    reminders.show_everywhere(db, previous, audit, "accept", audit.id, f"accept:{audit.id}:moved", decided=decided)
    if previous.active and previous.slack_user_id:
        outbox.enqueue(
            db, f"allocation:{audit.id}:moved:{previous.id}:told", previous.slack_user_id, "allocation_moved", moved
        )
