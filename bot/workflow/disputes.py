"""Disputes (step 6): the practitioner or team manager may dispute the moderated grade within a few working days
of the outcome. The QA Head of Service decides: upholds the moderated grade, changes it (upwards or downwards,
with a rationale), or first arranges a 3/4-way meeting. The decision goes to the practitioner, team manager,
auditor and moderator, and is on the trail."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import outbox
from bot.calendar import Calendar, now
from bot.config import Settings
from bot.workflow import good_practice, guard, inadequate, trail
from bot.workflow.audit_people import roles_on
from bot.workflow.directory import by_slack_id
from bot.workflow.forms import load_form
from bot.workflow.outcome import Outcome, refused
from store.models import Audit, Dispute, Moderation, OutboxMessage, Person, PersonRole

HEAD = "qa_head_of_service"
RAISERS = ("practitioner", "team_manager")
OPEN = ("open", "meeting_arranged")
ATTENDEES = ("practitioner", "team_manager", "auditor", "moderator")
REASON_LIMIT = 2900


# ----- raising a dispute --------------------------------------------------------------------------------------


def _raiser(
    db: Session, moderation_id: int, slack_user_id: str, action: str
) -> tuple[Person, Moderation, Audit, set[str]] | Outcome:
    """The person, moderation and audit when `slack_user_id` is the audit's practitioner or team manager."""
    person = by_slack_id(db, slack_user_id)
    moderation = db.get(Moderation, moderation_id)
    audit = db.get(Audit, moderation.audit_id) if moderation else None
    if person is None or moderation is None or audit is None:
        trail.record(db, f"refused.{action}", actor_slack_id=slack_user_id, subject=audit, reason="unknown")
        return refused("unknown")
    roles = roles_on(person, audit) & set(RAISERS)
    if not roles:
        trail.record(db, f"refused.{action}", actor=person, subject=audit, reason="not the practitioner or TM")
        return refused("dispute_not_yours", qa_ref=audit.qa_ref)
    return person, moderation, audit, roles


def deadline(cal: Calendar, settings: Settings, moderation: Moderation) -> datetime:
    """End of working hours on the last working day a dispute may be raised."""
    decided = cal.local(moderation.decided_at).date()
    return cal.at(cal.add_working_days(decided, settings.framework.dispute_within_days), cal.end)


def _can_raise(db: Session, cal: Calendar, settings: Settings, moderation: Moderation, audit: Audit) -> Outcome | None:
    if moderation.status != "done" or moderation.decided_at is None:
        return refused("dispute_not_moderated", qa_ref=audit.qa_ref, field="reason")
    if audit.status == "disputed" or db.scalar(
        select(Dispute.id).where(Dispute.audit_id == audit.id, Dispute.status.in_(OPEN))
    ):
        return refused("dispute_already_open", qa_ref=audit.qa_ref, field="reason")
    if problem := _already_decided(db, audit):
        return problem
    by = deadline(cal, settings, moderation)
    if now() > by:
        return refused("dispute_too_late", qa_ref=audit.qa_ref, by=by, field="reason")
    return None


def _already_decided(db: Session, audit: Audit) -> Outcome | None:
    """The QA Head of Service's decision is final: a moderated grade is disputed once."""
    decided = db.scalar(
        select(Dispute).where(Dispute.audit_id == audit.id, Dispute.status.not_in(OPEN)).order_by(Dispute.id.desc())
    )
    return _decided(db, decided, audit, field="reason") if decided is not None else None


def form_context(db: Session, moderation_id: int, slack_user_id: str) -> Outcome:
    """What the "Dispute this grade" form shows: the QA reference and the moderated grade."""
    found = _raiser(db, moderation_id, slack_user_id, "dispute_open")
    if isinstance(found, Outcome):
        return found
    _, moderation, audit, _ = found
    if problem := _already_decided(db, audit):
        return problem
    return Outcome(ok=True, detail={"qa_ref": audit.qa_ref, "moderation_id": moderation.id, "grade": moderation.grade})


