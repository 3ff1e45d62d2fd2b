"""The `qabot` command."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime
from pathlib import Path

from dotenv import load_dotenv
from sqlalchemy.exc import OperationalError

from bot import config
from bot.config import ConfigError, Settings
from store import NotMigrated


def _runtime(settings: Settings):
    from bot.runtime import Runtime

    rt = Runtime.build(settings)
    rt.database.check_migrated()
    return rt


def cmd_serve(settings: Settings, args) -> int:
    from bot.server import serve

    settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    serve(_runtime(settings))
    return 0


def cmd_socket(settings: Settings, args) -> int:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.app import build_app

    settings.require("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")
    rt = _runtime(settings)
    rt.start_courier()
    try:
        SocketModeHandler(build_app(rt), settings.slack_app_token).start()
    finally:
        rt.close()
    return 0


def cmd_clock(settings: Settings, args) -> int:
    from scheduler.jobs import clock

    settings.require("SLACK_BOT_TOKEN")
    clock(_runtime(settings))
    return 0


def cmd_tick(settings: Settings, args) -> int:
    from scheduler.jobs import tick

    settings.require("SLACK_BOT_TOKEN")
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
    from store import Database

    database = Database(settings.database_url)
    before, head = database.revisions()
    database.migrate()
    print(f"database at {head}" + (" (already up to date)" if before == head else f" (was {before or 'empty'})"))
    return 0


def cmd_outbox(settings: Settings, args) -> int:
    from bot import outbox
    from store import Database

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


def cmd_demo(settings: Settings, args) -> int:
    from bot.demo import run

    return run(keep=args.keep)


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
    try:
        settings = config.load() if args.command != "demo" else Settings()
        return args.func(settings, args)
    except ConfigError as exc:
        print(f"qabot: configuration error: {exc}", file=sys.stderr)
        return 2
    except NotMigrated as exc:
        print(f"qabot: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        print(f"qabot: cannot reach the database ({exc.orig.__class__.__name__}): check DATABASE_URL", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
