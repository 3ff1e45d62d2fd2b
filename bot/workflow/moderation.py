"""Step 6, moderation: every submitted audit goes to an independent moderator, who agrees or changes each grade
(with a rationale for every change) by the end of the month, or within two working days when the auditor graded
it Inadequate. The outcome goes to the practitioner, team manager and auditor."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot import outbox
from bot.calendar import Calendar, now
from bot.config import Settings
from bot.workflow import disputes, good_practice, group_moderation, guard, inadequate, trail
from bot.workflow.auditors import independent
from bot.workflow.directory import by_slack_id
from bot.workflow.forms import FormDefinition, load_form
from bot.workflow.outcome import Outcome, refused
from bot.workflow.reminders import Reminder
from store.models import Audit, Moderation, OutboxMessage, Person, PersonRole

INADEQUATE_WITHIN = 2  # working days: an Inadequate audit is moderated immediately
REMIND_WITHIN = 2  # working days before the deadline the moderator is reminded, daily
MODES = ("reflective", "group_meeting")


def _form(audit: Audit) -> FormDefinition:
    return load_form(audit.kind)


def _graded(form: FormDefinition) -> list:
    """The grades a moderator agrees or changes: each domain, then the overall grade."""
    return [*form.domains, *([form.overall] if form.overall else [])]


def _auditor_grades(audit: Audit, form: FormDefinition) -> dict[str, str | None]:
    grades = {q.id: (audit.grades.get(q.id) or {}).get("grade") for q in form.domains}
    if form.overall:
        grades[form.overall.id] = audit.overall_grade
    return grades


# ----- assignment ---------------------------------------------------------------------------------------------


def _pending_load(db: Session) -> defaultdict[int, int]:
    load: defaultdict[int, int] = defaultdict(int)
    counted = db.execute(
        select(Moderation.moderator_id, func.count())
        .where(Moderation.status == "pending", Moderation.moderator_id.is_not(None))
        .group_by(Moderation.moderator_id)
    )
    load.update(dict(counted.all()))
    return load


def _eligible(moderator: Person, audit: Audit) -> bool:
    """Never the auditor, and never in the practitioner's team or line (the auditors' rule)."""
    if moderator.id in (audit.auditor_id, audit.practitioner_id, audit.team_manager_id):
        return False
    return audit.practitioner is None or independent(moderator, audit.practitioner, audit.case)


def choose(db: Session, audit: Audit) -> Person | None:
    """The least-loaded independent active moderator (pending moderations), ties by directory order."""
    moderators = db.scalars(
        select(Person)
        .join(PersonRole)
        .where(PersonRole.role == "moderator", Person.active.is_(True))
        .order_by(Person.id)
    )
    eligible = [m for m in moderators if _eligible(m, audit)]
    if not eligible:
        return None
    load = _pending_load(db)
    return min(eligible, key=lambda m: load[m.id])


def due_at(cal: Calendar, inadequate: bool) -> datetime:
    """End of working hours on the month's last working day, or two working days from now for Inadequate."""
    today = cal.local(now()).date()
    if not inadequate:
        due = cal.at(cal.last_working_day(today.year, today.month), cal.end)
        if due > now():
            return due
    return cal.at(cal.add_working_days(today, INADEQUATE_WITHIN), cal.end)


def assign(db: Session, cal: Calendar, settings: Settings, audit: Audit) -> Moderation | None:
    """Called when the audit is submitted: pick a moderator and tell them. With nobody to pick, None: the
    moderation is kept unassigned and the next reminder sweep tells the QA team (by QA reference only)."""
    form = _form(audit)
    inadequate = audit.overall_grade == form.scale.worst
    moderator = choose(db, audit)
    due = due_at(cal, inadequate)
    if moderator is None:
        # Kept unassigned, with its deadline: the reminder sweep lists it to the QA team each working day.
        db.add(Moderation(audit_id=audit.id, moderator_id=None, mode="reflective", status="pending", due_at=due))
        trail.record(db, "moderation.unassigned", subject=audit, reason="no independent moderator")
        return None
    moderation = Moderation(
        audit_id=audit.id,
        moderator_id=moderator.id,
        mode="reflective",
        status="pending",
        due_at=due_at(cal, inadequate),
    )
    db.add(moderation)
    db.flush()
    trail.record(
        db,
        "moderation.assigned",
        actor=None,
        subject=audit,
        moderation_id=moderation.id,
        moderator_id=moderator.id,
        due_at=moderation.due_at.isoformat(),
        inadequate=inadequate,
    )
    if moderator.slack_user_id:
        outbox.enqueue(
            db,
            _assigned_key(moderation),
            moderator.slack_user_id,
            "moderation_assigned",
            _assigned_ctx(audit, moderation, inadequate, decided=None),
        )
    return moderation


