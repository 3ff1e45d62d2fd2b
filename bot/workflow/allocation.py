"""Step 1 of the collaborative audit: an auditor is allocated a case, told in a DM, and accepts (reminded in their
digest after 2 working days; the QA team told after 4)."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot import months, outbox
from bot.calendar import Calendar, now
from bot.config import Settings
from bot.workflow import audit_people, auditors, caselist, guard, reminders, thematic_due, trail
from bot.workflow.directory import manager_with_role
from bot.workflow.outcome import DONE, Outcome, refused
from bot.workflow.reminders import Reminder
from store import writes
from store.models import Audit, Case, CaseAccess, Event, Person, Theme

# Child-protection and looked-after children's audits need a Conference & Reviewing Officer at the meeting.
CRO_CATEGORIES = {"CP", "CLA"}
DECLINE_REASON_LIMIT = 1000  # characters; the form's input says the same, so this catches a forged submission


def next_qa_ref(db: Session, month: str) -> str:
    """The month's next QA reference, one higher than its highest so far; the month's allocations are held until
    this transaction ends, so another process's allocation cannot take the same number meanwhile."""
    writes.one_at_a_time(db, "allocation", month)
    prefix = f"QA-{month}-"
    # The highest number is the longest reference, then the last in order: QA-2027-01-999 comes before -1000.
    last = db.scalar(
        select(Audit.qa_ref)
        .where(Audit.month == month, Audit.qa_ref.startswith(prefix, autoescape=True))
        .order_by(func.length(Audit.qa_ref).desc(), Audit.qa_ref.desc())
        .limit(1)
    )
    number = int(last.removeprefix(prefix)) if last and last.removeprefix(prefix).isdigit() else 0
    return f"{prefix}{number + 1:03d}"


def can_see_record(db: Session, case: Case, person: Person) -> bool:
    if not case.restricted:
        return True
    return db.get(CaseAccess, (case.id, person.id)) is not None


def allocate(
    db: Session,
    cal: Calendar,
    settings: Settings,
    case: Case,
    auditor: Person,
    month: str,
    *,
    by: Person | None = None,
    theme: Theme | None = None,
) -> Audit:
    """Allocate `case` to `auditor` for `month`; `by` is the QA team member who confirmed it (None: the bot).
    With `theme`, a thematic audit: due by the theme's deadline, on the theme's form."""
    moment = now()
    # The case as the month's list gives it: the practitioner and category the QA team reviewed.
    as_listed = caselist.listed(db, month, [case])[case.id]
    practitioner = as_listed.worker
    fw = settings.framework
    accept_by = cal.add_working_days(cal.local(moment).date(), fw.accept_within_days)
    audit = Audit(
        qa_ref=next_qa_ref(db, month),
        case=case,
        month=month,
        category=as_listed.category,
        auditor=auditor,
        practitioner=practitioner,
        team_manager=manager_with_role(practitioner, "team_manager") if practitioner else None,
        status="allocated",
        allocated_at=moment,
        accept_by=accept_by,
        next_reminder_at=cal.at(accept_by, fw.reminder_time),
        # The QAF: every audit is moderated by the end of the calendar month.
        due_at=cal.at(cal.last_working_day(*map(int, month.split("-"))), cal.end),
    )
    if theme is not None:
        audit.kind, audit.theme, audit.due_at = "thematic", theme, cal.at(theme.audits_by, cal.end)
    elif case.reaudit_due == month and (previous := previous_audit(db, case, month)) is not None:
        audit.cycle, audit.reaudit_of_id = previous.cycle + 1, previous.id
    db.add(audit)
    db.flush()
    trail.record(db, "audit.allocated", actor=by, subject=audit, auditor_id=auditor.id, month=month)

    if auditor.slack_user_id:
        outbox.enqueue(
            db,
            _request_key(audit),
            auditor.slack_user_id,
            "allocation_request",
            _request_context(db, cal, settings, audit, auditor),
        )
    return audit


def previous_audit(db: Session, case: Case, month: str) -> Audit | None:
    """The case's latest moderated audit before `month`: the one a re-audit follows up."""
    return db.scalar(
        select(Audit)
        .where(Audit.case_id == case.id, Audit.month < month, Audit.status == "moderated")
        .order_by(Audit.month.desc(), Audit.id.desc())
        .limit(1)
    )


