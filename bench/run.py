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
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from sqlalchemy import text

from bench.figures import FULL, TINY, Results, Row, Scale, counted, machine, ms
from bench.importing import bench_import
from bench.latency import bench_ack
from bench.seed import Seeded, seed
from bench.sweeps import bench_sweeps
from bot.calendar import clock_at
from bot.config import Settings
from bot.runtime import Runtime
from bot.sandbox.server import SlackStandIn
from bot.workflow import home
from messages import render_view
from store import Database

SECRET = "bench-signing-secret"
QA_CHANNEL = "C0QABENCH"
BENCHMARKS = ("home", "sweeps", "ack", "import")


# ----- 4. App Home ---------------------------------------------------------------------------------------------------


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
        f"{counts[large]} ({ms(times[large])})",
        f"{counts[small]} ({ms(times[small])})",
        counts[large] / counts[small],
        "same count",
        counts[large] == counts[small],
        {"statements": counts, "seconds": times, "actions_shown": shown},
    )


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
