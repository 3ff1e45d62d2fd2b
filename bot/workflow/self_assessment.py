"""Step 2 of the collaborative audit: the practitioner's self-assessment, before the meeting.

A self grade and a reflection for each graded domain of the audit's form (the form definition decides which
domains and which grade scale), then three questions: the child's lived experience, what the practitioner is
proud of, what they would do differently. Only the practitioner writes it; it stays editable until the audit
is submitted; the auditor is told (never sent the content) and reads it in a modal, each view on the trail.
It is due the working day before the meeting (Framework: `self_assessment_days_before_meeting`); the
practitioner is reminded in their digest once when it is due and, if still missing, once more on the morning of
the meeting.

Answers are stored flat, keyed by block_id, like an audit form's: a domain's grade under its question id and
the reflection under its `rationale_id`; the three questions under `QUESTIONS`.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import outbox
from bot.calendar import Calendar, now
from bot.config import Settings
from bot.framework import Framework
from bot.workflow import audit_people, guard, trail
from bot.workflow.allocation import can_see_record
from bot.workflow.forms import MAX_TEXT, RATIONALE_SUFFIX, FormDefinition, grade_scale, load_form
from bot.workflow.outcome import DONE, Outcome, refused
from bot.workflow.reminders import Reminder
from store.models import Audit

OPEN = ("accepted", "in_progress")
# The three questions after the domains, by block_id (their words are in the modal's template).
QUESTIONS = ("lived_experience", "proud_of", "do_differently")


def form_of(audit: Audit) -> FormDefinition:
    """The form the audit is graded on: its domains and grade scale are the self-assessment's too."""
    return load_form(audit.kind)


def due_day(cal: Calendar, framework: Framework, meeting_at: datetime | None) -> date | None:
    """The day the self-assessment is due: working days before the meeting's day (None without a meeting)."""
    if meeting_at is None:
        return None
    return cal.add_working_days(cal.local(meeting_at).date(), -framework.self_assessment_days_before_meeting)


def is_waiting(audit: Audit) -> bool:
    """The practitioner still has a self-assessment to do on this audit."""
    return audit.self_assessed_at is None and _is_open(audit)


def form_context(db: Session, cal: Calendar, settings: Settings, audit_id: int, slack_user_id: str) -> Outcome:
    """What the self-assessment modal needs, prefilled with any earlier answers. The practitioner only."""
    found = audit_people.require(db, audit_id, slack_user_id, "practitioner", "self_assessment_open")
    if isinstance(found, Outcome):
        return found
    _, audit = found
    if not _is_open(audit):
        return refused("self_assessment_closed", qa_ref=audit.qa_ref, status=audit.status)
    form = form_of(audit)
    saved = dict((audit.self_assessment or {}).get("answers") or {})
    scale = form.scale
    for d in form.domains:  # a grade from an older scale is not offered, so it is asked for again
        if saved.get(d.id) not in scale:
            saved.pop(d.id, None)
    return Outcome(
        ok=True,
        detail={
            "qa_ref": audit.qa_ref,
            "audit_id": audit.id,
            "auditor": audit.auditor.name if audit.auditor else None,
            "meeting": audit.meeting_at,
            "due": due_day(cal, settings.framework, audit.meeting_at),
            "grades": [{"code": g.code, "words": g.words} for g in scale.grades],
            "domains": list(form.domains),
            "max_length": MAX_TEXT,
            "values": saved,
        },
    )


def submit(
    db: Session, cal: Calendar, settings: Settings, audit_id: int, slack_user_id: str, answers: dict[str, Any]
) -> Outcome:
    """Save the practitioner's answers (first time or an edit) and tell the auditor. Refusals name the field:
    `self_assessment_incomplete` carries per-field `problems` (and any PII found meanwhile, under `pii`)."""
    found = audit_people.require(db, audit_id, slack_user_id, "practitioner", "self_assessment_submit")
    if isinstance(found, Outcome):
        return found
    practitioner, audit = found
    if not _is_open(audit):
        return refused("self_assessment_closed", qa_ref=audit.qa_ref, status=audit.status)
    form = form_of(audit)
    scale = form.scale
    problems: dict[str, dict[str, Any]] = {}
    clean: dict[str, str] = {}
    texts: dict[str, str] = {}
    for d in form.domains:
        grade = answers.get(d.id)
        if isinstance(grade, str) and grade in scale:
            clean[d.id] = grade
        else:
            problems[d.id] = {"reason": "self_assessment_missing", "question": "grade", "label": d.label}
        _take_text(answers, d.rationale_id or "", "reflection", d.label, problems, texts)
    for question in QUESTIONS:
        _take_text(answers, question, question, None, problems, texts)
    found_pii = guard.check(db, texts)
    if problems:
        pii = found_pii.detail["fields"] if found_pii else {}
        return refused("self_assessment_incomplete", problems=problems, pii=pii)
    if found_pii:
        return found_pii

    moment = now()
    first = audit.self_assessed_at is None
    audit.self_assessment = {
        "form": form.ref,
        "grade_scale": scale.version,
        "domains": [d.id for d in form.domains],
        "saved_at": moment.isoformat(),
        "answers": clean | texts,
    }
    if first:
        audit.self_assessed_at = moment
    audit.self_assessment_reminder_at = None
    trail.record(
        db,
        "audit.self_assessed" if first else "audit.self_assessment_updated",
        actor=practitioner,
        subject=audit,
        form=form.ref,
        grades={d.id: clean[d.id] for d in form.domains},
    )
    auditor = audit.auditor
    if auditor is not None and auditor.slack_user_id:
        outbox.enqueue(
            db,
            f"self_assessment:{audit.id}:{moment.isoformat()}:auditor:{auditor.id}",
            auditor.slack_user_id,
            "self_assessment_done",
            {
                "qa_ref": audit.qa_ref,
                "audit_id": audit.id,
                "practitioner": practitioner.name,
                "updated": not first,
                "meeting": audit.meeting_at if audit.meeting_at and audit.meeting_at > moment else None,
            },
        )
    return DONE


