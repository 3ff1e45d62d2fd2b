"""Supervision (QAF Key Area 4: "managers will be expected to monitor the progress of this via supervision"; and
"Audit discussion should be included in each supervision until the actions have been completed and signed off").

While an audit has actions open, or done and not yet signed off, its team manager is reminded, in their daily
digest, to discuss the audit in supervision every `supervision_weeks` weeks (`supervision_weeks_child_protection`
for a child-protection case: the QAF's supervision intervals). The next reminder is the stored, indexed
`Audit.supervision_due_at`. The points run from the audit's submission, at `reminder_time` on a working day, so a
late sweep or a snooze does not shift the ones after it; they stop once no action is left to sign off."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.calendar import Calendar, now
from bot.config import Settings
from bot.workflow import trail
from store.models import Action, Audit

# An action is settled once signed off; until then the audit belongs in supervision.
UNSETTLED = ("open", "done")


def weeks(settings: Settings, audit: Audit) -> int:
    fw = settings.framework
    return fw.supervision_weeks_child_protection if audit.category == "CP" else fw.supervision_weeks


def next_point(cal: Calendar, settings: Settings, audit: Audit, after: datetime) -> datetime | None:
    """The first supervision reminder after `after`: a whole number of intervals from the submission (on the next
    working day when that is not one). None when the interval is set to 0 (no supervision reminders)."""
    interval = weeks(settings, audit)
    if interval <= 0:
        return None
    start = cal.local(audit.submitted_at or after).date()
    # Jump to about where `after` is, rather than walk every interval since the submission.
    k = max(1, (cal.local(after).date() - start).days // (7 * interval))
    while True:
        day = start + timedelta(weeks=interval * k)
        if not cal.is_working_day(day):
            day = cal.next_working_day(day)
        point = cal.at(day, settings.framework.reminder_time)
        if point > after:
            return point
        k += 1


def start(cal: Calendar, settings: Settings, audit: Audit) -> None:
    """The audit was submitted with actions: its first supervision reminder, one interval on."""
    audit.supervision_due_at = next_point(cal, settings, audit, now())


def unsettled(db: Session, audit: Audit) -> int:
    return db.scalar(
        select(func.count()).select_from(Action).where(Action.audit_id == audit.id, Action.status.in_(UNSETTLED))
    )


def due(db: Session, moment: datetime) -> list[tuple[Audit, int]]:
    """The audits whose supervision reminder is due, with how many of their actions are not yet signed off. An
    audit with none left stops being reminded (its reminder is cleared, on the trail)."""
    found = []
    for audit in db.scalars(
        select(Audit).where(Audit.supervision_due_at <= moment).order_by(Audit.supervision_due_at, Audit.id)
    ).all():
        count = unsettled(db, audit)
        if count:
            found.append((audit, count))
        else:
            audit.supervision_due_at = None
            trail.record(db, "supervision.stopped", subject=audit)
    return found


def advance(cal: Calendar, settings: Settings, audit: Audit, moment: datetime) -> None:
    audit.supervision_due_at = next_point(cal, settings, audit, moment)