def raise_dispute(
    db: Session, cal: Calendar, settings: Settings, moderation_id: int, slack_user_id: str, reason: str | None
) -> Outcome:
    """The practitioner or team manager disputes the moderated grade: every QA Head of Service is asked to decide
    (the QA channel, by QA reference only, when there is none). Refusals name the field `reason`."""
    found = _raiser(db, moderation_id, slack_user_id, "dispute_raise")
    if isinstance(found, Outcome):
        return found
    person, moderation, audit, roles = found
    if problem := _can_raise(db, cal, settings, moderation, audit):
        trail.record(db, "refused.dispute_raise", actor=person, subject=audit, reason=problem.reason)
        return problem
    reason = (reason or "").strip()
    if not reason:
        return refused("dispute_reason_needed", field="reason")
    if len(reason) > REASON_LIMIT:
        return refused("dispute_too_long", field="reason", limit=REASON_LIMIT, length=len(reason))
    if problem := guard.check(db, {"reason": reason}):
        return problem
    # One conditional UPDATE: of two disputes at once, only one is raised.
    won = db.execute(
        update(Audit).where(Audit.id == audit.id, Audit.status == "moderated").values(status="disputed")
    ).rowcount
    if not won:
        db.refresh(audit)
        return refused("dispute_already_open", qa_ref=audit.qa_ref, field="reason")
    db.refresh(audit)
    dispute = Dispute(
        audit_id=audit.id,
        moderation_id=moderation.id,
        raised_by_id=person.id,
        reason=reason,
        raised_at=now(),
        status="open",
        meeting_attendees=[],
    )
    db.add(dispute)
    db.flush()
    role = "practitioner" if "practitioner" in roles else "team_manager"
    trail.record(
        db, "dispute.raised", actor=person, subject=audit, dispute_id=dispute.id, role=role, grade=moderation.grade
    )
    heads = [h for h in _heads(db) if h.slack_user_id]
    for head in heads:
        outbox.enqueue(db, _head_key(dispute, head), head.slack_user_id, "dispute_raised", _head_ctx(db, dispute))
    if heads:
        trail.record(db, "dispute.sent_to_head", subject=audit, dispute_id=dispute.id, heads=[h.id for h in heads])
    else:
        if settings.qa_channel:
            outbox.enqueue(db, f"dispute:{dispute.id}:qa", settings.qa_channel, "dispute_qa", {"qa_ref": audit.qa_ref})
        trail.record(db, "dispute.no_head", subject=audit, dispute_id=dispute.id)
    return Outcome(ok=True, detail={"qa_ref": audit.qa_ref, "dispute_id": dispute.id})


def _heads(db: Session) -> list[Person]:
    return list(
        db.scalars(
            select(Person).join(PersonRole).where(PersonRole.role == HEAD, Person.active.is_(True)).order_by(Person.id)
        )
    )


def _head_key(dispute: Dispute, head: Person) -> str:
    return f"dispute:{dispute.id}:head:{head.id}"


def _head_ctx(db: Session, dispute: Dispute) -> dict[str, Any]:
    """The QA Head's message: the dispute, then any meeting, then the decision (the buttons gone)."""
    audit = db.get(Audit, dispute.audit_id)
    moderation = db.get(Moderation, dispute.moderation_id)
    raiser = db.get(Person, dispute.raised_by_id)
    decider = db.get(Person, dispute.decided_by_id) if dispute.decided_by_id else None
    return {
        "qa_ref": audit.qa_ref,
        "dispute_id": dispute.id,
        "grade": moderation.grade,
        "by": raiser.name,
        "role": "practitioner" if raiser.id == audit.practitioner_id else "team_manager",
        "why": dispute.reason,
        "status": dispute.status,
        "meeting": dispute.meeting_at,
        "decided_by": decider.name if decider else None,
        "decided_at": dispute.decided_at,
        "new_grade": dispute.new_grade,
    }


# ----- the QA Head's decision ---------------------------------------------------------------------------------


def _head(db: Session, dispute_id: int, slack_user_id: str, action: str) -> tuple[Person, Dispute, Audit] | Outcome:
    """The QA Head of Service, dispute and audit when the dispute is still to be decided."""
    person = by_slack_id(db, slack_user_id)
    dispute = db.get(Dispute, dispute_id)
    audit = db.get(Audit, dispute.audit_id) if dispute else None
    if person is None or dispute is None or audit is None:
        trail.record(db, f"refused.{action}", actor_slack_id=slack_user_id, subject=audit, reason="unknown")
        return refused("unknown")
    if not person.active or HEAD not in person.roles:
        trail.record(db, f"refused.{action}", actor=person, subject=audit, reason="not a QA Head of Service")
        return refused("not_qa_head", qa_ref=audit.qa_ref)
    if dispute.status not in OPEN:
        return _decided(db, dispute, audit)
    return person, dispute, audit


def _decided(db: Session, dispute: Dispute, audit: Audit, **extra: Any) -> Outcome:
    decider = db.get(Person, dispute.decided_by_id) if dispute.decided_by_id else None
    return refused(
        "dispute_decided",
        qa_ref=audit.qa_ref,
        status=dispute.status,
        by=decider.name if decider else "someone",
        at=dispute.decided_at,
        **extra,
    )


