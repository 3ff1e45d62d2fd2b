"""A thematic audit's two deadlines, reminded in the daily digest (digests.py), each in its own stored column so
whether it is due is a query and a restart neither skips nor repeats it:

- the auditor, for an audit accepted and not yet complete (`Audit.next_reminder_at`, free once the allocation is
  accepted): `action_reminder_days_before` working days before the theme's `audits_by`, on the day (the next
  working day when that is not one), then each working day while it is overdue;
- the lead, for the overview report (`Theme.report_reminder_at`): each working day from
  `action_reminder_days_before` working days before `report_by` until it is written, with how many audits are still
  open when the findings are not all in;
- the lead, once, on the first working day after `audits_by` (`Theme.overdue_reminder_at`): the QA references of
  the audits still open (never a case's id)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from functools import partial

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.calendar import Calendar, now
from bot.config import Settings
from bot.workflow.reminders import Reminder
from store.models import Audit, Theme

OPEN = ("accepted", "in_progress")  # accepted and not yet complete (audit_form.OPEN)
NOT_DONE = ("complete", "declined", "cancelled")


def _before(cal: Calendar, settings: Settings, day: date) -> date:
    days = settings.framework.action_reminder_days_before
    return cal.add_working_days(day, -days) if days > 0 else _working(cal, day)


def _working(cal: Calendar, day: date) -> date:
    return day if cal.is_working_day(day) else cal.next_working_day(day)


def _audit_points(cal: Calendar, settings: Settings, theme: Theme) -> Iterator[datetime]:
    def at(day: date) -> datetime:
        return cal.at(day, settings.framework.reminder_time)

    yield at(_before(cal, settings, theme.audits_by))
    day = _working(cal, theme.audits_by)
    while True:
        yield at(day)
        day = cal.next_working_day(day)


def _next_audit_point(cal: Calendar, settings: Settings, theme: Theme, after: datetime) -> datetime:
    return next(point for point in _audit_points(cal, settings, theme) if point > after)


def schedule_audit(cal: Calendar, settings: Settings, audit: Audit) -> None:
    """A thematic audit was accepted: its first reminder point from now."""
    audit.next_reminder_at = _next_audit_point(cal, settings, audit.theme, now())


def schedule_theme(cal: Calendar, settings: Settings, theme: Theme) -> None:
    """A theme was defined: the lead's report reminders and the notice of overdue audits."""
    reminder_time = settings.framework.reminder_time
    theme.report_reminder_at = cal.at(_before(cal, settings, theme.report_by), reminder_time)
    theme.overdue_reminder_at = cal.at(cal.next_working_day(theme.audits_by), reminder_time)


def _open_refs(db: Session, theme: Theme) -> list[str]:
    return list(
        db.scalars(
            select(Audit.qa_ref).where(Audit.theme_id == theme.id, Audit.status.not_in(NOT_DONE)).order_by(Audit.qa_ref)
        )
    )


def due_reminders(db: Session, cal: Calendar, settings: Settings, moment: datetime) -> list[Reminder]:
    today = cal.local(moment).date()
    due: list[Reminder] = []
    audits = db.scalars(
        select(Audit)
        .where(Audit.theme_id.is_not(None), Audit.status.in_(OPEN), Audit.next_reminder_at <= moment)
        .order_by(Audit.next_reminder_at, Audit.id)
    ).all()
    for audit in audits:
        theme = audit.theme
        item = {"kind": "theme_audit", "id": audit.id, "qa_ref": audit.qa_ref, "title": theme.title}
        item |= {"due": theme.audits_by, "overdue": today > theme.audits_by}
        due.append(Reminder(item, [audit.auditor], audit, partial(_audit_reminded, cal, settings, audit)))

    themes = db.scalars(
        select(Theme).where(Theme.status == "auditing", Theme.report_reminder_at <= moment).order_by(Theme.id)
    ).all()
    for theme in themes:
        open_ = db.scalar(
            select(func.count()).select_from(Audit).where(Audit.theme_id == theme.id, Audit.status.not_in(NOT_DONE))
        )
        item = {"kind": "theme_report", "id": theme.id, "qa_ref": theme.ref, "title": theme.title}
        item |= {"due": theme.report_by, "overdue": today > theme.report_by, "open": open_}
        due.append(Reminder(item, [theme.lead], theme, partial(_report_reminded, cal, settings, theme)))

    late = db.scalars(
        select(Theme).where(Theme.status == "auditing", Theme.overdue_reminder_at <= moment).order_by(Theme.id)
    ).all()
    for theme in late:
        refs = _open_refs(db, theme)
        if not refs:  # every audit was in on time: nothing to tell
            theme.overdue_reminder_at = None
            continue
        item = {"kind": "theme_overdue", "id": theme.id, "qa_ref": theme.ref, "title": theme.title}
        item |= {"due": theme.audits_by, "refs": refs}
        due.append(Reminder(item, [theme.lead], theme, partial(_overdue_told, theme)))
    return due


def _audit_reminded(cal: Calendar, settings: Settings, audit: Audit, moment: datetime) -> None:
    audit.last_reminded_at = moment
    audit.next_reminder_at = _next_audit_point(cal, settings, audit.theme, moment)


def _report_reminded(cal: Calendar, settings: Settings, theme: Theme, moment: datetime) -> None:
    day = cal.next_working_day(cal.local(moment).date())
    theme.report_reminder_at = cal.at(day, settings.framework.reminder_time)


def _overdue_told(theme: Theme, moment: datetime) -> None:
    theme.overdue_reminder_at = None
