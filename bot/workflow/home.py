"""What a person's App Home shows: first what is waiting for them, then the audits they are watching; for the QA
team, how many good-practice nominations wait in the learning queue."""

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from bot.calendar import Calendar, now
from bot.framework import Framework
from bot.workflow import good_practice, self_assessment
from bot.workflow.directory import by_slack_id
from store.models import Audit, Case

CLOSED = ("declined", "cancelled")


def home_for(db: Session, cal: Calendar, slack_user_id: str, framework: Framework | None = None) -> dict[str, Any]:
    framework = framework or Framework()
    person = by_slack_id(db, slack_user_id)
    if person is None:
        return {"name": None, "waiting": [], "watching": [], "learning_queue": None}
    audits = db.scalars(
        select(Audit)
        .where(
            or_(Audit.auditor_id == person.id, Audit.practitioner_id == person.id, Audit.team_manager_id == person.id),
            Audit.status.not_in(CLOSED),
        )
        .options(
            selectinload(Audit.auditor),
            selectinload(Audit.practitioner),
            selectinload(Audit.team_manager),
            selectinload(Audit.case).selectinload(Case.team),
        )
        .order_by(Audit.accept_by, Audit.id)
    ).all()
    local = cal.local(now()).date()
    month_end = cal.last_working_day(local.year, local.month)
    waiting, watching = [], []
    for audit in audits:
        people = {
            "auditor": audit.auditor.name if audit.auditor else None,
            "practitioner": audit.practitioner.name if audit.practitioner else None,
            "team_manager": audit.team_manager.name if audit.team_manager else None,
        }
        item = {"qa_ref": audit.qa_ref, "audit_id": audit.id, **people}
        if audit.auditor_id == person.id and audit.status == "allocated":
            waiting.append({**item, "task": "accept_allocation", "due": audit.accept_by})
        elif audit.auditor_id == person.id and audit.status == "accepted":
            waiting.append({**item, "task": "arrange_meeting", "due": month_end})
        elif audit.auditor_id == person.id and audit.status == "in_progress":
            waiting.append({**item, "task": "complete_audit", "due": month_end})
        elif audit.practitioner_id == person.id and self_assessment.is_waiting(audit):
            due = self_assessment.due_day(cal, framework, audit.meeting_at)
            waiting.append({**item, "task": "self_assessment", "due": due})
        else:
            watching.append({"qa_ref": audit.qa_ref, "status": audit.status, **people})
    learning_queue = len(good_practice.queue(db)) if person.roles & good_practice.QA_TEAM else None
    return {"name": person.name, "waiting": waiting, "watching": watching, "learning_queue": learning_queue}
