"""The `qabot` command."""

from __future__ import annotations

import argparse
import logging
import re
import signal
import sys
from datetime import datetime
from getpass import getuser
from pathlib import Path

from dotenv import load_dotenv
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bot import config
from bot.config import ConfigError, Settings
from store import Database, NotMigrated


def _runtime(settings: Settings):
    from bot.runtime import Runtime

    rt = Runtime.build(settings)
    rt.database.check_migrated()
    return rt


def cmd_serve(settings: Settings, args) -> int:
    from bot.server import serve

    settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "QABOT_QA_CHANNEL")
    serve(_runtime(settings))
    return 0


def cmd_socket(settings: Settings, args) -> int:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.app import build_app

    settings.require("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "QABOT_QA_CHANNEL")
    rt = _runtime(settings)
    rt.start_courier()
    handler = SocketModeHandler(build_app(rt), settings.slack_app_token)
    # Stopped with SIGTERM, as `serve` is: disconnect, then finish the work already acknowledged to Slack.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        handler.start()
    finally:
        handler.close()
        rt.close()
    return 0


def cmd_clock(settings: Settings, args) -> int:
    from scheduler.jobs import clock

    settings.require("SLACK_BOT_TOKEN", "QABOT_QA_CHANNEL")
    clock(_runtime(settings))
    return 0


def cmd_tick(settings: Settings, args) -> int:
    from scheduler.jobs import tick

    settings.require("SLACK_BOT_TOKEN", "QABOT_QA_CHANNEL")
    at = None
    if args.at:
        try:
            at = datetime.fromisoformat(args.at)
        except ValueError:
            print(
                f"qabot: --at must be an ISO-8601 moment such as 2027-01-04T09:00, got {args.at!r}",
                file=sys.stderr,
            )
            return 2
        if at.tzinfo is None:
            at = at.replace(tzinfo=settings.timezone)
    rt = _runtime(settings)
    try:
        results = tick(rt, at)
    finally:
        rt.close()
    for name, result in results.items():
        print(f"{name}: {result}")
    return 0


def cmd_migrate(settings: Settings, args) -> int:
    database = Database(settings.database_url)
    before, head = database.revisions()
    database.migrate()
    print(f"database at {head}" + (" (already up to date)" if before == head else f" (was {before or 'empty'})"))
    return 0


def cmd_outbox(settings: Settings, args) -> int:
    from bot import outbox

    database = Database(settings.database_url)
    database.check_migrated()
    with database.unit_of_work() as db:
        if args.retry is not None:
            missing = sorted(set(args.retry) - {row.id for row in outbox.failed(db)})
            if missing:
                print(f"qabot: no failed message with id {', '.join(map(str, missing))}", file=sys.stderr)
                return 2
            count = outbox.retry_failed(db, args.retry or None)
            print(f"{count} failed message(s) queued again")
            return 0
        rows = outbox.failed(db)
        for row in rows:
            print(f"{row.id}\t{row.key}\tto {row.recipient}\t{row.attempts} attempt(s)\t{row.last_error}")
        print(f"{len(rows)} failed message(s)" + ("; retry with `qabot outbox --retry [ID ...]`" if rows else ""))
    return 0


def cmd_import_org(settings: Settings, args) -> int:
    from urllib.error import URLError

    from slack_sdk.errors import SlackApiError
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

    from bot.workflow import staff_import

    settings.require("SLACK_BOT_TOKEN")
    rt = _runtime(settings)
    # A command, not a request thread: it may wait out users.lookupByEmail's rate limit for a large directory.
    rt.client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=5))
    try:
        rows = staff_import.read_staff_csv(Path(args.file))
        problems = staff_import.validate(rows)
        if problems:
            raise staff_import.DirectoryInvalid(problems)

        def lookup(email: str) -> str | None:
            try:
                return rt.client.users_lookupByEmail(email=email)["user"]["id"]
            except SlackApiError as exc:
                if exc.response.get("error") == "users_not_found":
                    return None
                raise staff_import.SlackUnavailable(
                    exc.response.get("error") or f"Slack answered {exc.response.status_code}"
                ) from None
            except OSError as exc:  # URLError, connection refused, timeouts
                reason = exc.reason if isinstance(exc, URLError) else exc
                raise staff_import.SlackUnavailable(getattr(reason, "strerror", None) or str(reason)) from None

        # Slack is asked before the transaction opens: network calls never hold the database.
        lookups = staff_import.resolve_slack_ids(rows, lookup)
        with rt.database.unit_of_work() as db:
            report = staff_import.import_org(db, rows, slack_ids=lookups)
    except staff_import.DirectoryInvalid as exc:
        print(f"qabot: {exc}", file=sys.stderr)
        for line in exc.lines():
            print(f"  {line}", file=sys.stderr)
        return 2
    except staff_import.DirectoryError as exc:
        print(f"qabot: {exc}", file=sys.stderr)
        return 2
    finally:
        rt.close()
    print("\n".join(report.lines()))
    if report.not_looked_up:
        # The directory is imported (leavers must stop being given work); only the Slack accounts wait.
        count = len(report.not_looked_up)
        print(
            f"qabot: cannot reach Slack to look up {count} {'person' if count == 1 else 'people'} by email"
            f" ({report.lookup_failure}): check SLACK_BOT_TOKEN and SLACK_API_URL, then run import-org again",
            file=sys.stderr,
        )
        return 2
    return 0