def tell_people_on_the_case(db: Session, audits: list[Audit], batch: str, *, changed: bool = False) -> None:
    """The practitioner, team manager and service manager hear who will audit: one message each per batch,
    however many of their cases were allocated (`changed`: a passed-back audit's new auditor)."""
    told: dict[tuple[int, str], list[Audit]] = {}
    people: dict[int, Person] = {}
    for audit in audits:
        practitioner = audit.practitioner
        if practitioner is None:
            continue
        for role, person in (
            ("practitioner", practitioner),
            ("team_manager", audit.team_manager),
            ("service_manager", manager_with_role(practitioner, "service_manager")),
        ):
            if person and person.slack_user_id:
                told.setdefault((person.id, role), []).append(audit)
                people[person.id] = person
    for (person_id, role), theirs in told.items():
        outbox.enqueue(
            db,
            f"allocation:told:{batch}:{person_id}:{role}",
            people[person_id].slack_user_id,
            "allocation_told",
            {
                "role": role,
                "month": months.words(theirs[0].month),
                "items": [{"qa_ref": a.qa_ref, "auditor": a.auditor.name} for a in theirs],
                "changed": changed,
            },
        )


def _request_key(audit: Audit) -> str:
    # Per auditor: a reallocated audit asks its new auditor afresh.
    return f"allocation:{audit.id}:request:{audit.auditor_id}"


def _request_context(db: Session, cal: Calendar, settings: Settings, audit: Audit, auditor: Person) -> dict:
    case = audit.case
    ctx = {
        "qa_ref": audit.qa_ref,
        "audit_id": audit.id,
        "accept_by": audit.accept_by,
        "restricted": not can_see_record(db, case, auditor),
        "reaudit_of": db.get(Audit, audit.reaudit_of_id).qa_ref if audit.reaudit_of_id else None,
        "theme": audit.theme.title if audit.theme else None,
    }
    if ctx["restricted"]:
        return ctx
    team = caselist.listed(db, audit.month, [case])[case.id].team
    return ctx | {
        "case_ref": case.case_ref,
        "category": audit.category,
        "team": team.name if team else "not recorded",
        "practitioner": audit.practitioner.name if audit.practitioner else "not matched",
        "team_manager": audit.team_manager.name if audit.team_manager else "not recorded",
        "cro_required": audit.category in CRO_CATEGORIES,
        "case_link": settings.case_url.format(case_id=case.case_ref) if settings.case_url else None,
        "month": months.words(audit.month),
        "complete_by": cal.local(audit.due_at).date(),
    }


def _decide(db: Session, person: Person, audit: Audit, status: str, template: str, **values) -> Outcome:
    """One conditional UPDATE, so of two simultaneous clicks only one wins; then the trail, and the buttons
    replaced by the decision on every message that carried them."""
    moment = now()
    won = db.execute(
        update(Audit)
        # The auditor too: an audit the QA team moved meanwhile (qabot reallocate) is no longer theirs to decide.
        .where(Audit.id == audit.id, Audit.status == "allocated", Audit.auditor_id == person.id)
        .values(status=status, next_reminder_at=None, **values)
    ).rowcount
    db.refresh(audit)
    if not won and audit.auditor_id != person.id:
        return refused("not_your_allocation", qa_ref=audit.qa_ref)
    if not won:
        return refused("already_decided", qa_ref=audit.qa_ref, status=audit.status, at=audit.accepted_at)
    done = {
        "qa_ref": audit.qa_ref,
        "audit_id": audit.id,
        "by_name": person.name,
        "at": moment,
        "thematic": audit.kind == "thematic",
    }
    outbox.enqueue_update(db, f"{_request_key(audit)}:{status}", _request_key(audit), template, done)
    decided = {"status": status, "by": person.name, "at": moment}
    reminders.show_everywhere(db, person, audit, "accept", audit.id, f"accept:{audit.id}:{status}", decided=decided)
    return DONE