def decision_context(db: Session, dispute_id: int, slack_user_id: str, action: str) -> Outcome:
    """What the change-the-grade and arrange-a-meeting forms show."""
    found = _head(db, dispute_id, slack_user_id, action)
    if isinstance(found, Outcome):
        return found
    _, dispute, audit = found
    moderation = db.get(Moderation, dispute.moderation_id)
    names = _people(db, audit, moderation)
    return Outcome(
        ok=True,
        detail={
            "qa_ref": audit.qa_ref,
            "dispute_id": dispute.id,
            "grade": moderation.grade,
            "scale": [{"code": g.code, "words": g.words} for g in load_form(audit.kind).scale.grades],
            "people": [{"role": role, "name": person.name} for role, person in names.items()],
        },
    )


def _people(db: Session, audit: Audit, moderation: Moderation) -> dict[str, Person]:
    moderator = db.get(Person, moderation.moderator_id) if moderation.moderator_id else None
    people = zip(ATTENDEES, (audit.practitioner, audit.team_manager, audit.auditor, moderator), strict=True)
    return {role: person for role, person in people if person is not None}


def uphold(db: Session, cal: Calendar, settings: Settings, dispute_id: int, slack_user_id: str) -> Outcome:
    """The moderated grade stands."""
    return _decide(db, cal, settings, dispute_id, slack_user_id, "dispute_uphold", None, None)


def change(
    db: Session,
    cal: Calendar,
    settings: Settings,
    dispute_id: int,
    slack_user_id: str,
    grade: str | None,
    rationale: str | None,
) -> Outcome:
    """The QA Head changes the moderated overall grade, with a rationale. Refusals name the field."""
    return _decide(db, cal, settings, dispute_id, slack_user_id, "dispute_change", grade, rationale)


def _decide(
    db: Session,
    cal: Calendar,
    settings: Settings,
    dispute_id: int,
    slack_user_id: str,
    action: str,
    grade: str | None,
    rationale: str | None,
) -> Outcome:
    found = _head(db, dispute_id, slack_user_id, action)
    if isinstance(found, Outcome):
        return found
    head, dispute, audit = found
    moderation = db.get(Moderation, dispute.moderation_id)
    scale = load_form(audit.kind).scale
    changing = action == "dispute_change"
    why = (rationale or "").strip() or None
    if changing:
        errors = {}
        if grade not in scale:
            errors["grade"] = "moderation_grade_needed"
        elif grade == moderation.grade:
            errors["grade"] = "dispute_same_grade"
        if not why:
            errors["rationale"] = "dispute_rationale_needed"
        if errors:
            return refused("action_errors", errors=errors, qa_ref=audit.qa_ref)
        if problem := guard.check(db, {"rationale": why}):
            return problem
    status, final = ("changed", grade) if changing else ("upheld", moderation.grade)
    # One conditional UPDATE: of two clicks at once (or two QA Heads), only one decides.
    moment = now()
    won = db.execute(
        update(Dispute)
        .where(Dispute.id == dispute.id, Dispute.status.in_(OPEN))
        .values(status=status, decided_by_id=head.id, decided_at=moment, new_grade=final, rationale=why)
    ).rowcount
    db.refresh(dispute)
    if not won:
        return _decided(db, dispute, audit)
    audit.status = "moderated"
    detail: dict[str, Any] = {"dispute_id": dispute.id, "was": moderation.grade, "grade": final}
    if changing:
        codes = scale.codes  # best to worst
        detail["direction"] = "upgrade" if codes.index(final) < codes.index(moderation.grade) else "downgrade"
    trail.record(db, f"dispute.{status}", actor=head, subject=audit, **detail)
    _tell(
        db,
        dispute,
        audit,
        moderation,
        {
            "qa_ref": audit.qa_ref,
            "status": status,
            "grade": final,
            "was": moderation.grade,
            "rationale": why,
            "by": head.name,
            "meeting": None,
        },
        _people(db, audit, moderation).values(),
    )
    _show_decision(db, dispute, audit, moderation, {"status": status, "grade": final, "by": head.name})
    # The decision settles the grade: an Inadequate one follows the Inadequate pathway (the QAF's "Escalation").
    inadequate.settle(db, cal, settings, audit, final, by=head)
    return Outcome(ok=True, detail={"qa_ref": audit.qa_ref, "status": status, "grade": final})


