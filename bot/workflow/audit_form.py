"""Step 4, the collaborative audit: the form (one modal per step, a draft kept between steps and if the modal
is closed), then the SMART actions, then submission for moderation.

A thematic audit (thematic.py) is completed the same way on its theme's own questions, from the record: no
meeting or family feedback is needed first, and once submitted it is complete (not moderated)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from bot import outbox
from bot.calendar import Calendar, now
from bot.config import Settings
from bot.workflow import audit_people, digests, guard, moderation, safeguarding, supervision, thematic, trail
from bot.workflow.actions import announce
from bot.workflow.directory import by_slack_id, line_chain
from bot.workflow.forms import FormDefinition, load_form
from bot.workflow.outcome import Outcome, refused
from store.models import Action, Audit

OPEN = ("accepted", "in_progress")
ACTION_SLOTS = 5
ACTIONS_WITHIN = timedelta(weeks=4)  # the QAF: each action has a date for completion, at most 4 weeks ahead
NEEDS_ACTIONS = {"requires_improvement", "inadequate"}


def _form(audit: Audit) -> FormDefinition:
    return thematic.form_of(audit.theme) if audit.kind == "thematic" else load_form(audit.kind)


def _open(db: Session, audit_id: int, slack_user_id: str, action: str) -> tuple[Any, Audit] | Outcome:
    found = audit_people.require(db, audit_id, slack_user_id, "auditor", action)
    if isinstance(found, Outcome):
        return found
    _, audit = found
    if audit.status not in OPEN:
        return refused("audit_not_open", qa_ref=audit.qa_ref, status=audit.status)
    return found


def step_context(db: Session, audit_id: int, slack_user_id: str, step_id: str | None = None) -> Outcome:
    """The form step to show (the first one when none is named), filled with the draft so far."""
    found = _open(db, audit_id, slack_user_id, "audit_form_open")
    if isinstance(found, Outcome):
        return found
    _, audit = found
    form = _form(audit)
    step_id = step_id or form.steps[0].id
    return Outcome(ok=True, detail=_step_ctx(audit, form, step_id))


def _step_ctx(audit: Audit, form: FormDefinition, step_id: str) -> dict[str, Any]:
    ids = [s.id for s in form.steps]
    step = form.step(step_id)
    return {
        "qa_ref": audit.qa_ref,
        "audit_id": audit.id,
        "number": ids.index(step_id) + 1,
        "total": len(ids) + 1,  # the actions come last
        "step": step,
        "grades": [{"code": g.code, "words": g.words} for g in form.scale.grades],
        "values": dict(audit.draft.get("answers", {})),
    }


def save_step(
    db: Session,
    cal: Calendar,
    settings: Settings,
    audit_id: int,
    slack_user_id: str,
    step_id: str,
    answers: dict[str, Any],
) -> Outcome:
    """Check one step's answers and keep them in the draft. Returns what to show next: the next step's form,
    or the actions."""
    found = _open(db, audit_id, slack_user_id, "audit_form_step")
    if isinstance(found, Outcome):
        return found
    auditor, audit = found
    form = _form(audit)
    if step_id not in [s.id for s in form.steps]:
        return refused("unknown")
    errors = form.validate_answers(answers, step=step_id)
    if errors:
        return refused("form_errors", errors=errors)
    texts = {key: value for key, value in answers.items() if isinstance(value, str) and _is_text(form, key)}
    if problem := guard.check(db, texts):
        return problem
    known = {key for q in form.step(step_id).questions for key in q.answer_ids}
    answers = {key: value for key, value in answers.items() if key in known}
    audit.draft = {"form": form.ref, "answers": {**audit.draft.get("answers", {}), **answers}}
    trail.record(db, "audit.form_step_saved", actor=auditor, subject=audit, step=step_id)
    if form.concern is not None and answers.get(form.concern.id) == "yes":
        # An immediate safeguarding concern is escalated the moment it is recorded, not when the audit is done.
        audit.immediate_concern = True
        safeguarding.raise_concern(db, cal, settings, audit, auditor)
    ids = [s.id for s in form.steps]
    following = ids.index(step_id) + 1
    if following < len(ids):
        return Outcome(ok=True, detail={"next": "step", **_step_ctx(audit, form, ids[following])})
    return Outcome(ok=True, detail={"next": "actions", **_actions_ctx(cal, audit, form)})


def keep_unsaved(db: Session, audit_id: int, slack_user_id: str, step_id: str, answers: dict[str, Any]) -> Outcome:
    """The form was closed part-way through a step: keep what was typed, unchecked, in the draft, so nothing is
    lost. A field the PII guard refuses is not kept."""
    found = _open(db, audit_id, slack_user_id, "audit_form_close")
    if isinstance(found, Outcome):
        return found
    _, audit = found
    form = _form(audit)
    if step_id not in [s.id for s in form.steps]:
        return refused("unknown")
    known = {key for q in form.step(step_id).questions for key in q.answer_ids}
    kept = {key: value for key, value in answers.items() if key in known and value not in (None, "", [])}
    # Nothing that could not be shown again in the form: the wrong type, an unknown option, too long.
    for key in set(form.validate_answers(kept, step=step_id)) & set(kept):
        kept.pop(key)
    texts = {key: value for key, value in kept.items() if isinstance(value, str) and _is_text(form, key)}
    refusal = guard.check(db, texts)
    for field in refusal.detail["fields"] if refusal else ():
        kept.pop(field)
    audit.draft = {"form": form.ref, "answers": {**audit.draft.get("answers", {}), **kept}}
    return Outcome(ok=True)


def _is_text(form: FormDefinition, key: str) -> bool:
    for question in form.questions:
        if key == question.rationale_id or (key == question.id and question.kind == "text"):
            return True
    return False


def _latest_due(cal: Calendar, audit: Audit) -> date:
    """Actions are due at most four weeks after the audit: the collaborative meeting, or today if none is
    recorded."""
    audited = audit.meeting_at if audit.meeting_at and audit.meeting_at <= now() else now()
    return cal.local(audited + ACTIONS_WITHIN).date()


def _actions_ctx(cal: Calendar, audit: Audit, form: FormDefinition) -> dict[str, Any]:
    overall = form.overall
    grade = audit.draft.get("answers", {}).get(overall.id) if overall else None
    return {
        "qa_ref": audit.qa_ref,
        "audit_id": audit.id,
        "number": len(form.steps) + 1,
        "total": len(form.steps) + 1,
        "slots": ACTION_SLOTS,
        "latest": _latest_due(cal, audit),
        "required": grade in NEEDS_ACTIONS,
        "overall": grade,
    }


def submit(
    db: Session, cal: Calendar, settings: Settings, audit_id: int, slack_user_id: str, actions: list[dict[str, Any]]
) -> Outcome:
    """Submit the audit with its SMART actions: it moves to moderation, and everyone concerned is told.
    `actions`: [{"slot": n, "description": str, "owner": slack user id or None, "due": date or None}]."""
    found = _open(db, audit_id, slack_user_id, "audit_submit")
    if isinstance(found, Outcome):
        return found
    auditor, audit = found
    form = _form(audit)
    themed = audit.kind == "thematic"
    if not themed and (audit.meeting_at is None or audit.meeting_at > now()):
        return refused("audit_before_meeting", field="action_1")
    if not themed and audit.family_feedback is None:
        return refused("audit_needs_feedback", field="action_1", qa_ref=audit.qa_ref)
    answers = dict(audit.draft.get("answers", {}))
    missing = form.validate_answers(answers)
    if missing:
        first = next(s for s in form.steps if any(q in missing for q in _ids(s)))
        return refused("form_incomplete", field="action_1", step=first.title)
    moment = now()
    latest = _latest_due(cal, audit)
    errors: dict[str, str] = {}
    chosen = []
    # Actions (and what they say) go only to people already on the audit or in the practitioner's line.
    owners = {p.id for p in (audit.practitioner, audit.team_manager, audit.auditor) if p}
    owners |= {m.id for m in line_chain(audit.practitioner)} if audit.practitioner else set()
    for item in actions:
        described, owner, due = (item.get("description") or "").strip(), item.get("owner"), item.get("due")
        if not (described or owner or due):
            continue
        slot = item["slot"]
        person = by_slack_id(db, owner) if owner else None
        if not described:
            errors[f"action_{slot}"] = "action_needs_description"
        elif person is None:
            errors[f"owner_{slot}"] = "action_owner_unknown" if owner else "action_needs_owner"
        elif person.id not in owners:
            errors[f"owner_{slot}"] = "action_owner_not_on_audit"
        elif not isinstance(due, date):
            errors[f"due_{slot}"] = "action_needs_due"
        elif due < cal.local(moment).date() or due > latest:
            errors[f"due_{slot}"] = "action_due_too_late" if due > latest else "action_due_past"
        else:
            chosen.append((slot, described, person, due))
    overall = answers.get(form.overall.id) if form.overall else None
    if not errors and not chosen and overall in NEEDS_ACTIONS:
        errors["action_1"] = "actions_required"
    if errors:
        return refused("action_errors", errors=errors, latest=latest, grade=overall)
    if problem := guard.check(db, {f"action_{slot}": text for slot, text, _, _ in chosen}):
        return problem

    # One conditional UPDATE: of two submissions at once (two devices), only one goes through.
    won = db.execute(
        update(Audit)
        .where(Audit.id == audit.id, Audit.status.in_(OPEN))
        .values(status="complete" if themed else "awaiting_moderation")
    ).rowcount
    db.refresh(audit)
    if not won:
        return refused("audit_not_open", qa_ref=audit.qa_ref, status=audit.status)
    concern = form.concern is not None and answers.get(form.concern.id) == "yes"
    audit.answers, audit.form = answers, form.ref
    audit.grades = {q.id: {"grade": answers.get(q.id), "rationale": answers.get(q.rationale_id)} for q in form.domains}
    audit.overall_grade, audit.immediate_concern = overall, concern
    audit.submitted_at, audit.draft = moment, {}
    audit.meeting_reminder_at = audit.self_assessment_reminder_at = None
    created = []
    for _, described, person, due in chosen:
        action = Action(
            audit_id=audit.id,
            description=described,
            owner_id=person.id,
            status="open",
            due_at=cal.at(due, cal.end),
            created_at=moment,
        )
        digests.schedule_action(cal, settings, action)
        db.add(action)
        created.append((action, person))
    if created:
        supervision.start(cal, settings, audit)
    db.flush()
    trail.record(
        db,
        "audit.submitted",
        actor=auditor,
        subject=audit,
        form=form.ref,
        overall=overall,
        actions=len(created),
        immediate_concern=concern,
    )
    if themed:
        announce(db, audit, auditor, [action for action, _ in created])
        _tell_auditor(db, audit, len(created), themed=True)
        thematic.completed(db, audit)
        return Outcome(ok=True, detail={"qa_ref": audit.qa_ref})
    if overall == form.scale.worst:
        # Inadequate is moderated at once (the moderation step picks this up).
        trail.record(db, "audit.inadequate_flagged", subject=audit)
    if concern:
        safeguarding.raise_concern(db, cal, settings, audit, auditor)
    _tell(db, audit, form, auditor, created)
    moderation.assign(db, cal, settings, audit)
    return Outcome(ok=True, detail={"qa_ref": audit.qa_ref})


def _ids(step) -> set[str]:
    return {key for q in step.questions for key in q.answer_ids}


def _tell(db: Session, audit: Audit, form: FormDefinition, auditor, created: list[tuple[Action, Any]]) -> None:
    grades = [{"domain": q.label, "grade": audit.grades[q.id]["grade"]} for q in form.domains]
    listed = [{"description": a.description, "owner": p.name, "due": a.due_at} for a, p in created]
    summary = {
        "qa_ref": audit.qa_ref,
        "auditor": auditor.name,
        "overall": audit.overall_grade,
        "grades": grades,
        "actions": listed,
        "inadequate": audit.overall_grade == form.scale.worst,
    }
    for person in {p.id: p for p in (audit.practitioner, audit.team_manager) if p}.values():
        if person.slack_user_id:
            outbox.enqueue(
                db, f"audit:{audit.id}:submitted:{person.id}", person.slack_user_id, "audit_submitted", summary
            )
    announce(db, audit, auditor, [action for action, _ in created])
    _tell_auditor(db, audit, len(created), inadequate=audit.overall_grade == form.scale.worst)


def _tell_auditor(db: Session, audit: Audit, actions: int, *, inadequate: bool = False, themed: bool = False) -> None:
    auditor = audit.auditor
    if auditor is not None and auditor.slack_user_id:
        outbox.enqueue(
            db,
            f"audit:{audit.id}:submitted:auditor",
            auditor.slack_user_id,
            "audit_received",
            {
                "qa_ref": audit.qa_ref,
                "overall": audit.overall_grade,
                "actions": actions,
                "inadequate": inadequate,
                "theme": audit.theme.title if themed else None,
            },
        )
