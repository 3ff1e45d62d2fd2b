"""qabot's benchmarks (issue 8): each figure is a ratio against a baseline measured in the same run, on the same
machine, against the same database, so a busy machine moves both sides.

    python -m bench.run --database sqlite
    python -m bench.run --database postgresql+psycopg://postgres@127.0.0.1:5432/qabot_bench --reset

1. Acknowledgement latency over real HTTP (qabot's own server, requests signed as Slack signs them) of a button
   press (a team manager's Sign off) and of a modal submission (an owner's Mark done), p50 and p99, against a bare
   Bolt app with the same signing secret, served the same way, that only acks the same request. The two are
   interleaved request by request. Target: p99 at most 3x.
2. The reminder sweep (the digests) and the escalation sweep, the functions `qabot tick` runs, with `due` items
   due, against the raw indexed query that finds those items. Target: at most 3x. Each is followed by a reference
   row: the same rows written by SQL alone, against the same query.
3. The Annex A import (`qabot import-cases`) of a 10,000-row workbook: seconds (target: 2 s) and peak memory.
4. App Home for a person with 10 and with 200 items: SQL statements counted, which must be the same.

The database must be empty (SQLite: a fresh file in a temporary folder unless a path is given); with --reset a
PostgreSQL database is emptied first (everything in its public schema is dropped)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from python_calamine import CalamineWorkbook
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import bindparam, event, func, select, text

from bench.seed import TEAMS, Seeded, seed
from bot.calendar import clock_at
from bot.config import Settings
from bot.runtime import Runtime
from bot.sandbox.requests import SignedSender
from bot.sandbox.server import SlackStandIn
from bot.server import BackgroundServer, background_server
from bot.workflow import actions, annex_a, caselist, digests, escalation, home
from messages import render_view
from store import Database
from store.models import Action, Event, UTCDateTime

SECRET = "bench-signing-secret"
QA_CHANNEL = "C0QABENCH"
NOTE = "Plan reviewed with the family and the chronology updated."


@dataclass(frozen=True)
class Scale:
    cases: int = 10_000
    actions: int = 100_000
    due: int = 1_000
    requests: int = 300
    warmup: int = 30
    repeats: int = 3
    import_rows: int = 10_000
    home_items: tuple[int, int] = (10, 200)


FULL = Scale()
BENCHMARKS = ("home", "sweeps", "ack", "import")
TINY = Scale(cases=200, actions=1_500, due=20, requests=12, warmup=3, repeats=1, import_rows=300, home_items=(3, 12))


@dataclass
class Row:
    """One line of the results table."""

    name: str
    measured: str
    baseline: str
    ratio: float | None
    target: str
    passed: bool | None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Results:
    database: str
    scale: dict[str, Any]
    started: str
    machine: str
    rows: list[Row] = field(default_factory=list)

    def table(self) -> str:
        head = ("benchmark", "qabot", "baseline", "ratio", "target", "")
        lines = [head] + [
            (
                r.name,
                r.measured,
                r.baseline,
                "" if r.ratio is None else f"{r.ratio:.2f}x",
                r.target,
                "" if r.passed is None else "PASS" if r.passed else "MISS",
            )
            for r in self.rows
        ]
        widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
        out = [" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines]
        out.insert(1, "-+-".join("-" * w for w in widths))
        return "\n".join(out)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def percentile(samples: list[float], p: float) -> float:
    """The p-th percentile (0-100), interpolated between the closest ranks."""
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def machine() -> str:
    cpus = os.cpu_count()
    model = ""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        model = next(line.split(":", 1)[1].strip() for line in lines if "model name" in line)
    except (OSError, StopIteration):
        pass
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return f"{model or 'unknown CPU'}, {cpus} cores{load}, Python {sys.version.split()[0]}"


# ----- 4. App Home ---------------------------------------------------------------------------------------------------


@contextmanager
def counted(database: Database) -> Iterator[list[str]]:
    """Every SQL statement sent to the database while the block runs."""
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(database.engine, "before_cursor_execute", seen)


def bench_home(rt: Runtime, seeded: Seeded, repeats: int) -> Row:
    counts, times, shown = {}, {}, {}
    for items, slack_id in seeded.home.items():
        spent = []
        for _ in range(repeats + 1):
            with rt.database.unit_of_work() as db, counted(rt.database) as statements:
                started = time.perf_counter()
                ctx = home.home_for(db, rt.calendar, slack_id, rt.settings.framework)
                render_view("home", ctx)
                spent.append(time.perf_counter() - started)
            counts[items] = len(statements)
        actions_section = next(s for s in ctx["waiting"] if s["kind"] == "actions")
        shown[items] = actions_section["count"]
        if shown[items] != items:
            raise AssertionError(f"Home shows {shown[items]} actions for the person seeded with {items}")
        times[items] = statistics.median(spent[1:])
    small, large = sorted(counts)
    return Row(
        f"App Home, {small} vs {large} items: SQL statements",
        f"{counts[large]} ({_ms(times[large])})",
        f"{counts[small]} ({_ms(times[small])})",
        counts[large] / counts[small],
        "same count",
        counts[large] == counts[small],
        {"statements": counts, "seconds": times, "actions_shown": shown},
    )


# ----- 2. the sweeps -------------------------------------------------------------------------------------------------

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
                f"{_ms(sweep_t)} ({statements} SQL)",
                _ms(raw_t),
                sweep_t / raw_t,
                "<= 3x",
                sweep_t / raw_t <= 3,
                {"sweep_seconds": sweep_times, "query_seconds": raw_times, "statements": statements},
            ),
            Row(
                "  the same writes by SQL alone (no Python)",
                f"{_ms(written_t)} ({len(writes)} SQL)",
                _ms(raw_t),
                written_t / raw_t,
                "reference",
                None,
                {"written_seconds": written_times, "query_seconds": raw_times},
            ),
        ]
    return rows


# ----- 1. acknowledgement latency -------------------------------------------------------------------------------------


def bare_app(rt: Runtime):
    """A Bolt app that only acks, built as qabot's is (same client, same signing secret, listeners run before the
    response), as a WSGI application that qabot's BackgroundServer serves as it serves qabot (waitress, 4 threads)."""
    app = App(
        client=rt.client,
        signing_secret=rt.settings.slack_signing_secret,
        process_before_response=True,
        token_verification_enabled=False,
        logger=logging.getLogger("bench.bare"),
    )

    @app.action("action_sign_off")
    def clicked(ack):
        ack()

    @app.view("action_done_form")
    def submitted(ack):
        ack()

    slack = SlackRequestHandler(app, path="/slack/events")

    def application(environ, start_response):
        if environ.get("PATH_INFO") == "/slack/events":
            return slack(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not Found"]

    return application


def _latency_rows(name: str, app: list[float], bare: list[float]) -> Row:
    p50, p99 = percentile(app, 50), percentile(app, 99)
    b50, b99 = percentile(bare, 50), percentile(bare, 99)
    return Row(
        f"ack latency, {name} (p50 / p99)",
        f"{_ms(p50)} / {_ms(p99)}",
        f"{_ms(b50)} / {_ms(b99)}",
        p99 / b99,
        "p99 <= 3x",
        p99 / b99 <= 3,
        {"p50_ratio": p50 / b50, "requests": len(app), "qabot_seconds": app, "bare_seconds": bare},
    )


def bench_ack(rt: Runtime, standin: SlackStandIn, seeded: Seeded, scale: Scale) -> list[Row]:
    wanted = scale.warmup + scale.requests
    if len(seeded.actionable) < wanted:
        raise ValueError(f"{len(seeded.actionable)} actions to press on, {wanted} needed")
    chosen = seeded.actionable[:wanted]
    with rt.database.unit_of_work() as db:
        first, owner, _ = chosen[0]
        view = render_view("action_done_form", actions.done_form(db, first, owner).detail)
    server, base_url = background_server(rt)
    bare = BackgroundServer(bare_app(rt), ident="bare")
    ours = SignedSender(f"{base_url}/slack/events", SECRET, standin)
    theirs = SignedSender(f"{bare.base_url}/slack/events", SECRET, standin)
    try:

        def submit(sender: SignedSender, action_id: int, owner: str):
            return sender.view_submission(owner, view, {"note": {"answer": NOTE}}, private_metadata=str(action_id))

        def press(sender: SignedSender, action_id: int, manager: str):
            return sender.block_action(manager, "action_sign_off", str(action_id))

        rows = []
        for name, send, who, state in (
            ("modal submission (Mark done)", submit, 1, "done"),
            ("button press (Sign off)", press, 2, "signed_off"),
        ):
            app_times, bare_times = [], []
            for n, row in enumerate(chosen):
                action_id, person = row[0], row[who]
                # Interleaved, and in turn first, so both see the same moment of a busy machine.
                order = ((ours, app_times), (theirs, bare_times))
                for sender, times in order if n % 2 == 0 else reversed(order):
                    started = time.perf_counter()
                    answer = send(sender, action_id, person)
                    spent = time.perf_counter() - started
                    if answer.status != 200 or answer.body.strip():
                        raise AssertionError(f"{name}: answered {answer.status} {answer.body[:200]!r}")
                    if n >= scale.warmup:
                        times.append(spent)
            if not rt.settle(timeout=120):
                raise AssertionError(f"{name}: the work after the acknowledgements did not finish")
            with rt.database.unit_of_work() as db:
                moved = db.scalar(
                    select(func.count())
                    .select_from(Action)
                    .where(Action.id.in_([r[0] for r in chosen]), Action.status == state)
                )
            if moved != len(chosen):
                raise AssertionError(f"{name}: {moved} of {len(chosen)} actions are {state}: the work was not done")
            rows.append(_latency_rows(name, app_times, bare_times))
        return rows
    finally:
        bare.close()
        server.close()


# ----- 3. the Annex A import -----------------------------------------------------------------------------------------

LIST_DATES = {
    "List 3": "Date of Referral",
    "List 4": "Continuous Assessment Start Date",
    "List 5": "Strategy discussion initiating Section 47 Enquiry Start Date",
    "List 6": "CIN Start Date",
    "List 7": "Child Protection Plan Start Date",
    "List 8": "Date Started to be Looked After",
    "List 9": "Eligibility Category",
}


def write_workbook(path: Path, rows: int, known: int) -> Path:
    """An Annex A workbook of `rows` children over Lists 3-9, with the demographic columns a council's export has
    (never read), mostly children already known (`known` case-system ids) and the directory's workers."""
    # Not write_only: that writes every string inline, where Excel (and a council's export) keeps them once, as
    # shared strings; reading inline strings costs openpyxl twice as much.
    book = Workbook()
    book.remove(book.active)
    sheets = list(LIST_DATES)
    per_sheet = {title: [] for title in sheets}
    for n in range(rows):
        ref = 700001 + n if n < known else 800001 + n
        team = n % TEAMS + 1
        worker = f"Worker {team}-{n // TEAMS % 8 + 1}"
        per_sheet[sheets[n % len(sheets)]].append((ref, team, worker, n))
    for title in sheets:
        sheet = book.create_sheet(title)
        sheet.append(
            ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age of Child (Years)", LIST_DATES[title]]
            + ["Allocated Team", "Allocated Worker"]
        )
        for ref, team, worker, n in per_sheet[title]:
            when = datetime(2026, n % 12 + 1, n % 27 + 1)
            sheet.append(
                [ref, "b) Female", "a) WBRI", datetime(2015, 1, 1), 11, when, f"Family Support {team}", worker]
            )
    book.save(path)
    return path


def _import(database: Database, path: Path, month: str) -> caselist.CaseImportReport:
    """What `qabot import-cases` does: read the whole file, then import it in one transaction."""
    case_list = annex_a.read_case_list(path)
    with database.unit_of_work() as db:
        return caselist.import_cases(db, case_list, month)


# The command, then its own peak resident memory. Not the children's ru_maxrss: that counts the pages a forked child
# shares with this (large) process before it runs the command.
COMMAND = (
    "import sys; from bot.cli import main; rc = main(); "
    "print(*(line for line in open('/proc/self/status') if line.startswith('VmHWM')), file=sys.stderr); sys.exit(rc)"
)


def bench_import(rt: Runtime, seeded: Seeded, scale: Scale, workdir: Path) -> list[Row]:
    path = write_workbook(workdir / "Annex_A.xlsx", scale.import_rows, min(seeded.cases, scale.import_rows * 9 // 10))
    # The baseline: only reading the workbook's cells with python-calamine, as the import does (every sheet, from A1).
    started = time.perf_counter()
    book = CalamineWorkbook.from_path(str(path))
    sheets = (book.get_sheet_by_name(name) for name in book.sheet_names)
    cells = sum(len(row) for sheet in sheets for row in sheet.to_python(skip_empty_area=False))
    book.close()
    read_only = time.perf_counter() - started

    started = time.perf_counter()
    report = _import(rt.database, path, "2027-03")
    spent = time.perf_counter() - started
    if report.total != scale.import_rows or report.created != scale.import_rows:
        raise AssertionError(f"the import read {report.total} children and listed {report.created}")

    tracemalloc.start()
    _import(rt.database, path, "2027-04")
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    # The command itself, in a process of its own: its peak resident memory (ru_maxrss) and wall time.
    env = os.environ | {"DATABASE_URL": rt.settings.database_url}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", COMMAND, "import-cases", str(path), "--month", "2027-05"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=workdir,
    )
    command = time.perf_counter() - started
    maxrss_kib = int(done.stderr.rsplit("VmHWM:", 1)[1].split()[0])
    target = 2.0 * scale.import_rows / FULL.import_rows
    return [
        Row(
            f"Annex A import, {scale.import_rows:,} rows",
            f"{spent:.2f} s",
            f"{read_only:.2f} s (calamine read)",
            spent / read_only,
            f"<= {target:g} s",
            spent <= target,
            {"seconds": spent, "read_seconds": read_only, "cells": cells, "command_seconds": command},
        ),
        Row(
            "Annex A import, peak memory",
            f"{traced_peak / 2**20:.1f} MiB traced",
            f"{maxrss_kib / 1024:.0f} MiB max RSS (command)",
            None,
            "reported",
            None,
            {"tracemalloc_peak_bytes": traced_peak, "command_maxrss_kib": maxrss_kib},
        ),
    ]


# ----- the run -------------------------------------------------------------------------------------------------------


def run(
    database_url: str, scale: Scale = FULL, workdir: Path | None = None, say=print, only: Iterable[str] = BENCHMARKS
) -> Results:
    """Seed an empty, migrated database at `database_url`, then run the benchmarks named in `only` against it."""
    results = Results(
        database=database_url.split("://", 1)[0],
        scale=asdict(scale),
        started=datetime.now().astimezone().isoformat(timespec="seconds"),
        machine=machine(),
    )
    with tempfile.TemporaryDirectory() as tmp, SlackStandIn() as standin:
        workdir = workdir or Path(tmp)
        standin.add_channel(QA_CHANNEL, "qa-team")
        standin.invite_bot(QA_CHANNEL)
        settings = Settings(
            slack_bot_token=standin.bot_token,
            slack_signing_secret=SECRET,
            slack_api_url=standin.api_url,
            database_url=database_url,
            qa_channel=QA_CHANNEL,
        )
        rt = Runtime.build(settings, timeout=5)
        try:
            started = time.perf_counter()
            seeded = seed(
                rt.database,
                cases=scale.cases,
                actions=scale.actions,
                due=scale.due,
                home_items=scale.home_items,
                spare=scale.warmup + scale.requests,
            )
            say(
                f"seeded {seeded.cases:,} cases, {seeded.audits:,} audits, {seeded.actions:,} actions "
                f"in {time.perf_counter() - started:.1f} s"
            )
            with clock_at(seeded.moment):
                if "home" in only:
                    results.rows.append(bench_home(rt, seeded, scale.repeats))
                    say(results.rows[-1].name + " done")
                if "sweeps" in only:
                    results.rows.extend(bench_sweeps(rt, seeded, scale.repeats))
                    say("sweeps done")
                if "ack" in only:
                    results.rows.extend(bench_ack(rt, standin, seeded, scale))
                    say("acknowledgements done")
                if "import" in only:
                    results.rows.extend(bench_import(rt, seeded, scale, workdir))
                    say("import done")
        finally:
            rt.close()
    return results


def _prepare(database: str, reset: bool, tmp: Path) -> str:
    if database == "sqlite":
        url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    else:
        url = database
    db = Database(url)
    try:
        if db.is_postgres and reset:
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        with db.engine.connect() as conn:
            tables = db.engine.dialect.get_table_names(conn)
        if tables:
            raise SystemExit(f"bench: {url} is not empty; give an empty database (or --reset for PostgreSQL)")
        db.migrate()
    finally:
        db.engine.dispose()
    return url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="sqlite", help="'sqlite' (a fresh file) or a PostgreSQL URL")
    parser.add_argument("--reset", action="store_true", help="empty the PostgreSQL database first (drops its schema)")
    parser.add_argument("--tiny", action="store_true", help="a tiny scale, to check the benchmarks run")
    parser.add_argument("--json", type=Path, help="also write the results, with every sample, to this file")
    parser.add_argument(
        "--only", action="append", choices=BENCHMARKS, help="run only this benchmark (may be given more than once)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        url = _prepare(args.database, args.reset, Path(tmp))
        results = run(url, TINY if args.tiny else FULL, only=args.only or BENCHMARKS)
    print(f"\n{results.machine}; {results.database}; {results.started}\n")
    print(results.table())
    if args.json:
        args.json.write_text(json.dumps(asdict(results), indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
