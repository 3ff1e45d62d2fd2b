"""The one way out to Slack. Workflow code enqueues in its own transaction; the dispatcher delivers.

Every row has a unique key, so a retried request, a double-fired job or a restarted process cannot send the
same notification twice. Drains may overlap: rows are claimed (FOR UPDATE SKIP LOCKED on PostgreSQL, the write
lock on SQLite) before they are sent.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from bot.calendar import Calendar, now
from bot.workflow import report_files
from messages import BlockKitError, render
from store import Database, bulk
from store.models import OutboxMessage
from store.writes import insert_once

log = logging.getLogger("qabot.outbox")

UNSENT = ("pending", "sending")
# What to do about a refusal, where the error code alone would leave an administrator guessing.
REFUSAL_HINTS = {
    "not_in_channel": " (invite the bot: /invite @qabot in that channel, then `qabot outbox --retry`)",
    "channel_not_found": " (check the channel ID, e.g. QABOT_QA_CHANNEL)",
    # A lookup needs the history and files:read scopes: an app installed before they were added must be reinstalled.
    "missing_scope": " (reinstall the app from manifest.yml to grant its scopes, then `qabot outbox --retry`)",
}

# The message metadata event every post carries, its payload the outbox key: how a retry finds a post that
# Slack carried out though its answer never arrived (the app's own metadata, returned by conversations.history).
METADATA_EVENT = "qabot_outbox"
# The calls that change Slack: a 429 or a refusal from one of them means it did nothing. (A refusal of a lookup
# settles nothing: the row stays unsure.)
WRITES = {"chat.postMessage", "chat.update", "files.getUploadURLExternal", "files.completeUploadExternal"}
# A lookup starts this long before the unsure try, in case qabot's clock runs ahead of Slack's.
CLOCK_SKEW = timedelta(minutes=5)

# Files that go with a message, built from its context when it is sent: uploaded to the same channel after it.
ATTACHMENTS = {"quarterly_report": report_files.attachments}


def enqueue(
    db: Session,
    key: str,
    to: str,
    template: str,
    ctx: dict[str, Any],
    *,
    urgent: bool = False,
    not_before: datetime | None = None,
) -> bool:
    """Queue a message to a Slack user or channel id. False if this key was queued before (nothing added)."""
    return _insert(
        db,
        key=key,
        recipient=to,
        template=template,
        context=_encode(ctx),
        urgent=urgent,
        available_at=not_before or now(),
    )


def message(
    key: str, to: str, template: str, ctx: dict[str, Any], *, urgent: bool = False, updates_key: str | None = None
) -> dict[str, Any]:
    """The row `enqueue` (or, with `updates_key`, `enqueue_update`) writes, for `enqueue_many`."""
    at = now()
    return {
        "key": key,
        "recipient": to,
        "template": template,
        "context": _encode(ctx),
        "urgent": urgent,
        "updates_key": updates_key,
        "available_at": at,
        "created_at": at,
        "status": "pending",
        "attempts": 0,
    }


def enqueue_many(db: Session, messages: list[dict[str, Any]]) -> None:
    """Queue many `message`s at once, in their order: a key queued before is left as it was."""
    bulk.insert_new_rows(db, OutboxMessage, "key", messages)


def enqueue_update(db: Session, key: str, of_key: str, template: str, ctx: dict[str, Any]) -> bool:
    """Queue an in-place update of the message sent under `of_key` (e.g. buttons replaced by the decision)."""
    original = db.scalar(select(OutboxMessage).where(OutboxMessage.key == of_key))
    if original is None:
        return False
    return _insert(
        db,
        key=key,
        recipient=original.recipient,
        template=template,
        context=_encode(ctx),
        urgent=original.urgent,
        updates_key=of_key,
        available_at=now(),
    )


def _insert(db: Session, **values: Any) -> bool:
    return insert_once(db, OutboxMessage, "key", created_at=now(), status="pending", attempts=0, **values)


def _encode(ctx: dict[str, Any]) -> dict[str, Any]:
    """JSON-safe context: dates and datetimes survive the round trip through the database."""

    def enc(value: Any) -> Any:
        if value is None or isinstance(value, str | int | float):  # most values: checked first, for the sweeps
            return value
        if isinstance(value, datetime):
            return {"$datetime": value.isoformat()}
        if isinstance(value, date):
            return {"$date": value.isoformat()}
        if isinstance(value, dict):
            return {k: enc(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [enc(v) for v in value]
        return value

    return enc(ctx)


def decode(ctx: Any) -> Any:
    if isinstance(ctx, dict):
        if set(ctx) == {"$datetime"}:
            return datetime.fromisoformat(ctx["$datetime"])
        if set(ctx) == {"$date"}:
            return date.fromisoformat(ctx["$date"])
        return {k: decode(v) for k, v in ctx.items()}
    if isinstance(ctx, list):
        return [decode(v) for v in ctx]
    return ctx


@dataclass
class DrainResult:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    keys: list[str] = field(default_factory=list)
    # Everything still queued after the drain: rescheduled, paced, waiting its turn or for working hours.
    queued: int = 0
    # Outside working hours: how many of those wait for them, and when they next start (local time).
    held: int = 0
    opens_at: datetime | None = None

    def __str__(self) -> str:
        counts = f"{self.sent} sent, {self.queued} waiting, {self.failed} failed"
        if not self.held or self.opens_at is None:
            return counts
        when = f"{self.opens_at:%A} {self.opens_at.day} {self.opens_at:%B %Y at %H:%M}"
        held = f"{self.held} {'waits' if self.held == 1 else 'wait'}"
        return f"{counts}. Messages to people go in working hours only: {held} until {when}."

    def __iadd__(self, other: DrainResult) -> DrainResult:
        self.sent += other.sent
        self.deferred += other.deferred
        self.failed += other.failed
        self.keys += other.keys
        return self


class Dispatcher:
    """Claims due rows, renders them, sends them, and records channel/ts or what went wrong.

    Exactly once: every post carries its outbox key in Slack message metadata. A try whose outcome is unknown (a
    timeout, a dropped connection, a 5xx, or a process that died holding the claim) leaves the row `unsure_since`;
    the next try first looks for the key in the conversation's history and, if Slack did post it, records that
    message instead of posting again. Transient failures are retried with backoff (doubling, at most
    `max_backoff`) for `retry_for` and at least `min_attempts` tries, then the row fails and is logged as an error.
    """

    def __init__(
        self,
        database: Database,
        client: WebClient,
        calendar: Calendar,
        *,
        retry_for: timedelta = timedelta(hours=24),
        min_attempts: int = 10,
        pace: timedelta = timedelta(seconds=1),
        lease: timedelta = timedelta(minutes=2),
        backoff: timedelta = timedelta(seconds=15),
        max_backoff: timedelta = timedelta(minutes=15),
    ):
        self.database = database
        self.client = client
        self.calendar = calendar
        self.retry_for = retry_for
        self.min_attempts = min_attempts
        self.pace = pace
        self.lease = lease
        self.backoff = backoff
        self.max_backoff = max_backoff

    def drain(self, limit: int = 200) -> DrainResult:
        result = DrainResult()
        # A row waits behind an older one to the same person; once that is sent, the next pass can take it.
        for _ in range(10):
            claimed = self._claim(limit)
            sent_before = result.sent
            for row_id in claimed:
                result += self._deliver(row_id)
            if result.sent == sent_before:
                break
        with self.database.unit_of_work() as db:
            unsent = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status.in_(UNSENT))
            result.queued = db.scalar(unsent)
            moment = now()
            opens_at = self.calendar.next_working_moment(moment)
            if result.queued and opens_at > moment:
                # Quiet hours hold everything but safeguarding alerts and updates (see _claim).
                held = unsent.where(OutboxMessage.urgent.is_(False), OutboxMessage.updates_key.is_(None))
                result.held, result.opens_at = db.scalar(held), self.calendar.local(opens_at)
        return result

    def _claim(self, limit: int) -> list[int]:
        moment = now()
        earlier = aliased(OutboxMessage)
        # Per person (or channel) in order: a row waits while an older one to the same place is unsent.
        blocked = exists().where(
            earlier.recipient == OutboxMessage.recipient,
            earlier.id < OutboxMessage.id,
            earlier.status.in_(UNSENT),
            earlier.urgent.is_(False),
        )
        due = or_(
            OutboxMessage.status == "pending",
            and_(OutboxMessage.status == "sending", OutboxMessage.claimed_until < moment),
        )
        query = (
            select(OutboxMessage)
            # An update waits for its own original instead, and safeguarding alerts wait for nothing.
            .where(
                due,
                OutboxMessage.available_at <= moment,
                or_(OutboxMessage.urgent, OutboxMessage.updates_key.is_not(None), ~blocked),
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=OutboxMessage)
        )
        claimed = []
        with self.database.unit_of_work() as db:
            opens_at = self.calendar.next_working_moment(moment)
            for row in db.scalars(query):
                if not row.urgent and not row.updates_key and opens_at > moment:
                    # Quiet hours: people hear from the bot in working hours only (safeguarding excepted).
                    # Updates notify nobody: they replace buttons someone has just pressed, so they go at once.
                    row.available_at = opens_at
                    row.status = "pending"
                    continue
                row.status = "sending"
                row.claimed_until = moment + self.lease
                claimed.append(row.id)
        return claimed

    def _deliver(self, row_id: int) -> DrainResult:
        # Read in one short transaction; the rows stay readable afterwards (expire_on_commit is off).
        with self.database.unit_of_work() as db:
            row = db.get(OutboxMessage, row_id)
            original = None
            if row.updates_key:
                original = db.scalar(select(OutboxMessage).where(OutboxMessage.key == row.updates_key))
            last = db.scalar(select(func.max(OutboxMessage.sent_at)).where(OutboxMessage.recipient == row.recipient))

        moment = now()
        if row.updates_key:
            if original is None or original.status == "failed":
                return self._fail(row_id, f"the message to update ({row.updates_key}) was never sent")
            if original.status != "sent":
                return self._reschedule(row_id, max(original.available_at, moment + self.pace), None, count=False)
        elif last is not None and moment - last < self.pace:
            # Slack allows about one post a second per channel: wait for the slot rather than be refused.
            return self._reschedule(row_id, last + self.pace, None, count=False)

        attach = ATTACHMENTS.get(row.template)
        try:
            payload = render(row.template, decode(row.context), tz=self.calendar.tz)
            files = attach(decode(row.context)) if attach is not None else None
        except (BlockKitError, LookupError, ValueError) as exc:
            return self._fail(row_id, f"render {row.template}: {exc}")

        try:
            response: Any
            if original is not None:
                # Naturally idempotent: the same update twice leaves the message as once.
                response = self.client.chat_update(channel=original.channel, ts=original.ts, **payload)
            else:
                response = self._post(row, payload, bool(files))
            if files and not (row.unsure_since and self._files_shared(row, response, files)):
                self._unsure(row_id)
                self.client.files_upload_v2(channel=response.get("channel"), file_uploads=files)
        except SlackApiError as exc:
            status = exc.response.status_code
            wrote = exc.response.api_url.rsplit("/", 1)[-1] in WRITES
            if status == 429:
                if wrote:
                    self._sure(row_id)
                retry_after = int(exc.response.headers.get("Retry-After", exc.response.headers.get("retry-after", 30)))
                return self._reschedule(row_id, now() + timedelta(seconds=retry_after), "rate limited", count=False)
            if status >= 500:
                # A gateway's 5xx may come after Slack carried the call out: the row stays unsure.
                return self._retry(row_id, f"Slack answered {status}")
            if wrote:
                self._sure(row_id)
            error = exc.response.get("error")
            return self._fail(row_id, f"Slack refused it: {error}{REFUSAL_HINTS.get(error, '')}")
        except (TimeoutError, URLError, OSError, SlackRequestError) as exc:
            # SlackRequestError: files_upload_v2's upload step answered other than 200.
            return self._retry(row_id, f"{exc.__class__.__name__}: {exc}")

        with self.database.unit_of_work() as db:
            sent = db.get(OutboxMessage, row_id)
            sent.status = "sent"
            sent.sent_at = now()
            sent.channel = response.get("channel")
            sent.ts = response.get("ts")
            sent.claimed_until = None
            sent.last_error = None
            sent.unsure_since = sent.failing_since = None
        return DrainResult(sent=1, keys=[row.key])

    def _post(self, row: OutboxMessage, payload: dict[str, Any], has_files: bool) -> Any:
        """The message posted once: found in Slack if an earlier try may have posted it, else posted now."""
        if row.ts is not None:
            # Posted on an earlier try whose upload failed: only the files are still to go.
            return {"channel": row.channel, "ts": row.ts}
        found = self._find(row) if row.unsure_since else None
        if found is None:
            self._unsure(row.id)
            metadata = {"event_type": METADATA_EVENT, "event_payload": {"key": row.key}}
            found = self.client.chat_postMessage(channel=row.recipient, metadata=metadata, **payload)
        if has_files:
            self._posted(row.id, found.get("channel"), found.get("ts"))
        return found

    def _find(self, row: OutboxMessage) -> dict[str, str] | None:
        """The message an earlier try posted under this row's key, looked up in its conversation's history."""
        channel = row.recipient
        if channel[:1] in ("U", "W"):
            channel = self.client.conversations_open(users=channel)["channel"]["id"]  # the DM's D… id
        oldest = (row.unsure_since - CLOCK_SKEW).timestamp()
        cursor = None
        while True:
            page = self.client.conversations_history(
                channel=channel, oldest=f"{oldest:.6f}", include_all_metadata=True, limit=200, cursor=cursor
            )
            for message in page.get("messages", []):
                metadata = message.get("metadata") or {}
                if metadata.get("event_type") == METADATA_EVENT and metadata["event_payload"].get("key") == row.key:
                    log.info("outbox %s: found in Slack as %s, not posted again", row.key, message["ts"])
                    return {"channel": channel, "ts": message["ts"]}
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not page.get("has_more") or not cursor:
                return None

    def _files_shared(self, row: OutboxMessage, response: Any, files: list[dict[str, Any]]) -> bool:
        """Whether an earlier try shared this message's files: the bot's files in that channel since the message
        (files.completeUploadExternal shares them all at once, or none)."""
        names = {f["filename"] for f in files}
        since = int(float(response.get("ts")))
        listed = self.client.files_list(channel=response.get("channel"), ts_from=str(since), count=100)
        return names <= {f.get("name") for f in listed.get("files", [])}

    def _unsure(self, row_id: int) -> None:
        """About to ask Slack to do something that cannot be undone: until it answers, the row is unsure."""
        with self.database.unit_of_work() as db:
            row = db.get(OutboxMessage, row_id)
            row.unsure_since = row.unsure_since or now()

    def _sure(self, row_id: int) -> None:
        """Slack answered that it did nothing (429, or a refusal), and any earlier doubt was looked up first."""
        with self.database.unit_of_work() as db:
            db.get(OutboxMessage, row_id).unsure_since = None

    def _posted(self, row_id: int, channel: str | None, ts: str | None) -> None:
        """The message is out and its files are not yet: a retry must not post the message again."""
        with self.database.unit_of_work() as db:
            row = db.get(OutboxMessage, row_id)
            row.channel, row.ts = channel, ts

    def _retry(self, row_id: int, error: str) -> DrainResult:
        with self.database.unit_of_work() as db:
            row = db.get(OutboxMessage, row_id)
            row.failing_since = row.failing_since or now()
            attempts, since = row.attempts + 1, row.failing_since
        if attempts >= self.min_attempts and now() - since >= self.retry_for:
            return self._fail(row_id, f"{error} (gave up after {attempts} attempts since {since:%Y-%m-%d %H:%M})")
        delay = min(self.backoff * 2 ** (attempts - 1), self.max_backoff)
        return self._reschedule(row_id, now() + delay, error, count=True)

    def _reschedule(self, row_id: int, at: datetime, error: str | None, *, count: bool) -> DrainResult:
        with self.database.unit_of_work() as db:
            row = db.get(OutboxMessage, row_id)
            row.status = "pending"
            row.available_at = at
            row.claimed_until = None
            row.attempts += 1 if count else 0
            if error:
                row.last_error = error
                log.warning("outbox %s: %s; next try at %s", row.key, error, at.isoformat())
        return DrainResult(deferred=1)

    def _fail(self, row_id: int, error: str) -> DrainResult:
        with self.database.unit_of_work() as db:
            row = db.get(OutboxMessage, row_id)
            row.status = "failed"
            row.attempts += 1
            row.last_error = error
            row.claimed_until = None
            log.error("outbox %s to %s failed: %s", row.key, row.recipient, error)
        return DrainResult(failed=1)


def failed(db: Session) -> list[OutboxMessage]:
    return list(db.scalars(select(OutboxMessage).where(OutboxMessage.status == "failed").order_by(OutboxMessage.id)))


def retry_failed(db: Session, ids: list[int] | None = None) -> int:
    """Put failed rows back in the queue (all of them, or the ids given). Returns how many."""
    rows = failed(db)
    count = 0
    for row in rows:
        if ids is None or row.id in ids:
            row.status, row.attempts, row.available_at, row.failing_since = "pending", 0, now(), None
            count += 1
    return count


class Courier:
    """Drains in a background thread when kicked, so a person who clicks sees the result at once
    without the request thread waiting on Slack."""

    def __init__(self, dispatcher: Dispatcher):
        self.dispatcher = dispatcher
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="qabot-courier", daemon=True)

    def start(self) -> Courier:
        self._thread.start()
        return self

    def kick(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=5)
            self._wake.clear()
            try:
                self.dispatcher.drain()
            except Exception:
                log.exception("outbox drain failed; the rows stay queued")
