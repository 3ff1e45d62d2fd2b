"""What a reminder is to the daily digest (digests.py), and how a digest already sent is shown changed.

Each source of reminders (actions, supervision, allocations, meetings, self-assessments, moderations, the
Inadequate pathway's steps, a thematic audit's close-the-loop checks) keeps its own rule of when something is due,
in its own stored columns, and offers the digest sweep a `Reminder` for each item due now; the sweep sends each
person one message a day and, once queued, calls `sent` so the source stamps and moves its columns on as it always
did."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot import outbox
from store.models import Audit, Event, OutboxMessage, Person


@dataclass
class Reminder:
    item: dict[str, Any]  # what the digest shows: its "kind" (digests.ORDER), "id", "qa_ref" and the words' facts
    to: list[Person | None]  # everyone it is for (the same item in each one's digest)
    # The audit (or a thematic audit's theme) it is about, for the trail: the row, or as the trail names it
    # (`__tablename__` and `id`).
    subject: Any
    sent: Callable[[datetime], None]  # once queued for them all (or nobody can be told): stamp the source, move on


def reachable(person: Person | None) -> bool:
    return person is not None and person.active and bool(person.slack_user_id)


def digest_key(person: Person, day: date) -> str:
    return f"digest:{person.id}:{day.isoformat()}"


def show(db: Session, key: str, kinds: tuple[str, ...], item_id: int, why: str, **changes: Any) -> None:
    """The digest sent under `key`, as last shown, updated in place with its item (of one of `kinds`, by id)
    changed: e.g. snoozed, or decided (its buttons then gone). `why` makes the update's key unique."""
    latest = db.scalar(
        select(OutboxMessage)
        .where(or_(OutboxMessage.key == key, OutboxMessage.updates_key == key))
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )
    if latest is None:
        return
    ctx = outbox.decode(latest.context)
    found = False
    for item in ctx["items"]:
        if item["kind"] in kinds and item["id"] == item_id:
            item |= changes
            found = True
    if found:
        outbox.enqueue_update(db, f"{key}:{why}", key, "action_digest", ctx)


def show_everywhere(db: Session, to: Person, audit: Audit, kind: str, item_id: int, why: str, **changes: Any) -> None:
    """Every digest to `to` that listed the item (the trail names them), updated as `show` does."""
    keys = {
        event.detail.get("key")
        for event in db.scalars(
            select(Event).where(
                Event.subject_type == Audit.__tablename__, Event.subject_id == audit.id, Event.kind == "reminder.sent"
            )
        )
        if (event.detail.get("item"), event.detail.get("item_id"), event.detail.get("to")) == (kind, item_id, to.id)
    }
    for key in sorted(k for k in keys if k):
        show(db, key, (kind,), item_id, why, **changes)
