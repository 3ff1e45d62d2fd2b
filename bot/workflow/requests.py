"""Slack re-delivers events and people double-click: each request is claimed once before it acts."""

import hashlib
import json
from typing import Any

from sqlalchemy.orm import Session

from bot.calendar import now
from store.models import IdempotencyKey
from store.writes import insert_once


def request_key(body: dict[str, Any]) -> str | None:
    """The identity of one request from Slack, the same on every re-delivery of it."""
    kind = body.get("type")
    if kind == "event_callback":
        return f"event:{body.get('event_id')}"
    if kind == "block_actions":
        action = (body.get("actions") or [{}])[0]
        team = (body.get("team") or {}).get("id")
        user = (body.get("user") or {}).get("id")
        return f"action:{team}:{user}:{action.get('action_id')}:{action.get('action_ts')}"
    if kind == "view_submission":
        # A form sent back with field errors keeps its id and hash; the corrected values make it a new request.
        # The sender is part of it: someone else's copy of a form (forged) must be refused, not taken for a retry
        # of the real one, and must not claim the real submission's key.
        view = body.get("view") or {}
        user = (body.get("user") or {}).get("id")
        values = json.dumps((view.get("state") or {}).get("values"), sort_keys=True)
        return f"view:{user}:{view.get('id')}:{view.get('hash')}:{hashlib.sha256(values.encode()).hexdigest()[:16]}"
    return None


def claim(db: Session, key: str) -> bool:
    """True for the first delivery; False for a retry or a duplicate (which must not act again)."""
    return insert_once(db, IdempotencyKey, "key", key=key[:255], claimed_at=now())