def accept(db: Session, cal: Calendar, settings: Settings, audit_id: int, slack_user_id: str) -> Outcome:
    found = audit_people.require(db, audit_id, slack_user_id, "auditor", "allocation_accept", "not_your_allocation")
    if isinstance(found, Outcome):
        return found
    person, audit = found
    outcome = _decide(db, person, audit, "accepted", "allocation_accepted", accepted_at=now())
    if outcome.ok:
        trail.record(db, "audit.accepted", actor=person, subject=audit)
        if audit.theme is not None:
            thematic_due.schedule_audit(cal, settings, audit)
    return outcome


def may_decide(db: Session, audit_id: int, slack_user_id: str) -> Outcome:
    """Before a form is opened: is this the allocated auditor, and is the allocation still open?"""
    found = audit_people.require(db, audit_id, slack_user_id, "auditor", "allocation_decline", "not_your_allocation")
    if isinstance(found, Outcome):
        return found
    _, audit = found
    if audit.status != "allocated":
        return refused("already_decided", qa_ref=audit.qa_ref, status=audit.status, at=audit.accepted_at)
    return Outcome(ok=True, detail={"qa_ref": audit.qa_ref})


def decline(db: Session, cal: Calendar, settings: Settings, audit_id: int, slack_user_id: str, reason: str) -> Outcome:
    """The auditor can't take it: recorded with the reason, and the QA team is asked to reallocate."""
    found = audit_people.require(db, audit_id, slack_user_id, "auditor", "allocation_decline", "not_your_allocation")
    if isinstance(found, Outcome):
        return found
    person, audit = found
    if len(reason) > DECLINE_REASON_LIMIT:
        return refused("allocation_reason_too_long", field="reason", limit=DECLINE_REASON_LIMIT, length=len(reason))
    if problem := guard.check(db, {"reason": reason}):
        return problem
    outcome = _decide(db, person, audit, "declined", "allocation_declined")
    if not outcome.ok:
        return outcome
    # The reason stays on the trail: free text is not repeated into a channel.
    trail.record(db, "audit.declined", actor=person, subject=audit, reason=reason)
    replacement = reallocate(db, cal, settings, audit, person)
    if settings.qa_channel:
        outbox.enqueue(
            db,
            f"allocation:{audit.id}:declined:{person.id}:qa",
            settings.qa_channel,
            "allocation_declined_qa",
            {"qa_ref": audit.qa_ref, "auditor": person.name, "new_auditor": replacement.name if replacement else None},
        )
    return DONE


def reallocate(db: Session, cal: Calendar, settings: Settings, audit: Audit, declined_by: Person) -> Person | None:
    """Give a passed-back audit to another independent auditor with capacity (never one who passed it back
    before); None when there is nobody, and the QA team resolves it."""
    practitioner = audit.practitioner
    if practitioner is None or not practitioner.active:
        return None
    chosen = least_loaded(db, settings, audit, exclude=passed_back(db, audit) | {declined_by.id})
    if chosen is None:
        trail.record(db, "audit.reallocation_needed", subject=audit)
        return None
    hand_over(db, cal, settings, audit, chosen, declined_by)
    return chosen


def passed_back(db: Session, audit: Audit) -> set[int]:
    """Everyone who has passed this audit back."""
    return set(
        db.scalars(
            select(Event.actor_id).where(
                Event.kind == "audit.declined", Event.subject_type == "audits", Event.subject_id == audit.id
            )
        )
    )


def least_loaded(db: Session, settings: Settings, audit: Audit, *, exclude: set[int]) -> Person | None:
    """The least-loaded independent auditor under the monthly maximum for `audit`, or None."""
    pool = auditors.available(db, seed=audit.id)
    load = auditors.monthly_load(db, audit.month)
    return auditors.pick(
        pool, load, audit.practitioner, audit.case, settings.framework.auditor_monthly_max, exclude=exclude
    )