def _assigned_key(moderation: Moderation) -> str:
    return f"moderation:{moderation.id}:assigned"


def _assigned_ctx(
    audit: Audit, moderation: Moderation, inadequate: bool, decided: datetime | None, nominated: bool = False
) -> dict[str, Any]:
    return {
        "qa_ref": audit.qa_ref,
        "moderation_id": moderation.id,
        "overall": audit.overall_grade,
        "due": moderation.due_at,
        "inadequate": inadequate,
        "decided": decided,
        "nominated": nominated,
    }


# ----- the form -----------------------------------------------------------------------------------------------


def _require(
    db: Session, moderation_id: int, slack_user_id: str, action: str
) -> tuple[Person, Moderation, Audit] | Outcome:
    """The moderator, moderation and audit when `slack_user_id` is its moderator and it is still pending."""
    person = by_slack_id(db, slack_user_id)
    moderation = db.get(Moderation, moderation_id)
    audit = db.get(Audit, moderation.audit_id) if moderation else None
    if person is None or moderation is None or audit is None:
        trail.record(db, f"refused.{action}", actor_slack_id=slack_user_id, subject=audit, reason="unknown")
        return refused("unknown")
    if person.id != moderation.moderator_id:
        trail.record(db, f"refused.{action}", actor=person, subject=audit, reason="not the moderator")
        return refused("not_the_moderator", qa_ref=audit.qa_ref, moved=moderation.session_id is not None)
    if moderation.status != "pending":
        return refused("moderation_done", qa_ref=audit.qa_ref, at=moderation.decided_at)
    return person, moderation, audit


def form_context(db: Session, moderation_id: int, slack_user_id: str) -> Outcome:
    """What the moderation form shows: the auditor's grade for each domain and overall, to agree or change."""
    found = _require(db, moderation_id, slack_user_id, "moderation_open")
    if isinstance(found, Outcome):
        return found
    _, moderation, audit = found
    form = _form(audit)
    given = _auditor_grades(audit, form)
    return Outcome(
        ok=True,
        detail={
            "qa_ref": audit.qa_ref,
            "moderation_id": moderation.id,
            "auditor": audit.auditor.name if audit.auditor else "the auditor",
            "due": moderation.due_at,
            "grades": [
                {"id": q.id, "rationale_id": q.rationale_id, "label": q.label, "grade": given[q.id]}
                for q in _graded(form)
            ],
            "scale": [{"code": g.code, "words": g.words} for g in form.scale.grades],
            "mode": moderation.mode,
            "good_practice": good_practice.offered(audit),
        },
    )


