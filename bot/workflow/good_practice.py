"""Good practice (QAF: "Good or outstanding"): a moderated audit graded Good or Outstanding may be nominated as an
example of good practice, by its moderator (in the moderation form) or by its auditor (a button on their copy of
the moderation outcome). One nomination per audit. It goes to the QA team's learning queue, which the
learning highlights draw on; the QA channel hears the QA reference, the grade and who nominated it (the role),
never what was written."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import outbox
from bot.calendar import now
from bot.config import Settings
from bot.workflow import audit_people, guard, trail
from bot.workflow.forms import GradeScale, load_form
from bot.workflow.outcome import Outcome, refused
from store.models import Audit, Dispute, Moderation, Nomination, OutboxMessage, Person
from store.writes import insert_once

# The moderation form's box and text. Question ids cannot hold a hyphen, so these never meet a form's own.
NOMINATE_FIELD = "good-practice"
REASON_FIELD = "good-practice-reason"
REASON_LIMIT = 2900
DECIDED = ("upheld", "changed")


def eligible(scale: GradeScale) -> tuple[str, ...]:
    """The grades an example of good practice has: Good and Outstanding, the scale's two best (best first)."""
    return scale.codes[:2]


def nomination_of(db: Session, audit_id: int) -> Nomination | None:
    return db.scalar(select(Nomination).where(Nomination.audit_id == audit_id))


def queue(db: Session) -> list[Nomination]:
    """The learning queue: nominations the QA team has not used or set aside yet, oldest first."""
    return list(
        db.scalars(
            select(Nomination).where(Nomination.status == "queued").order_by(Nomination.nominated_at, Nomination.id)
        )
    )


def standing_grade(db: Session, audit: Audit) -> tuple[Moderation | None, str | None]:
    """The audit's moderation and its overall grade as it stands now: a decided dispute's grade, or else the
    moderated one. (None, None) before the moderation is recorded."""
    moderation = db.scalar(
        select(Moderation)
        .where(Moderation.audit_id == audit.id, Moderation.status == "done")
        .order_by(Moderation.id.desc())
        .limit(1)
    )
    if moderation is None:
        return None, None
    decided = db.scalar(
        select(Dispute.new_grade)
        .where(Dispute.moderation_id == moderation.id, Dispute.status.in_(DECIDED))
        .order_by(Dispute.decided_at.desc(), Dispute.id.desc())
        .limit(1)
    )
    return moderation, decided or moderation.grade


def _problem(db: Session, audit: Audit, grade: str | None, scale: GradeScale) -> Outcome | None:
    """Why this audit cannot be nominated with this overall grade, if it cannot."""
    if audit.case.restricted:
        # The queue is read by the whole QA team and shared as learning: a restricted record stays out of it.
        return refused("good_practice_restricted", qa_ref=audit.qa_ref)
    if (nomination := nomination_of(db, audit.id)) is not None:
        return _already(db, audit, nomination)
    if grade not in eligible(scale):
        return refused("good_practice_grade", qa_ref=audit.qa_ref, grade=grade, eligible=list(eligible(scale)))
    return None


def _already(db: Session, audit: Audit, nomination: Nomination) -> Outcome:
    by = db.get(Person, nomination.nominated_by_id)
    return refused(
        "good_practice_already",
        qa_ref=audit.qa_ref,
        by=by.name if by else "someone",
        role=nomination.nominated_as,
        at=nomination.nominated_at,
    )


# ----- the moderator: a box in the moderation form --------------------------------------------------------------


def offered(audit: Audit) -> bool:
    """Whether the moderation form offers the box: a restricted record is never nominated."""
    return not audit.case.restricted


def moderation_errors(
    db: Session, audit: Audit, scale: GradeScale, grade: str | None, nominate: bool, reason: str | None
) -> tuple[dict[str, str], dict[str, Any]]:
    """The moderation form's good-practice box and text, checked against `grade` (the moderated overall grade
    the moderator chose): field -> reason code (empty when all is well), and what those reasons' words name."""
    text = (reason or "").strip()
    if not nominate:
        return ({NOMINATE_FIELD: "good_practice_not_ticked"} if text else {}), {}
    errors: dict[str, str] = {}
    detail: dict[str, Any] = {}
    if problem := _problem(db, audit, grade, scale):
        errors[NOMINATE_FIELD] = problem.reason
        detail |= problem.detail
    if not text:
        errors[REASON_FIELD] = "good_practice_reason_needed"
    elif len(text) > REASON_LIMIT:
        errors[REASON_FIELD] = "good_practice_too_long"
        detail |= {"limit": REASON_LIMIT, "length": len(text)}
    return errors, detail


# ----- the auditor: a button on the moderation outcome ----------------------------------------------------------