def cmd_import_cases(settings: Settings, args) -> int:
    from bot.workflow import annex_a, caselist

    try:
        caselist.validate_month(args.month)
    except ValueError as exc:
        print(f"qabot: {exc}", file=sys.stderr)
        return 2
    database = Database(settings.database_url)
    database.check_migrated()
    try:
        # Read the whole file before the transaction opens: a bad file changes nothing.
        case_list = annex_a.read_case_list(Path(args.file))
        with database.unit_of_work() as db:
            report = caselist.import_cases(db, case_list, args.month)
    except annex_a.CaseListError as exc:
        print(f"qabot: {exc}", file=sys.stderr)
        return 2
    finally:
        database.engine.dispose()
    print("\n".join(report.lines()))
    return 0


def cmd_restrict(settings: Settings, args) -> int:
    from bot.workflow import restricted

    database = Database(settings.database_url)
    database.check_migrated()
    try:
        with database.unit_of_work() as db:
            result = restricted.set_restricted(
                db, args.case_id, not args.lift, args.grant or [], via=f"command line ({getuser()})"
            )
    except restricted.RestrictedError as exc:
        print(f"qabot: {exc}", file=sys.stderr)
        return 2
    finally:
        database.engine.dispose()
    if args.lift:
        print(
            f"{args.case_id} is no longer restricted: the people on its audits see it again."
            if result.changed
            else f"{args.case_id} was not restricted; nothing changed."
        )
        return 0
    print(f"{args.case_id} is {'now' if result.changed else 'already'} restricted.")
    if result.with_access:
        print(f"Only these people see more than its QA reference: {', '.join(result.with_access)}.")
        if result.granted:
            print(f"Newly granted: {', '.join(result.granted)}.")
        elif args.grant:
            print("Everyone named already had access.")
    else:
        print("Nobody has been granted access, so everyone sees only its QA reference.")
    # Being on the audit is not access (bot/workflow/restricted.py); say so, so nobody is cut off by surprise.
    print(
        "Its auditor and practitioner see only the reference too unless granted (--grant EMAIL); a practitioner"
        " still reads their own self-assessment, an auditor the family feedback they recorded."
    )
    return 0


def cmd_export(settings: Settings, args) -> int:
    from bot.workflow import exports

    settings.require("QABOT_QA_CHANNEL")
    try:
        request = exports.Request.parse(args.start, args.end, args.by, args.reason, args.person, args.out)
    except exports.ExportError as exc:
        print(f"qabot: {exc}", file=sys.stderr)
        return 2
    rt = _runtime(settings)
    made = None
    try:
        with rt.database.unit_of_work() as db:
            made = exports.make(db, rt.calendar, settings, request)
        exports.publish(made)
        for name in exports.FILES:
            print(f"{made.folder / f'{name}.csv'}: {made.counts[name]} row(s)")
        print("The export is recorded on the trail and the QA channel is told.")
        if settings.slack_bot_token:
            print(f"Delivery: {rt.dispatcher.drain()}")
    except exports.ExportError as exc:
        print(f"qabot: {exc}", file=sys.stderr)
        return 2
    finally:
        if made is not None:
            exports.discard(made)
        rt.close()
    return 0


