"""Re-audits: a case confirmed Inadequate is re-audited three months on, and again until it is no longer
Inadequate. The clock allocates each one on the month's first working day, without waiting for the QA team's
sample (which then leaves it out)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import months, outbox
from bot.calendar import Calendar, now
from bot.config import Settings
from bot.workflow import allocation, auditors, trail
from store.models import Audit, Case

CLOSED = ("declined", "cancelled")


def allocate(db: Session, cal: Calendar, settings: Settings) -> int:
    """Sweep: from the month's first working day at the reminder time, each case due a re-audit this month is
    allocated without waiting for the QA team's sample — to the auditor who graded it before when they are still
    independent and have room, otherwise to the least-loaded independent auditor. A case that cannot be allocated
    is reported to the QA team once. Returns how many were allocated."""
    local = cal.local(now())
    month = months.of(local.date())
    if now() < cal.at(cal.first_working_day(local.year, local.month), settings.framework.reminder_time):
        return 0
    # A thematic audit of the case this month does not stand in for its re-audit.
    taken = select(Audit.case_id).where(Audit.month == month, Audit.status.not_in(CLOSED), Audit.kind != "thematic")
    cases = db.scalars(select(Case).where(Case.reaudit_due == month, Case.id.not_in(taken)).order_by(Case.id)).all()
    fw = settings.framework
    load = auditors.monthly_load(db, month)
    pool = auditors.available(db, seed=int(month.replace("-", "")))
    in_pool = {a.id for a in pool}
    audits = []
    for case in cases:
        previous = allocation.previous_audit(db, case, month)
        practitioner = case.worker if case.worker and case.worker.active else None
        auditor = None
        if practitioner is not None:
            before = previous.auditor if previous else None
            if (
                before is not None
                and before.id in in_pool
                and auditors.independent(before, practitioner, case)
                and load[before.id] < fw.auditor_monthly_max
            ):
                auditor = before
                load[before.id] += 1
            else:
                auditor = auditors.pick(pool, load, practitioner, case, fw.auditor_monthly_max)
        if auditor is None:
            if settings.qa_channel:
                outbox.enqueue(
                    db,
                    f"inadequate:reaudit:{case.id}:{month}:held",
                    settings.qa_channel,
                    "inadequate_qa",
                    {
                        "kind": "reaudit_held",
                        "qa_ref": previous.qa_ref if previous else None,
                        "month": months.words(month),
                        "reason": "no_auditor" if practitioner else "no_worker",
                    },
                )
            continue
        audit = allocation.allocate(db, cal, settings, case, auditor, month)
        trail.record(
            db, "inadequate.reaudit_allocated", subject=audit, cycle=audit.cycle, reaudit_of=audit.reaudit_of_id
        )
        audits.append(audit)
    if audits:
        allocation.tell_people_on_the_case(db, audits, batch=f"reaudit-{month}")
    return len(audits)
