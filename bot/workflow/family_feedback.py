"""Step 3: the auditor records the child's and family's feedback (how it was obtained, the child's voice, the
family's view). It is stored, shown only to the people on that audit, and never posted to a channel: the
practitioner and team manager are told in a DM that it was recorded, with a button to read it. The trail
holds that it was recorded, how it was obtained, and who read it — never the feedback itself."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from bot import outbox
from bot.calendar import now
from bot.workflow import audit_people, guard, trail
from bot.workflow.allocation import can_see_record
from bot.workflow.outcome import DONE, Outcome, refused
from store.models import Audit, Person

# Open from acceptance until the audit is submitted (status awaiting_moderation): until then it can be edited.
OPEN = ("accepted", "in_progress")
HOW = ("visit", "phone", "survey", "mind_of_my_own", "not_obtained")
NOT_OBTAINED = "not_obtained"
# Characters, as typed; the form's inputs say the same (max_length), so these catch only a forged submission.
LIMITS = {"reason": 1000, "child_voice": 3000, "family_view": 3000}


def form_context(db: Session, audit_id: int, slack_user_id: str) -> Outcome:
    """What the form needs, prefilled with what was recorded before; only the allocated auditor, while open."""
    found = _auditor(db, audit_id, slack_user_id, "family_feedback_open")
    if isinstance(found, Outcome):
        return found
    auditor, audit = found
    if audit.status not in OPEN:
        return refused("family_feedback_closed", qa_ref=audit.qa_ref, status=audit.status)
    saved = audit.family_feedback or {}
    if saved:
        # Prefilling shows the stored feedback again: a view like any other, on the trail.
        trail.record(db, "audit.family_feedback_viewed", actor=auditor, subject=audit, roles=["auditor"], via="form")
    return Outcome(
        ok=True,
        detail={
            "qa_ref": audit.qa_ref,
            "audit_id": audit.id,
            "how": saved.get("how"),
            # Shown back only inside the form's own inputs, exactly as typed.
            "values": {key: saved.get(key) for key in ("reason", "child_voice", "family_view")},
        },
    )


def record(
    db: Session,
    audit_id: int,
    slack_user_id: str,
    how: str,
    reason: str | None,
    child_voice: str,
    family_view: str,
) -> Outcome:
    """Record (or update) the feedback. Refusals name the form field to show them on; nothing is written
    unless every field is valid and passes the PII guard."""
    found = _auditor(db, audit_id, slack_user_id, "family_feedback_record")
    if isinstance(found, Outcome):
        return found
    auditor, audit = found
    if audit.status not in OPEN:
        return refused("family_feedback_closed", qa_ref=audit.qa_ref, status=audit.status)
    if how not in HOW:
        return refused("family_feedback_how", field="how")
    texts = {
        # A reason typed before choosing another way is not what happened: it is not kept.
        "reason": _clean(reason) if how == NOT_OBTAINED else None,
        "child_voice": _clean(child_voice),
        "family_view": _clean(family_view),
    }
    if how == NOT_OBTAINED and not texts["reason"]:
        return refused("family_feedback_reason_needed", field="reason")
    if how != NOT_OBTAINED:
        for field in ("child_voice", "family_view"):
            if not texts[field]:
                return refused(f"family_feedback_{field}_needed", field=field)
    for field, limit in LIMITS.items():
        if texts[field] and len(texts[field]) > limit:
            return refused("family_feedback_too_long", field=field, limit=limit, length=len(texts[field]))
    if problem := guard.check(db, texts):
        return problem

    moment, updated = now(), audit.family_feedback is not None
    stored = {"how": how, **texts, "recorded_by": auditor.id}
    # One conditional UPDATE: feedback saved as the audit is submitted elsewhere is refused, not slipped in.
    saved = db.execute(
        update(Audit)
        .where(Audit.id == audit.id, Audit.status.in_(OPEN))
        .values(family_feedback=stored, feedback_at=moment)
    ).rowcount
    db.refresh(audit)
    if not saved:
        return refused("family_feedback_closed", qa_ref=audit.qa_ref, status=audit.status)
    # The trail says that it was recorded and how it was obtained; the words stay on the audit alone.
    trail.record(
        db,
        "audit.family_feedback_updated" if updated else "audit.family_feedback_recorded",
        actor=auditor,
        subject=audit,
        how=how,
    )
    readers: dict[int, Person] = {}
    for person in (audit.practitioner, audit.team_manager):
        if person is not None and person.id != auditor.id:
            readers.setdefault(person.id, person)
    for person in readers.values():
        if person.slack_user_id:
            # A DM that it was recorded, with a button to read it: never the feedback itself.
            outbox.enqueue(
                db,
                f"family_feedback:{audit.id}:{moment.isoformat()}:{person.id}",
                person.slack_user_id,
                "family_feedback_recorded",
                {"qa_ref": audit.qa_ref, "audit_id": audit.id, "auditor": auditor.name, "updated": updated},
            )
    return DONE


def view_context(db: Session, audit_id: int, slack_user_id: str) -> Outcome:
    """The read-only view, for the audit's auditor, practitioner and team manager only. Every view is on the
    trail, and so is every refusal."""
    found = audit_people.on_audit(db, audit_id, slack_user_id, "family_feedback_view")
    if isinstance(found, Outcome):
        return found
    person, audit, roles = found
    saved = audit.family_feedback
    if saved is None:
        return refused("family_feedback_not_recorded", qa_ref=audit.qa_ref)
    # A restricted record shows nothing but its reference to anyone not granted access; the auditor wrote it.
    restricted = "auditor" not in roles and not can_see_record(db, audit.case, person)
    trail.record(
        db, "audit.family_feedback_viewed", actor=person, subject=audit, roles=sorted(roles), restricted=restricted
    )
    if restricted:
        return Outcome(ok=True, detail={"qa_ref": audit.qa_ref, "restricted": True})
    by = db.get(Person, saved["recorded_by"]) if saved.get("recorded_by") else None
    return Outcome(
        ok=True,
        detail={
            "qa_ref": audit.qa_ref,
            "restricted": False,
            "how": saved["how"],
            "why_not": saved.get("reason"),
            "child_voice": saved.get("child_voice"),
            "family_view": saved.get("family_view"),
            "recorded_by": by.name if by else "the auditor",
            "at": audit.feedback_at,
        },
    )


def _auditor(db: Session, audit_id: int, slack_user_id: str, action: str) -> tuple[Person, Audit] | Outcome:
    """The allocated auditor and the audit, or a refusal (on the trail) worded for family feedback."""
    return audit_people.require(db, audit_id, slack_user_id, "auditor", action, "family_feedback_auditor_only")


def _clean(text: str | None) -> str | None:
    return (text or "").strip() or None