def hand_over(
    db: Session,
    cal: Calendar,
    settings: Settings,
    audit: Audit,
    chosen: Person,
    previous: Person | None,
    *,
    by: Person | None = None,
    **detail,
) -> None:
    """`chosen` is asked afresh: the audit is allocated to them with a new accept-by day, and a meeting the
    previous auditor arranged is dropped (the new auditor arranges their own). Recorded as `audit.reallocated`;
    the people on a collaborative audit hear who audits now."""
    fw, moment = settings.framework, now()
    audit.auditor, audit.status, audit.accepted_at = chosen, "allocated", None
    audit.reminders_sent, audit.last_reminded_at = 0, None
    audit.meeting_at, audit.meeting_attendees, audit.meeting_reminder_at = None, [], None
    audit.self_assessment_reminder_at = None
    audit.allocated_at = moment
    audit.accept_by = cal.add_working_days(cal.local(moment).date(), fw.accept_within_days)
    audit.next_reminder_at = cal.at(audit.accept_by, fw.reminder_time)
    db.flush()
    trail.record(
        db,
        "audit.reallocated",
        actor=by,
        subject=audit,
        auditor_id=chosen.id,
        previous_auditor_id=previous.id if previous else None,
        **detail,
    )
    if chosen.slack_user_id:
        outbox.enqueue(
            db,
            _request_key(audit),
            chosen.slack_user_id,
            "allocation_request",
            _request_context(db, cal, settings, audit, chosen),
        )
    if audit.kind != "thematic":  # a thematic audit reads the record: the practitioner is not asked to meet
        tell_people_on_the_case(db, [audit], batch=f"reallocated-{audit.id}-{chosen.id}", changed=True)


def due_reminders(db: Session, cal: Calendar, settings: Settings, moment: datetime) -> list[Reminder]:
    """For the auditor's digest: an allocation not accepted after 2 working days (its stored next_reminder_at, while
    no reminder has been sent), once, with Accept and Can't take this one."""
    due = db.scalars(
        select(Audit)
        .where(Audit.status == "allocated", Audit.reminders_sent == 0, Audit.next_reminder_at <= moment)
        .order_by(Audit.next_reminder_at, Audit.id)
    ).all()
    return [
        Reminder(
            {"kind": "accept", "id": audit.id, "qa_ref": audit.qa_ref, "accept_by": audit.accept_by, "decided": None},
            [audit.auditor],
            audit,
            partial(_reminded, db, cal, settings, audit),
        )
        for audit in due
    ]


def _reminded(db: Session, cal: Calendar, settings: Settings, audit: Audit, moment: datetime) -> None:
    """The auditor's reminder is queued: next, the QA team is told after 4 working days (at once, when the clock
    was down that long)."""
    fw = settings.framework
    trail.record(db, "audit.accept_reminded", subject=audit)
    audit.reminders_sent, audit.last_reminded_at = 1, moment
    tell_qa = cal.add_working_days(cal.local(audit.allocated_at).date(), fw.tell_qa_after_days)
    audit.next_reminder_at = cal.at(tell_qa, fw.reminder_time)
    if audit.next_reminder_at <= moment:
        _tell_qa_not_accepted(db, settings, audit)


def tell_qa_unaccepted(db: Session, cal: Calendar, settings: Settings) -> int:
    """Sweep: an allocation still not accepted 4 working days on, its auditor reminded, is told to the QA team.
    Whether that is due is the stored next_reminder_at, so a restart neither skips nor repeats it."""
    due = db.scalars(
        select(Audit)
        .where(Audit.status == "allocated", Audit.reminders_sent > 0, Audit.next_reminder_at <= now())
        .order_by(Audit.next_reminder_at)
        .with_for_update(skip_locked=True)
    ).all()
    for audit in due:
        _tell_qa_not_accepted(db, settings, audit)
    return len(due)


def _tell_qa_not_accepted(db: Session, settings: Settings, audit: Audit) -> None:
    outbox.enqueue(
        db,
        f"allocation:{audit.id}:qa-told:{audit.auditor_id}",
        settings.qa_channel,
        "allocation_not_accepted",
        {
            "qa_ref": audit.qa_ref,
            "auditor": audit.auditor.name if audit.auditor else "nobody",
            "days": settings.framework.tell_qa_after_days,
        },
    )
    audit.next_reminder_at, audit.reminders_sent = None, audit.reminders_sent + 1
    trail.record(db, "audit.accept_overdue_reported", subject=audit)