def cmd_allocate(settings: Settings, args) -> int:
    from bot import months
    from bot.workflow import allocation_run, caselist

    if not months.is_month(args.month):
        print(f"qabot: --month must look like 2027-01, got {args.month!r}", file=sys.stderr)
        return 2
    if args.confirm:
        settings.require("SLACK_BOT_TOKEN", "QABOT_QA_CHANNEL")
    rt = _runtime(settings)
    try:
        with rt.database.unit_of_work() as db:
            run, done = allocation_run.latest(db, args.month), allocation_run.confirmed(db, args.month)
            if done is not None:
                pending = allocation_run.held_back(db, args.month)
                if not pending and not args.add:
                    print(
                        f"{args.month} is already allocated ({done.confirmed_at:%d %b %Y %H:%M}); nothing is held back."
                    )
                    _print_allocated(allocation_run.allocated(db, args.month))
                    return 0
                # Allocated already: a further draft of what is still held back, plus any cases added now.
                if run.status == "confirmed":
                    run = allocation_run.top_up(db, args.month, pending)
            if not caselist.has_case_list(db, args.month):
                print(
                    f"qabot: there is no case list for {args.month}: import it first with qabot import-cases",
                    file=sys.stderr,
                )
                return 2
            if run is None or (
                run.status == "draft"
                and not run.parameters.get("top_up")
                and (args.redraw or args.seed is not None or allocation_run.is_stale(db, run))
            ):
                run = allocation_run.draw(db, args.month, settings.framework, seed=args.seed)
            if args.add or args.remove:
                removed = allocation_run.cases_by_ref(db, args.remove or [], args.month)
                unknown = sorted(set(args.remove or []) - {c.case_ref for c in removed})
                not_listed, already = allocation_run.adjust(
                    db, run, set(run.selected) - {c.id for c in removed}, args.add or []
                )
                unknown += not_listed
                if unknown:
                    print(f"qabot: not on the {args.month} list: {', '.join(unknown)}", file=sys.stderr)
                    return 2
                for case_ref, qa_ref in already.items():
                    print(f"{case_ref} is already allocated this month as {qa_ref}")
            ctx = allocation_run.review_context(db, run, settings.framework)
            for line in _draft_lines(ctx):
                print(line)
            if done is not None:
                _print_allocated(allocation_run.allocated(db, args.month))
                if not any(team["cases"] for team in ctx["teams"]):
                    print("\nNothing more to allocate.")
                    return 0
            if not args.confirm:
                print("\nThis is a draft. Allocate it with --confirm (add --add/--remove CASE_ID to change it first).")
                return 0
            result = allocation_run.confirm(db, rt.calendar, settings, run, None, via=f"command line ({getuser()})")
            count = len(result.audits)
            print(f"\nAllocated {count} audit{'' if count == 1 else 's'}; {len(result.held_back)} held back.")
            for audit in result.audits:
                print(f"  {audit.qa_ref}  case {audit.case.case_ref:<12} → {audit.auditor.name}")
        print(f"Delivery: {rt.dispatcher.drain()}")
    finally:
        rt.close()
    return 0


def cmd_reallocate(settings: Settings, args) -> int:
    from bot.workflow import reallocation

    settings.require("QABOT_QA_CHANNEL")
    rt = _runtime(settings)
    try:
        with rt.database.unit_of_work() as db:
            moved = reallocation.move(db, rt.calendar, settings, args.qa_ref, args.by, args.reason, args.to)
        print(f"{moved.qa_ref} moved from {moved.previous or 'nobody'} to {moved.auditor}, who is asked to accept it.")
        if moved.was != "allocated":
            print(
                f"It had been {moved.was.replace('_', ' ')}: it is back to allocated until {moved.auditor} accepts,"
                " and any meeting arranged is for them to arrange again."
            )
        if settings.slack_bot_token:
            print(f"Delivery: {rt.dispatcher.drain()}")
    except reallocation.ReallocationError as exc:
        print(f"qabot: {exc}", file=sys.stderr)
        return 2
    finally:
        rt.close()
    return 0


def _print_allocated(audits: list) -> None:
    print("\nAllocated this month:")
    for audit in audits:
        who = audit.auditor.name if audit.auditor else "no auditor"
        print(f"  {audit.qa_ref}  case {audit.case.case_ref:<12} → {who} ({audit.status.replace('_', ' ')})")