def outcome_context(db: Session, audit: Audit, person: Person, grade: str | None) -> dict[str, Any]:
    """For one person's copy of the moderation outcome: the auditor's "Nominate as good practice" button
    (`nominate`: the audit id) while it can be nominated, or the nomination made (`nominated`)."""
    if person.id != audit.auditor_id:
        return {"nominate": None, "nominated": None}
    nomination = nomination_of(db, audit.id)
    if nomination is not None:
        return {"nominate": None, "nominated": _nominated(nomination, person)}
    open_to_nominate = _problem(db, audit, grade, load_form(audit.kind).scale) is None
    return {"nominate": audit.id if open_to_nominate else None, "nominated": None}


def _nominated(nomination: Nomination, person: Person) -> dict[str, Any]:
    return {
        "role": nomination.nominated_as,
        "yours": nomination.nominated_by_id == person.id,
        "at": nomination.nominated_at,
    }


def _auditor(
    db: Session, audit_id: int, slack_user_id: str, action: str
) -> tuple[Person, Audit, Moderation, str] | Outcome:
    """The auditor, audit, moderation and standing grade when the auditor may nominate it now."""
    found = audit_people.require(db, audit_id, slack_user_id, "auditor", action)
    if isinstance(found, Outcome):
        return found
    person, audit = found
    moderation, grade = standing_grade(db, audit)
    if problem := _problem(db, audit, grade, load_form(audit.kind).scale):
        trail.record(db, f"refused.{action}", actor=person, subject=audit, reason=problem.reason)
        return problem
    return person, audit, moderation, grade


def form_context(db: Session, audit_id: int, slack_user_id: str) -> Outcome:
    """What the auditor's "Nominate as good practice" form shows."""
    found = _auditor(db, audit_id, slack_user_id, "good_practice_open")
    if isinstance(found, Outcome):
        return found
    _, audit, _, grade = found
    return Outcome(ok=True, detail={"qa_ref": audit.qa_ref, "audit_id": audit.id, "grade": grade})


def nominate_as_auditor(
    db: Session, settings: Settings, audit_id: int, slack_user_id: str, reason: str | None
) -> Outcome:
    """The auditor nominates the audit. Refusals name the field `reason`."""
    found = _auditor(db, audit_id, slack_user_id, "good_practice_nominate")
    if isinstance(found, Outcome):
        return found
    person, audit, moderation, grade = found
    reason = (reason or "").strip()
    if not reason:
        return refused("good_practice_reason_needed", field="reason")
    if len(reason) > REASON_LIMIT:
        return refused("good_practice_too_long", field="reason", limit=REASON_LIMIT, length=len(reason))
    if problem := guard.check(db, {"reason": reason}):
        return problem
    nomination = nominate(db, settings, audit, person, "auditor", grade, reason)
    if nomination is None:  # someone else's went in between the check and the insert
        return _already(db, audit, nomination_of(db, audit.id))
    of_key = f"moderation:{moderation.id}:outcome:{person.id}"
    sent = outbox.decode(db.scalar(select(OutboxMessage.context).where(OutboxMessage.key == of_key)))
    if sent:
        outbox.enqueue_update(
            db,
            f"good_practice:{audit.id}:outcome:{person.id}",
            of_key,
            "moderation_outcome",
            sent | {"nominate": None, "nominated": _nominated(nomination, person)},
        )
    return Outcome(ok=True, detail={"qa_ref": audit.qa_ref})


# ----- both ------------------------------------------------------------------------------------------------------


def nominate(
    db: Session, settings: Settings, audit: Audit, person: Person, role: str, grade: str, reason: str
) -> Nomination | None:
    """Put the audit in the learning queue, checked already: on the trail, and the QA channel told by QA
    reference. None when another nomination of it went in first: one per audit, and of two at once the insert
    (ON CONFLICT DO NOTHING on the unique audit) lets only one in."""
    won = insert_once(
        db,
        Nomination,
        "audit_id",
        audit_id=audit.id,
        nominated_by_id=person.id,
        nominated_as=role,
        grade=grade,
        reason=reason.strip(),
        nominated_at=now(),
        status="queued",
    )
    if not won:
        return None
    nomination = nomination_of(db, audit.id)
    trail.record(
        db,
        "audit.nominated_good_practice",
        actor=person,
        subject=audit,
        nomination_id=nomination.id,
        role=role,
        grade=grade,
    )
    if settings.qa_channel:
        outbox.enqueue(
            db,
            f"good_practice:{audit.id}:qa",
            settings.qa_channel,
            "good_practice_qa",
            {"qa_ref": audit.qa_ref, "grade": grade, "role": role},
        )
    return nomination