def record(
    db: Session,
    cal: Calendar,
    settings: Settings,
    moderation_id: int,
    slack_user_id: str,
    grades: dict[str, str | None],
    rationales: dict[str, str | None],
    mode: str | None,
    nominate: bool = False,
    nomination_reason: str | None = None,
) -> Outcome:
    """Record the moderation: `grades` by question id (domains and overall), `rationales` by question id.
    A changed grade needs its rationale; refusals name the field (`moderation_errors`: field -> reason code).
    With `nominate`, the audit is also nominated as an example of good practice (`nomination_reason`: what
    others should learn from it), in the same transaction."""
    found = _require(db, moderation_id, slack_user_id, "moderation_record")
    if isinstance(found, Outcome):
        return found
    moderator, moderation, audit = found
    form = _form(audit)
    given = _auditor_grades(audit, form)
    errors: dict[str, str] = {}
    changes: dict[str, dict[str, Any]] = {}
    for q in _graded(form):
        chosen = grades.get(q.id) or given[q.id]
        why = (rationales.get(q.id) or "").strip()
        if chosen is None:  # a domain the auditor left ungraded, left so
            continue
        if chosen not in form.scale:
            errors[q.id] = "moderation_grade_needed"
        elif chosen != given[q.id]:
            if not why:
                errors[q.rationale_id or q.id] = "moderation_rationale_needed"
            else:
                changes[q.id] = {"from": given[q.id], "to": chosen, "rationale": why}
    if mode not in MODES:
        errors["mode"] = "moderation_mode_needed"
    overall_id = form.overall.id if form.overall else None
    moderated = changes[overall_id]["to"] if overall_id in changes else given.get(overall_id)
    nominating, words = good_practice.moderation_errors(db, audit, form.scale, moderated, nominate, nomination_reason)
    if errors or nominating:
        return refused("moderation_errors", errors=errors | nominating, **words)
    typed = {q.rationale_id: rationales.get(q.id) for q in _graded(form) if q.rationale_id}
    if nominate:
        typed[good_practice.REASON_FIELD] = nomination_reason
    if problem := guard.check(db, typed):
        return problem

    # One conditional UPDATE: of two submissions at once (or one racing a move to a group meeting), one decides.
    moment = now()
    won = db.execute(
        update(Moderation)
        .where(Moderation.id == moderation.id, Moderation.status == "pending", Moderation.moderator_id == moderator.id)
        .values(status="done", decided_at=moment)
    ).rowcount
    db.refresh(moderation)
    if not won and moderation.status == "pending":
        return refused("not_the_moderator", qa_ref=audit.qa_ref, moved=moderation.session_id is not None)
    if not won:
        return refused("moderation_done", qa_ref=audit.qa_ref, at=moderation.decided_at)
    final = {qid: (changes[qid]["to"] if qid in changes else grade) for qid, grade in given.items()}
    moderation.mode, moderation.changes = mode, changes
    moderation.grade = final.get(overall_id) if overall_id else None
    moderation.rationale = changes[overall_id]["rationale"] if overall_id in changes else None
    # The auditor's grades stay on the audit as they were given: the moderated ones are on the moderation.
    audit.status = "moderated"
    trail.record(
        db,
        "moderation.recorded",
        actor=moderator,
        subject=audit,
        moderation_id=moderation.id,
        mode=mode,
        agreed=len(final) - len(changes),
        changed=len(changes),
        overall=moderation.grade,
    )
    if nominate:
        good_practice.nominate(db, settings, audit, moderator, "moderator", moderation.grade, nomination_reason)
    _tell(db, audit, form, moderator, moderation, given, final, disputes.deadline(cal, settings, moderation))
    inadequate.settle(db, cal, settings, audit, moderation.grade, by=moderator)
    group_moderation.recorded(db, settings, moderation)
    return Outcome(ok=True, detail={"qa_ref": audit.qa_ref})


def _tell(
    db: Session,
    audit: Audit,
    form: FormDefinition,
    moderator: Person,
    moderation: Moderation,
    given: dict[str, str | None],
    final: dict[str, str | None],
    dispute_by: datetime,
) -> None:
    """The case audit alert: the moderated grades (and each change's rationale) to the practitioner, team manager
    and auditor in DMs only (the first two may dispute it until `dispute_by`); the earlier "audit completed"
    messages are updated in place."""
    overall_id = form.overall.id if form.overall else None
    results = [
        {
            "domain": q.label,
            "grade": final[q.id],
            "was": given[q.id],
            "why": moderation.changes.get(q.id, {}).get("rationale"),
        }
        for q in form.domains
    ]
    overall = {"overall": moderation.grade, "was": given.get(overall_id) if overall_id else None}
    alert = {
        "qa_ref": audit.qa_ref,
        "moderator": moderator.name,
        **overall,
        "why": moderation.rationale,
        "results": results,
        "changed": len(moderation.changes),
    }
    people = {p.id: p for p in (audit.practitioner, audit.team_manager, audit.auditor) if p}
    for person in people.values():
        if person.slack_user_id:
            outbox.enqueue(
                db,
                f"moderation:{moderation.id}:outcome:{person.id}",
                person.slack_user_id,
                "moderation_outcome",
                alert
                | (
                    {"dispute": moderation.id, "dispute_by": dispute_by}
                    if person.id in (audit.practitioner_id, audit.team_manager_id)
                    else {"dispute": None, "dispute_by": None}
                )
                | good_practice.outcome_context(db, audit, person, moderation.grade),
            )
    for person in {p.id: p for p in (audit.practitioner, audit.team_manager) if p}.values():
        of_key = f"audit:{audit.id}:submitted:{person.id}"
        original = db.scalar(select(OutboxMessage.context).where(OutboxMessage.key == of_key))
        actions = outbox.decode(original or {}).get("actions", [])
        outbox.enqueue_update(
            db,
            f"moderation:{moderation.id}:submitted:{person.id}",
            of_key,
            "moderation_audit_update",
            {
                "qa_ref": audit.qa_ref,
                "auditor": audit.auditor.name if audit.auditor else "the auditor",
                **overall,
                "results": [{k: r[k] for k in ("domain", "grade", "was")} for r in results],
                "actions": actions,
            },
        )
    received = f"audit:{audit.id}:submitted:auditor"
    original = db.scalar(select(OutboxMessage.context).where(OutboxMessage.key == received))
    if original is not None:
        outbox.enqueue_update(
            db,
            f"moderation:{moderation.id}:received",
            received,
            "audit_received",
            outbox.decode(original) | {"moderated": overall},
        )
    if moderation.session_id is not None:
        return  # moved to a group meeting: the first moderator's message already says so, and stays so
    outbox.enqueue_update(
        db,
        f"moderation:{moderation.id}:assigned:done",
        _assigned_key(moderation),
        "moderation_assigned",
        _assigned_ctx(
            audit,
            moderation,
            given.get(overall_id) == form.scale.worst,
            decided=moderation.decided_at,
            nominated=good_practice.nomination_of(db, audit.id) is not None,
        ),
    )