def _draft_lines(ctx: dict) -> list[str]:
    from messages.render import HELD_BACK

    total = sum(len(t["cases"]) for t in ctx["teams"])
    if ctx["top_up"]:
        lines = [
            f"{ctx['month']} is allocated ({ctx['allocated']} audit(s)); {total} case(s) still need an auditor "
            "(held back, or added since)."
        ]
    else:
        lines = [
            f"{ctx['month']}: {total} case(s) drawn from {ctx['listed']} on the list (seed {ctx['seed']}); "
            f"{ctx['left_out']} left out as audited in the last {ctx['recent_months']} months."
        ]
        if ctx["held_back_drawn"]:
            lines.append(
                f"{ctx['held_back_drawn']} of them cannot be allocated until the staff directory has their worker "
                "(held back): nothing else was left on their team's list."
            )
    lines += [f"{a['case_ref']} is already allocated this month as {a['qa_ref']}" for a in ctx["already"]]
    for team in ctx["teams"]:
        lines.append(f"\n{team['name']}")
        for case in team["cases"]:
            who = case["auditor"] or f"HELD BACK: {HELD_BACK[case['held_back']]}"
            lines.append(
                f"  {case['case_ref']:<14} {case['category']:<12} {case['practitioner'] or 'no practitioner matched'}"
                f" -> {who}{'  (re-audit)' if case['reaudit'] else ''}"
            )
    return lines


def cmd_report(settings: Settings, args) -> int:
    from bot.calendar import now
    from bot.workflow import report_files, reports

    settings.require("SLACK_BOT_TOKEN", "QABOT_QA_CHANNEL")
    rt = _runtime(settings)
    try:
        try:
            quarter = reports.choose(args.quarter, rt.calendar.local(now()).date())
        except ValueError as exc:
            print(f"qabot: --quarter: {exc}", file=sys.stderr)
            return 2
        with rt.database.unit_of_work() as db:
            if not reports.has_audits(db, quarter):
                print(f"qabot: nothing was allocated in {quarter}, so there is no report to post", file=sys.stderr)
                return 2
            reports.post(db, rt.calendar, settings, quarter, via=f"command line ({getuser()})")
            figures = reports.figures(db, rt.calendar, quarter)
        title = "Quarterly QA report" if len(quarter.months) > 1 else "QA report"
        print(f"{title} {quarter} ({figures['period']}):")
        for section, item, measure, value in report_files.rows(figures):
            print(f"  {section}, {item}: {measure} {value if value != '' else '(no figure)'}")
        print(f"Delivery: {rt.dispatcher.drain()}")
    finally:
        rt.close()
    return 0


def cmd_retention(settings: Settings, args) -> int:
    from bot.calendar import Calendar
    from bot.workflow import retention

    database = Database(settings.database_url)
    database.check_migrated()
    try:
        with database.unit_of_work() as db:
            counts = retention.run(
                db, Calendar.from_settings(settings), settings, via=f"command line ({getuser()})", dry_run=args.dry_run
            )
    finally:
        database.engine.dispose()
    print("\n".join(retention.lines(counts, args.dry_run)))
    return 0


def cmd_demo(settings: Settings, args) -> int:
    from bot.demo import run

    return run(keep=args.keep)


