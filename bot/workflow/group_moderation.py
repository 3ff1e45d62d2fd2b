"""Step 6, the group moderators' meeting: the QA team gathers the month's audits still waiting for moderation into
a session, with a date and a chair who is independent of every one of them. Each audit then moves from its
moderator to the chair, who records the outcomes in turn with the ordinary moderation form; the chair's message
follows along, and the QA team hears the meeting's totals once the last outcome is in."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import months, outbox
from bot.calendar import Calendar, now
from bot.config import Settings
from bot.workflow import moderation, trail
from bot.workflow.directory import QA_TEAM, by_slack_id
from bot.workflow.outcome import Outcome, refused
from store.models import Audit, Moderation, ModerationSession, Person

CHAIRS = ("moderator", "qa_team")
# The chair's one message gives each audit a block of its own ("Record outcome" is one button per block), and a
# message holds at most 50 blocks; a meeting of more is better split into two anyway.
MAX_AUDITS = 40


def may_arrange(db: Session, slack_user_id: str | None) -> Person | Outcome:
    """Only the QA team arranges a group meeting. A refusal is on the trail."""
    person = by_slack_id(db, slack_user_id) if slack_user_id else None
    if person is None or not person.roles & QA_TEAM:
        trail.record(
            db, "refused.group_moderation", actor=person, actor_slack_id=slack_user_id, reason="not the QA team"
        )
        return refused("group_not_qa_team")
    return person


def _urgent(audit: Audit) -> bool:
    """Graded Inadequate by the auditor: moderated straight away, so first on the list."""
    return audit.overall_grade is not None and audit.overall_grade == moderation._form(audit).scale.worst


def _in_order(rows: list[tuple[Moderation, Audit]]) -> list[tuple[Moderation, Audit]]:
    return sorted(rows, key=lambda row: not _urgent(row[1]))  # stable: the query's order within each


def waiting(db: Session, month: str) -> list[tuple[Moderation, Audit]]:
    """The month's audits still waiting for moderation and not yet in a group meeting: the Inadequate ones first,
    then by deadline. Unassigned ones (no independent moderator was found) are among them."""
    rows = db.execute(
        select(Moderation, Audit)
        .join(Audit, Audit.id == Moderation.audit_id)
        .where(Audit.month == month, Moderation.status == "pending", Moderation.session_id.is_(None))
        .order_by(Moderation.due_at, Audit.qa_ref)
    ).all()
    return _in_order(list(rows))


def form_context(db: Session, cal: Calendar, slack_user_id: str, month: str) -> Outcome:
    """What `/qa group` opens: the month's waiting moderations (at most a meeting's worth, most urgent first, all
    chosen), the date (today) and the chair (the person asking)."""
    allowed = may_arrange(db, slack_user_id)
    if isinstance(allowed, Outcome):
        return allowed
    rows = waiting(db, month)
    if not rows:
        return refused("group_nothing_pending", month=months.words(month))
    shown = rows[:MAX_AUDITS]
    return Outcome(
        ok=True,
        detail={
            "period": month,
            "month": months.words(month),
            "items": [
                {
                    "moderation_id": m.id,
                    "qa_ref": a.qa_ref,
                    "overall": a.overall_grade,
                    "urgent": _urgent(a),
                }
                for m, a in shown
            ],
            "more": len(rows) - len(shown),
            "limit": MAX_AUDITS,
            "today": cal.local(now()).date(),
            "chair_user": allowed.slack_user_id,
        },
    )


def arrange(
    db: Session,
    cal: Calendar,
    settings: Settings,
    slack_user_id: str,
    month: str,
    moderation_ids: list[int],
    held_on: date | None,
    chair_slack_id: str | None,
) -> Outcome:
    """The QA team's form was submitted: check it (refusals per field, `group_errors`), then in this one
    transaction create the session and move each chosen moderation to its chair, tell the moderators it came from
    (their "please moderate" message, updated in place) and send the chair one message to record outcomes from."""
    creator = may_arrange(db, slack_user_id)
    if isinstance(creator, Outcome):
        return creator
    errors: dict[str, dict[str, Any]] = {}

    today = cal.local(now()).date()
    if held_on is None:
        errors["held_on"] = {"reason": "group_date_needed"}
    elif held_on < today:
        errors["held_on"] = {"reason": "group_date_past"}
    elif not cal.is_working_day(held_on):
        errors["held_on"] = {"reason": "meeting_not_working_day", "day": held_on}

    # Locked, so a moderation recorded (or taken into another meeting) at this moment is either seen as such here
    # or waits for this transaction: never both.
    rows = _in_order(
        list(
            db.execute(
                select(Moderation, Audit)
                .join(Audit, Audit.id == Moderation.audit_id)
                .where(Moderation.id.in_(set(moderation_ids)))
                .order_by(Moderation.due_at, Audit.qa_ref)
                .with_for_update(of=Moderation)
            ).all()
        )
    )
    gone = sorted(a.qa_ref for m, a in rows if m.status != "pending" or m.session_id is not None or a.month != month)
    chosen = [(m, a) for m, a in rows if a.qa_ref not in gone]
    if not moderation_ids:
        errors["audits"] = {"reason": "group_no_audits"}
    elif len(rows) < len(set(moderation_ids)):
        errors["audits"] = {"reason": "unknown"}
    elif gone:
        errors["audits"] = {"reason": "group_not_pending", "refs": gone}
    elif len(chosen) > MAX_AUDITS:
        errors["audits"] = {"reason": "group_too_many", "limit": MAX_AUDITS, "chosen": len(chosen)}

    chair = by_slack_id(db, chair_slack_id) if chair_slack_id else None
    if not chair_slack_id:
        errors["chair"] = {"reason": "group_chair_needed"}
    elif chair is None:
        errors["chair"] = {"reason": "group_chair_unknown"}
    elif not chair.roles & set(CHAIRS):
        errors["chair"] = {"reason": "group_chair_role", "name": chair.name}
    elif conflicts := sorted(a.qa_ref for _, a in chosen if not moderation._eligible(chair, a)):
        errors["chair"] = {"reason": "group_chair_not_independent", "name": chair.name, "refs": conflicts}
    if errors:
        return refused("group_errors", errors=errors)

    session = ModerationSession(
        month=month, held_on=held_on, chair_id=chair.id, created_by_id=creator.id, created_at=now()
    )
    db.add(session)
    db.flush()
    trail.record(
        db,
        "moderation.session_arranged",
        actor=creator,
        subject=session,
        month=month,
        held_on=held_on.isoformat(),
        chair_id=chair.id,
        moderation_ids=[m.id for m, _ in chosen],
        refs=[a.qa_ref for _, a in chosen],
    )
    for m, audit in chosen:
        before = m.moderator_id
        m.session_id, m.mode, m.moderator_id = session.id, "group_meeting", chair.id
        trail.record(
            db,
            "moderation.moved_to_session",
            actor=creator,
            subject=audit,
            moderation_id=m.id,
            session_id=session.id,
            from_moderator_id=before,
            to_moderator_id=chair.id,
        )
        if before is not None:
            outbox.enqueue_update(
                db,
                f"moderation:{m.id}:assigned:session:{session.id}",
                moderation._assigned_key(m),
                "moderation_moved",
                {"qa_ref": audit.qa_ref, "held_on": held_on, "chair": chair.name, "yours": before == chair.id},
            )
    outbox.enqueue(db, _chair_key(session), chair.slack_user_id, "moderation_session", _session_ctx(db, session))
    return Outcome(ok=True, detail={"session_id": session.id})


def _chair_key(session: ModerationSession) -> str:
    return f"moderation-session:{session.id}:chair"


def _session_ctx(db: Session, session: ModerationSession) -> dict[str, Any]:
    """The chair's message: each audit with its auditor's grade and a button, or its moderated grade once recorded."""
    rows = _in_order(
        list(
            db.execute(
                select(Moderation, Audit)
                .join(Audit, Audit.id == Moderation.audit_id)
                .where(Moderation.session_id == session.id)
                .order_by(Moderation.due_at, Audit.qa_ref)
            ).all()
        )
    )
    items = [
        {
            "moderation_id": m.id,
            "qa_ref": a.qa_ref,
            "overall": a.overall_grade,
            "urgent": _urgent(a),
            "recorded": m.status == "done",
            "grade": m.grade if m.status == "done" else None,
        }
        for m, a in rows
    ]
    return {"held_on": session.held_on, "items": items, "complete": all(i["recorded"] for i in items)}


def recorded(db: Session, settings: Settings, done: Moderation) -> None:
    """Called by `moderation.record` once an outcome is in. For an audit in a group meeting: the chair's message
    shows it recorded; after the last one, the meeting is complete and the QA team hears its totals, once."""
    if done.session_id is None:
        return
    # Locked, so of two outcomes recorded at once the second sees the first, and the last one is never missed.
    session = db.get(ModerationSession, done.session_id, with_for_update=True)
    ctx = _session_ctx(db, session)
    outbox.enqueue_update(
        db, f"{_chair_key(session)}:recorded:{done.id}", _chair_key(session), "moderation_session", ctx
    )
    if not ctx["complete"]:
        return
    changes = db.scalars(select(Moderation.changes).where(Moderation.session_id == session.id)).all()
    changed = sum(len(c or {}) for c in changes)
    trail.record(db, "moderation.session_completed", subject=session, audits=len(changes), changed=changed)
    if settings.qa_channel:
        outbox.enqueue(
            db,
            f"moderation-session:{session.id}:summary",
            settings.qa_channel,
            "moderation_session_summary",
            {"held_on": session.held_on, "audits": len(changes), "changed": changed},
        )
