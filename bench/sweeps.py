"""Benchmark 2: the reminder sweep and the escalation sweep, each against the raw indexed query that finds its items,
and under each the same rows written by SQL alone."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, text

from bench.figures import Row, counted, ms
from bench.seed import Seeded
from bot.runtime import Runtime
from bot.workflow import digests, escalation
from store.models import Event, UTCDateTime

REMINDERS = (
    "next_reminder_at <= :moment AND status IN ('open', 'done') AND (snoozed_until IS NULL OR snoozed_until <= :moment)"
)
ESCALATIONS = "status IN ('pending', 'acknowledged') AND respond_by <= :moment"
REMINDERS_DUE = text(f"SELECT * FROM actions WHERE {REMINDERS} ORDER BY due_at, id").bindparams(
    bindparam("moment", type_=UTCDateTime)
)
ESCALATIONS_DUE = text(f"SELECT * FROM escalations WHERE {ESCALATIONS} ORDER BY respond_by, id").bindparams(
    bindparam("moment", type_=UTCDateTime)
)
# A reference for each sweep: the rows it writes for the items due (its trail events, its messages, the items moved
# on), written by the database alone: INSERT ... SELECT and one UPDATE, each finding the items by the query's
# condition, empty JSON, no Python per item. How near its query a sweep that records what it did could come. Each
# statement is (SQL, rows written per item; None: one per person).
NO_CONTEXT = "'{}'"
WRITTEN_AT = (bindparam("moment", type_=UTCDateTime), bindparam("later", type_=UTCDateTime))
REMINDERS_WRITTEN = (
    (
        "INSERT INTO events (at, kind, subject_type, subject_id, detail) "
        f"SELECT :moment, 'reminder.sent', 'actions', id, {NO_CONTEXT} FROM actions WHERE {REMINDERS}",
        1,
    ),
    (
        "INSERT INTO outbox (key, recipient, template, context, urgent, status, available_at, attempts, created_at) "
        f"SELECT 'bench:' || owner_id, 'U0BENCH', 'digest', {NO_CONTEXT}, false, 'pending', :moment, 0, :moment "
        f"FROM actions WHERE {REMINDERS} GROUP BY owner_id",
        None,
    ),
    (f"UPDATE actions SET last_reminded_at = :moment, next_reminder_at = :later WHERE {REMINDERS}", 1),
)
ESCALATIONS_WRITTEN = (
    (
        "INSERT INTO escalation_steps (escalation_id, level, what, at) "
        f"SELECT id, level + 1, 'climbed', :moment FROM escalations WHERE {ESCALATIONS}",
        1,
    ),
    (
        "INSERT INTO events (at, kind, subject_type, subject_id, detail) "
        f"SELECT :moment, 'escalation.climbed', 'escalations', id, {NO_CONTEXT} FROM escalations WHERE {ESCALATIONS}",
        1,
    ),
    (  # the request to the next level, the notice to those below, the update of the earlier request
        "INSERT INTO outbox (key, recipient, template, context, urgent, status, available_at, attempts, created_at) "
        f"SELECT 'bench:' || id || ':' || n, 'U0BENCH', 'escalation_request', {NO_CONTEXT}, false, 'pending', "
        ":moment, 0, :moment "
        f"FROM escalations, (SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3) AS three WHERE {ESCALATIONS}",
        3,
    ),
    (f"UPDATE escalations SET level = level + 1, respond_by = :later WHERE {ESCALATIONS}", 1),
)


def _raw(rt: Runtime, query, moment: datetime) -> tuple[float, int]:
    with rt.database.engine.connect() as conn:
        started = time.perf_counter()
        rows = conn.execute(query, {"moment": moment}).all()
        return time.perf_counter() - started, len(rows)


def _swept(rt: Runtime, sweep: Callable[[Any], int], check: Callable[[Any], int]) -> tuple[float, int, int]:
    """The sweep in a transaction rolled back afterwards, so it can be repeated on the same rows: everything it
    writes is flushed (sent to the database) inside the timing; only the COMMIT is left out. Returns the seconds,
    the items `check` finds it acted on, and the SQL statements it sent."""
    with rt.database.sessions() as db, counted(rt.database) as statements:
        db.begin()
        started = time.perf_counter()
        sweep(db)
        db.flush()
        spent = time.perf_counter() - started
        sent = len(statements)
        done = check(db)
        db.rollback()
    return spent, done, sent


def _written(rt: Runtime, writes: tuple[tuple[str, int | None], ...], moment: datetime, due: int) -> float:
    """A sweep's least (`REMINDERS_WRITTEN`, `ESCALATIONS_WRITTEN`) in a transaction rolled back afterwards, as
    `_swept`; checks each statement wrote its rows for every item."""
    with rt.database.engine.connect() as conn, conn.begin() as transaction:
        started = time.perf_counter()
        values = {"moment": moment, "later": moment + timedelta(days=1)}
        counts = [
            conn.execute(text(sql).bindparams(*(b for b in WRITTEN_AT if f":{b.key}" in sql)), values).rowcount
            for sql, _ in writes
        ]
        spent = time.perf_counter() - started
        transaction.rollback()
    for (sql, per_item), count in zip(writes, counts, strict=True):
        if count != (per_item or 0) * due and not (per_item is None and 0 < count <= due):
            raise AssertionError(f"bench: {count} rows from {sql[:40]}…, for {due} items due")
    return spent


def bench_sweeps(rt: Runtime, seeded: Seeded, repeats: int) -> list[Row]:
    moment, cal, settings = seeded.moment, rt.calendar, rt.settings

    def reminded(db) -> int:
        return db.scalar(select(func.count()).select_from(Event).where(Event.kind == "reminder.sent")) or 0

    def climbed(db) -> int:
        return db.scalar(select(func.count()).select_from(Event).where(Event.kind == "escalation.climbed")) or 0

    cases = [
        (
            "reminder sweep (digests)",
            REMINDERS_DUE,
            REMINDERS_WRITTEN,
            lambda db: digests.send_digests(db, cal, settings),
            reminded,
        ),
        (
            "escalation sweep",
            ESCALATIONS_DUE,
            ESCALATIONS_WRITTEN,
            lambda db: escalation.sweep(db, cal, settings),
            climbed,
        ),
    ]
    rows = []
    for name, query, writes, sweep, check in cases:
        raw_times, sweep_times, written_times = [], [], []
        # Each side once first, to warm the caches and the connection pool alike (the clock is a long-lived process).
        _raw(rt, query, moment)
        _swept(rt, sweep, check)
        _written(rt, writes, moment, seeded.due)
        for _ in range(repeats):
            spent, found = _raw(rt, query, moment)
            raw_times.append(spent)
            if found != seeded.due:
                raise AssertionError(f"{name}: the raw query found {found} items, {seeded.due} were seeded due")
            spent, done, statements = _swept(rt, sweep, check)
            sweep_times.append(spent)
            if done != seeded.due:
                raise AssertionError(f"{name}: the sweep acted on {done} items, {seeded.due} were due")
            written_times.append(_written(rt, writes, moment, seeded.due))
        sweep_t, raw_t = statistics.median(sweep_times), statistics.median(raw_times)
        written_t = statistics.median(written_times)
        rows += [
            Row(
                f"{name}, {seeded.due} due",
                f"{ms(sweep_t)} ({statements} SQL)",
                ms(raw_t),
                sweep_t / raw_t,
                "<= 3x",
                sweep_t / raw_t <= 3,
                {"sweep_seconds": sweep_times, "query_seconds": raw_times, "statements": statements},
            ),
            Row(
                "  the same writes by SQL alone (no Python)",
                f"{ms(written_t)} ({len(writes)} SQL)",
                ms(raw_t),
                written_t / raw_t,
                "reference",
                None,
                {"written_seconds": written_times, "query_seconds": raw_times},
            ),
        ]
    return rows