def _database_problem(database_url: str, exc: OperationalError) -> str:
    """Which database, and the driver's reason in one line: never the password."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        where = f"the SQLite database {url.database}"
    else:
        where = f"the database {url.database} on {url.host or 'localhost'}{f':{url.port}' if url.port else ''}"
    first_line = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else exc.orig.__class__.__name__
    # psycopg: 'connection failed: connection to server at "h", port p failed: FATAL:  database "x" does not exist'
    reason = re.sub(r"^.*\bfailed: (?:FATAL:\s+)?", "", first_line)
    if url.password:
        reason = reason.replace(url.password, "***")
    return f"cannot reach {where} ({reason})"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qabot", description="qabot: the QA Framework in Slack")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("serve", help="HTTP: POST /slack/events, GET /healthz").set_defaults(func=cmd_serve)
    sub.add_parser("socket", help="connect to Slack in Socket Mode").set_defaults(func=cmd_socket)
    sub.add_parser("clock", help="the scheduler process (run exactly one)").set_defaults(func=cmd_clock)
    t = sub.add_parser("tick", help="run every job due at a moment, once, then exit")
    t.add_argument(
        "--at", help="ISO-8601 moment, e.g. 2027-01-04T09:00 (local time unless an offset is given; default: now)"
    )
    t.set_defaults(func=cmd_tick)
    sub.add_parser("migrate", help="create or upgrade the database schema").set_defaults(func=cmd_migrate)
    o = sub.add_parser("outbox", help="list notifications that could not be delivered, or retry them")
    o.add_argument("--retry", nargs="*", type=int, metavar="ID", help="retry these (or all) failed messages")
    o.set_defaults(func=cmd_outbox)
    i = sub.add_parser("import-org", help="import the staff directory from a CSV file")
    i.add_argument(
        "file",
        help="CSV with name,email,slack_user_id,roles,team,service,manager_email and optionally delegate_email"
        " (who may decide for this person during leave or acting up); roles separated by ';'",
    )
    i.set_defaults(func=cmd_import_org)
    c = sub.add_parser("import-cases", help="import the month's Ofsted Annex A case list (.xlsx, or .csv of one list)")
    c.add_argument("file", help="the Annex A workbook (.xlsx) or a CSV export of one list")
    c.add_argument("--month", required=True, help="the month the list is for, YYYY-MM")
    c.set_defaults(func=cmd_import_cases)
    r = sub.add_parser("restrict", help="mark a case record restricted, and grant people access to it")
    r.add_argument("case_id", help="the case-system id, as on the Annex A list")
    # Lifting gives everyone on the audit the record again: a grant alongside it would mean nothing.
    change = r.add_mutually_exclusive_group()
    change.add_argument("--grant", nargs="+", metavar="EMAIL", help="people who may see the record")
    change.add_argument("--lift", action="store_true", help="the record is no longer restricted")
    r.set_defaults(func=cmd_restrict)
    a = sub.add_parser("allocate", help="draw, show and (with --confirm) allocate a month's audit sample")
    a.add_argument("--month", required=True, help="YYYY-MM")
    a.add_argument("--seed", type=int, help="draw again with this seed (to repeat or explain a draw)")
    a.add_argument("--redraw", action="store_true", help="replace the current draft with a new draw")
    a.add_argument("--add", nargs="+", metavar="CASE_ID", help="add cases from the month's list")
    a.add_argument("--remove", nargs="+", metavar="CASE_ID", help="leave these cases out")
    a.add_argument("--confirm", action="store_true", help="allocate the draft and tell everyone")
    a.set_defaults(func=cmd_allocate)
    m = sub.add_parser("reallocate", help="move an open audit to another auditor (named, or the least loaded)")
    m.add_argument("qa_ref", help="the audit's QA reference, e.g. QA-2027-01-003")
    m.add_argument("--to", metavar="SLACK_ID_OR_EMAIL", help="the new auditor (default: the least-loaded eligible one)")
    m.add_argument("--by", required=True, metavar="SLACK_ID_OR_EMAIL", help="who moves it (QA team)")
    m.add_argument("--reason", help='why, e.g. "auditor has left" (required; kept on the trail)')
    m.set_defaults(func=cmd_reallocate)
    q = sub.add_parser("report", help="post the quarterly QA report, with its CSV and chart, to the QA team channel")
    q.add_argument(
        "--quarter", help="YYYYQn, e.g. 2027Q1, or one month as YYYY-MM (default: the last complete quarter)"
    )
    q.set_defaults(func=cmd_report)
    e = sub.add_parser("export", help="write CSV files of audits, actions and events for a period or one person")
    e.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD", help="the period's first day")
    e.add_argument("--to", dest="end", required=True, metavar="YYYY-MM-DD", help="the period's last day")
    e.add_argument("--person", metavar="SLACK_ID_OR_EMAIL", help="only what is about or by this person (a SAR)")
    e.add_argument("--by", required=True, metavar="SLACK_ID_OR_EMAIL", help="who makes the export (QA team)")
    e.add_argument("--reason", help='why, e.g. "Ofsted self-evaluation" (required; posted to the QA channel)')
    e.add_argument("--out", metavar="DIR", help="the folder to write (default: qabot-export-<period> here)")
    e.set_defaults(func=cmd_export)
    k = sub.add_parser("retention", help="delete or anonymise what is past its retention (the clock does it nightly)")
    k.add_argument("--dry-run", action="store_true", help="only say what would go, by kind and count")
    k.set_defaults(func=cmd_retention)
    d = sub.add_parser("demo", help="play a scripted slice of the workflow against a local Slack stand-in")
    d.add_argument("--keep", action="store_true", help="keep the demo database and print where it is")
    d.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # A local .env is read for convenience; the platform's own environment always wins.
    load_dotenv(Path.cwd() / ".env", override=False)
    # The demo prints a transcript; routine log lines would drown it.
    level = logging.WARNING if args.command == "demo" else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # A one-off command says in one line what failed; slack_sdk's error for each retried attempt would bury it.
    if args.command not in ("serve", "socket", "clock"):
        logging.getLogger("slack_sdk").setLevel(logging.CRITICAL)
    settings = Settings()
    try:
        settings = config.load() if args.command != "demo" else settings
        return args.func(settings, args)
    except ConfigError as exc:
        print(f"qabot: configuration error: {exc}", file=sys.stderr)
        return 2
    except NotMigrated as exc:
        print(f"qabot: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        print(f"qabot: {_database_problem(settings.database_url, exc)}: check DATABASE_URL", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