# ----- reminders ----------------------------------------------------------------------------------------------


def due_reminders(db: Session, cal: Calendar, moment: datetime) -> list[Reminder]:
    """For the moderator's digest: each pending moderation due within two working days (or overdue), every working
    day but the one it was assigned on (a query over its stored due_at and the assignment message's time). A group
    meeting's audits are moderated at the meeting: its chair is not reminded of each one."""
    today = cal.local(moment).date()
    horizon = cal.at(cal.add_working_days(today, REMIND_WITHIN), cal.end)
    due = db.execute(
        select(Moderation, Audit, Person)
        .join(Audit, Audit.id == Moderation.audit_id)
        .join(Person, Person.id == Moderation.moderator_id)
        .where(Moderation.status == "pending", Moderation.due_at <= horizon, Moderation.session_id.is_(None))
        .order_by(Moderation.due_at, Moderation.id)
    ).all()
    found = []
    for moderation, audit, moderator in due:
        assigned = db.scalar(select(OutboxMessage.created_at).where(OutboxMessage.key == _assigned_key(moderation)))
        if assigned is not None and cal.local(assigned).date() == today:
            continue
        overdue = moderation.due_at <= moment
        item = {
            "kind": "moderation",
            "id": moderation.id,
            "qa_ref": audit.qa_ref,
            "due": moderation.due_at,
            "overdue": overdue,
        }
        found.append(Reminder(item, [moderator], audit, partial(_reminded, db, audit, moderation, overdue)))
    return found


def _reminded(db: Session, audit: Audit, moderation: Moderation, overdue: bool, moment: datetime) -> None:
    trail.record(db, "moderation.reminded", subject=audit, moderation_id=moderation.id, overdue=overdue)


def list_for_qa(db: Session, cal: Calendar, settings: Settings) -> int:
    """Sweep, on working days: the overdue moderations, and any nobody could be assigned, are listed to the QA team
    once a day, by QA reference only. Returns the lists queued."""
    moment = now()
    today = cal.local(moment).date()
    if not cal.is_working_day(today) or not settings.qa_channel:
        return 0
    listed = 0
    unassigned = db.scalars(
        select(Audit.qa_ref)
        .join(Moderation, Moderation.audit_id == Audit.id)
        .where(Moderation.status == "pending", Moderation.moderator_id.is_(None))
        .order_by(Audit.id)
    ).all()
    if unassigned and outbox.enqueue(
        db,
        f"moderation:unassigned:{today.isoformat()}",
        settings.qa_channel,
        "moderation_qa",
        {"kind": "unassigned", "refs": list(unassigned)},
    ):
        listed += 1
    late = db.scalars(
        select(Audit.qa_ref)
        .join(Moderation, Moderation.audit_id == Audit.id)
        .where(Moderation.status == "pending", Moderation.moderator_id.is_not(None), Moderation.due_at <= moment)
        .order_by(Moderation.due_at, Moderation.id)
    ).all()
    if late and outbox.enqueue(
        db,
        f"moderation:late:{today.isoformat()}",
        settings.qa_channel,
        "moderation_qa",
        {"kind": "late", "refs": list(late)},
    ):
        listed += 1
        trail.record(db, "moderation.late_listed", refs=list(late))
    return listed
