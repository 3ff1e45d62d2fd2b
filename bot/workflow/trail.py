"""The append-only event trail: who did what, when, to which subject."""

from typing import Any

from sqlalchemy.orm import Session

from bot.calendar import now
from store import bulk
from store.models import Event, Person


def record(
    db: Session,
    kind: str,
    *,
    actor: Person | None = None,
    actor_slack_id: str | None = None,
    subject: Any = None,
    **detail: Any,
) -> Event:
    event = Event(
        at=now(),
        actor_id=actor.id if actor else None,
        actor_slack_id=actor_slack_id or (actor.slack_user_id if actor else None),
        kind=kind,
        subject_type=subject.__tablename__ if subject is not None else None,
        subject_id=subject.id if subject is not None else None,
        detail=detail,
    )
    db.add(event)
    return event


def record_many(db: Session, events: list[tuple[str, Any, dict[str, Any]]], *, actor: Person | None = None) -> None:
    """The rows `record` writes, one for each (kind, subject, detail), in one bulk insert: a sweep's thousand events
    would otherwise be a thousand ORM objects and INSERTs."""
    at = now()
    bulk.insert_rows(
        db,
        Event,
        [
            {
                "at": at,
                "actor_id": actor.id if actor else None,
                "actor_slack_id": actor.slack_user_id if actor else None,
                "kind": kind,
                "subject_type": subject.__tablename__ if subject is not None else None,
                "subject_id": subject.id if subject is not None else None,
                "detail": detail,
            }
            for kind, subject, detail in events
        ],
    )
