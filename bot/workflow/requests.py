"""Slack re-delivers events and people double-click: each request is claimed once before it acts."""

import hashlib
import json
from typing import Any

from sqlalchemy.orm import Session

from bot.calendar import now
from bot.workflow import trail
from bot.workflow.directory import by_slack_id
from bot.workflow.outcome import Outcome, refused
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
        # The sender and the form's private_metadata are part of it: someone else's copy of a form, or one with its
        # metadata edited (forged), must be refused, not taken for a retry of the real one or claim its key.
        view = body.get("view") or {}
        user = (body.get("user") or {}).get("id")
        sent = json.dumps([(view.get("state") or {}).get("values"), view.get("private_metadata")], sort_keys=True)
        return f"view:{user}:{view.get('id')}:{view.get('hash')}:{hashlib.sha256(sent.encode()).hexdigest()[:16]}"
    if (kind in ("shortcut", "message_action") or body.get("command")) and body.get("trigger_id"):
        # A command or shortcut is never re-sent by Slack, but a captured one could be replayed within the
        # signature's five minutes: its trigger_id is unique to the one time it was typed or chosen.
        team = body.get("team_id") or (body.get("team") or {}).get("id")
        user = body.get("user_id") or (body.get("user") or {}).get("id")
        return f"{kind or 'command'}:{team}:{user}:{body.get('trigger_id')}"
    return None


def claim(db: Session, key: str) -> bool:
    """True for the first delivery; False for a retry or a duplicate (which must not act again)."""
    return insert_once(db, IdempotencyKey, "key", key=key[:255], claimed_at=now())


def claimed(db: Session, key: str) -> bool:
    """Whether a request was claimed already (read only: a form's checks ask it before anything is written)."""
    return db.get(IdempotencyKey, key[:255]) is not None


def refuse_unreadable(db: Session, what: str, slack_user_id: str | None) -> Outcome:
    """A button value or form id that names no record (edited, forged, garbage) is refused like any other refusal:
    on the trail, naming who sent it. What was sent is not kept: it may be anything."""
    person = by_slack_id(db, slack_user_id) if slack_user_id else None
    trail.record(db, f"refused.{what}", actor=person, actor_slack_id=slack_user_id, reason="unreadable")
    return refused("unknown")