def _show_decision(
    db: Session, dispute: Dispute, audit: Audit, moderation: Moderation, settled: dict[str, Any]
) -> None:
    """The moderation outcome and "audit completed" messages are updated in place to show the grade as decided
    (the Dispute button goes: the decision is final; the auditor may nominate a grade raised to Good)."""
    for person in {p.id: p for p in (audit.practitioner, audit.team_manager, audit.auditor) if p}.values():
        for of_key, template in (
            (f"moderation:{moderation.id}:outcome:{person.id}", "moderation_outcome"),
            (f"moderation:{moderation.id}:submitted:{person.id}", "moderation_audit_update"),
        ):
            sent = db.scalar(select(OutboxMessage.context).where(OutboxMessage.key == of_key))
            if sent is None:
                continue
            ctx = outbox.decode(sent) | {"settled": settled}
            if template == "moderation_outcome":
                # The auditor's button to nominate good practice follows the grade as decided.
                ctx |= {"dispute": None} | good_practice.outcome_context(db, audit, person, settled["grade"])
            outbox.enqueue_update(db, f"dispute:{dispute.id}:{template}:{person.id}", of_key, template, ctx)
    received = f"moderation:{moderation.id}:received"
    sent = db.scalar(select(OutboxMessage.context).where(OutboxMessage.key == received))
    if sent is not None:
        ctx = outbox.decode(sent) | {"settled": settled}
        outbox.enqueue_update(db, f"dispute:{dispute.id}:received", received, "audit_received", ctx)


def arrange_meeting(
    db: Session,
    cal: Calendar,
    settings: Settings,
    dispute_id: int,
    slack_user_id: str,
    day: date | None,
    at: time | None,
    attendees: set[str],
) -> Outcome:
    """The QA Head arranges a 3/4-way meeting; the dispute stays to be upheld or changed after it."""
    found = _head(db, dispute_id, slack_user_id, "dispute_meeting")
    if isinstance(found, Outcome):
        return found
    head, dispute, audit = found
    if dispute.status != "open":
        return refused("dispute_meeting_arranged", qa_ref=audit.qa_ref, at=dispute.meeting_at, field="when_day")
    if day is None or at is None:
        return refused("dispute_meeting_when", field="when_day")
    if not cal.is_working_day(day):
        return refused("meeting_not_working_day", field="when_day", day=day)
    meeting_at = cal.at(day, at)
    if meeting_at <= now():
        return refused("meeting_in_past", field="when_day")
    chosen = [role for role in ATTENDEES if role in attendees]
    won = db.execute(
        update(Dispute)
        .where(Dispute.id == dispute.id, Dispute.status == "open")
        .values(status="meeting_arranged", meeting_at=meeting_at, meeting_attendees=chosen)
    ).rowcount
    db.refresh(dispute)
    if not won:
        if dispute.status in OPEN:
            return refused("dispute_meeting_arranged", qa_ref=audit.qa_ref, at=dispute.meeting_at, field="when_day")
        return _decided(db, dispute, audit)
    moderation = db.get(Moderation, dispute.moderation_id)
    trail.record(
        db,
        "dispute.meeting_arranged",
        actor=head,
        subject=audit,
        dispute_id=dispute.id,
        meeting_at=meeting_at.isoformat(),
        attendees=chosen,
    )
    people = _people(db, audit, moderation)
    _tell(
        db,
        dispute,
        audit,
        moderation,
        {
            "qa_ref": audit.qa_ref,
            "status": "meeting_arranged",
            "grade": moderation.grade,
            "was": moderation.grade,
            "rationale": None,
            "by": head.name,
            "meeting": meeting_at,
        },
        [people[role] for role in chosen if role in people],
    )
    return Outcome(ok=True, detail={"qa_ref": audit.qa_ref, "meeting_at": meeting_at})


def _tell(
    db: Session, dispute: Dispute, audit: Audit, moderation: Moderation, ctx: dict[str, Any], people: Any
) -> None:
    """The step in DMs to the people concerned; each QA Head's message is updated in place."""
    step = ctx["status"]
    for person in {p.id: p for p in people}.values():
        if person.slack_user_id:
            outbox.enqueue(db, f"dispute:{dispute.id}:{step}:{person.id}", person.slack_user_id, "dispute_decided", ctx)
    head_ctx = _head_ctx(db, dispute)
    for head in _heads(db):
        outbox.enqueue_update(
            db, f"{_head_key(dispute, head)}:{step}", _head_key(dispute, head), "dispute_raised", head_ctx
        )
