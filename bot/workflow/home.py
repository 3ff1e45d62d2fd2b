"""What a person's App Home shows: first what is waiting for them, then what they are watching."""

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.workflow.directory import by_slack_id
from store.models import Audit

WAITING_STATUSES = {"allocated": "Accept or pass on this audit allocation"}
CLOSED = ("declined", "cancelled")


def home_for(db: Session, slack_user_id: str) -> dict[str, Any]:
    person = by_slack_id(db, slack_user_id)
    if person is None:
        return {"name": None, "waiting": [], "watching": []}
    audits = db.scalars(
        select(Audit)
        .where(
            or_(
                Audit.auditor_id == person.id,
                Audit.practitioner_id == person.id,
                Audit.team_manager_id == person.id,
            ),
            Audit.status.not_in(CLOSED),
        )
        .order_by(Audit.accept_by, Audit.id)
    ).all()
    waiting, watching = [], []
    for audit in audits:
        if audit.auditor_id == person.id and audit.status in WAITING_STATUSES:
            waiting.append({"qa_ref": audit.qa_ref, "what": WAITING_STATUSES[audit.status], "due": audit.accept_by})
        else:
            watching.append({"qa_ref": audit.qa_ref, "status": audit.status})
    return {"name": person.name, "waiting": waiting, "watching": watching}