def view_context(db: Session, audit_id: int, slack_user_id: str) -> Outcome:
    """The answers, read-only, for the people on the audit (auditor, practitioner, team manager). Every view
    is on the trail; on a restricted record only the practitioner and people granted access see it."""
    found = audit_people.on_audit(db, audit_id, slack_user_id, "self_assessment_view")
    if isinstance(found, Outcome):
        return found
    person, audit, roles = found
    if "practitioner" not in roles and not can_see_record(db, audit.case, person):
        trail.record(db, "refused.self_assessment_view", actor=person, subject=audit, reason="restricted record")
        return refused("self_assessment_restricted", qa_ref=audit.qa_ref)
    stored = audit.self_assessment or {}
    if audit.self_assessed_at is None or not stored.get("answers"):
        return refused("self_assessment_not_done", qa_ref=audit.qa_ref)
    trail.record(db, "audit.self_assessment_viewed", actor=person, subject=audit, roles=sorted(roles))
    answers = stored["answers"]
    labels = {d.id: d.label for d in form_of(audit).domains}
    scale = grade_scale(stored.get("grade_scale"))
    domains = [
        {
            "label": labels.get(domain_id, domain_id.replace("_", " ").capitalize()),
            "words": scale.words(answers[domain_id]),
            "reflection": answers.get(domain_id + RATIONALE_SUFFIX, ""),
        }
        for domain_id in stored.get("domains", [])
        if domain_id in answers
    ]
    return Outcome(
        ok=True,
        detail={
            "qa_ref": audit.qa_ref,
            "practitioner": audit.practitioner.name if audit.practitioner else "The practitioner",
            "saved_at": datetime.fromisoformat(stored["saved_at"]),
            "updated": datetime.fromisoformat(stored["saved_at"]) > audit.self_assessed_at,
            "domains": domains,
            **{question: answers.get(question, "") for question in QUESTIONS},
        },
    )


def due_reminders(db: Session, cal: Calendar, settings: Settings, moment: datetime) -> list[Reminder]:
    """For the practitioner's digest: a self-assessment due and missing (its stored self_assessment_reminder_at) is
    reminded once; if it is still missing on the day of the meeting, once more that morning. One no longer waited
    for, or whose meeting has passed, is not reminded."""
    due = db.scalars(
        select(Audit).where(Audit.self_assessment_reminder_at <= moment).order_by(Audit.self_assessment_reminder_at)
    ).all()
    found = []
    for audit in due:
        meeting_at = audit.meeting_at
        if not is_waiting(audit) or (meeting_at is not None and meeting_at <= moment):
            audit.self_assessment_reminder_at = None
            continue
        meeting_day = cal.local(meeting_at).date() if meeting_at else None
        on_the_day = meeting_day == cal.local(moment).date()
        item = {
            "kind": "self_assessment",
            "id": audit.id,
            "qa_ref": audit.qa_ref,
            "meeting": meeting_at,
            "due": due_day(cal, settings.framework, meeting_at),
            "on_the_day": on_the_day,
        }
        found.append(
            Reminder(item, [audit.practitioner], audit, partial(_reminded, db, cal, settings, audit, on_the_day))
        )
    return found


def _reminded(db: Session, cal: Calendar, settings: Settings, audit: Audit, on_the_day: bool, moment: datetime) -> None:
    audit.self_assessment_reminder_at = None
    trail.record(db, "audit.self_assessment_reminded", subject=audit, on_the_day=on_the_day)
    if audit.meeting_at is not None and not on_the_day:
        again = cal.at(cal.local(audit.meeting_at).date(), settings.framework.reminder_time)
        audit.self_assessment_reminder_at = again if moment < again < audit.meeting_at else None


def _is_open(audit: Audit) -> bool:
    return audit.status in OPEN and audit.submitted_at is None


def _take_text(
    answers: dict[str, Any],
    key: str,
    question: str,
    label: str | None,
    problems: dict[str, dict[str, Any]],
    texts: dict[str, str],
) -> None:
    value = answers.get(key)
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        problems[key] = {"reason": "self_assessment_missing", "question": question, "label": label}
    elif len(text) > MAX_TEXT:
        problems[key] = {"reason": "self_assessment_too_long", "limit": MAX_TEXT, "length": len(text)}
        texts[key] = text
    else:
        texts[key] = text
