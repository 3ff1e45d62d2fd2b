"""Shared fixtures: a migrated database (SQLite, or PostgreSQL when QABOT_TEST_DATABASE_URL is set), the
Slack stand-in, a running qabot HTTP server and a signed sender that talks to it the way Slack does."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy import select, text

from bot.config import Settings
from bot.demo import STAFF, seed
from bot.runtime import Runtime
from bot.sandbox.requests import SignedSender
from bot.sandbox.server import SlackStandIn
from bot.server import background_server
from bot.workflow import allocation
from store import Database
from store.models import Base, Case, Person

SIGNING_SECRET = "test-signing-secret"
QA_CHANNEL = "C0QATEAM"
PG_URL = os.environ.get("QABOT_TEST_DATABASE_URL")


@pytest.fixture(scope="session")
def _template_db(tmp_path_factory):
    """Migrate once per session; each test gets a fresh copy (SQLite) or emptied tables (PostgreSQL)."""
    if PG_URL:
        database = Database(PG_URL)
        database.migrate()
        database.engine.dispose()
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "qabot.sqlite3"
    database = Database(f"sqlite:///{path}")
    database.migrate()
    database.engine.dispose()
    return path


def empty_postgres() -> None:
    """Every table of the PostgreSQL test database emptied, its migrations kept."""
    database = Database(PG_URL)
    # The one row of case_list_names_version is part of the schema (migration 0017), not data.
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables if t.name != "case_list_names_version")
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    database.engine.dispose()


def fresh_database(template, directory) -> str:
    """A migrated, empty database: PostgreSQL's emptied, or a copy of the SQLite template in `directory`."""
    if PG_URL:
        empty_postgres()
        return PG_URL
    path = directory / "qabot.sqlite3"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def database_url(_template_db, tmp_path) -> str:
    return fresh_database(_template_db, tmp_path)


@pytest.fixture
def standin():
    with SlackStandIn() as s:
        s.add_channel(QA_CHANNEL, "qa-team")
        s.invite_bot(QA_CHANNEL)
        yield s


@pytest.fixture
def settings(standin, database_url) -> Settings:
    return Settings(
        slack_bot_token=standin.bot_token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=standin.api_url,
        database_url=database_url,
        qa_channel=QA_CHANNEL,
        case_url="https://casesystem.example/person/{case_id}",
    )


@pytest.fixture
def cli_env(settings, monkeypatch):
    """The environment a `qabot` command run by the tests sees: this test's database and stand-in."""
    for name, value in (
        ("DATABASE_URL", settings.database_url),
        ("SLACK_BOT_TOKEN", settings.slack_bot_token),
        ("SLACK_API_URL", settings.slack_api_url),
        ("QABOT_QA_CHANNEL", "C0QATEAM"),
    ):
        monkeypatch.setenv(name, value)


@pytest.fixture
def rt(settings):
    runtime = Runtime.build(settings, timeout=3)
    # Pacing has its own test; elsewhere it would only make tests wait for the clock.
    runtime.dispatcher.pace = timedelta(0)
    yield runtime
    runtime.close()


@pytest.fixture
def slack(rt, standin):
    """The running HTTP server and a sender that signs requests to it like Slack."""
    server, base_url = background_server(rt)
    yield SignedSender(f"{base_url}/slack/events", SIGNING_SECRET, standin, settle=rt.settle)
    server.close()


@dataclass
class World:
    """Ids of the demo directory's people (by first name) and its first case."""

    people: dict[str, int]
    case_id: int

    def slack_id(self, first_name: str) -> str:
        return next(slack for name, _, slack, *_ in STAFF if name.split()[0].lower() == first_name)


@pytest.fixture
def world(rt, standin) -> World:
    people = seed(rt.database, standin)
    with rt.database.unit_of_work() as db:
        case_id = db.scalar(select(Case.id).order_by(Case.id))
    return World(people, case_id)


@pytest.fixture
def audit_id(rt, world):
    """Priya's audit by Amira, ready to submit on Monday 11 January 2027 at 10:00: the meeting was held on the
    Friday and the family's feedback is in. (Modules that need another starting point define their own.)"""
    monday = datetime(2027, 1, 11, 10, 0, tzinfo=ZoneInfo("Europe/London"))
    with freeze_time(monday - timedelta(days=7)), rt.database.unit_of_work() as db:
        audit = allocation.allocate(
            db, rt.calendar, rt.settings, db.get(Case, world.case_id), db.get(Person, world.people["amira"]), "2027-01"
        )
        audit.status = "in_progress"
        audit.meeting_at = monday - timedelta(days=3)
        audit.family_feedback = {"how": "visit", "child_voice": "Happier at school.", "family_view": "Listened to."}
        return audit.id


def pytest_terminal_summary(terminalreporter, config):
    """The PII guard's hit rate on the corpus (tests/test_pii_corpus.py), when that test ran."""
    from tests.pii_corpus import PII_TABLE

    lines = config.stash.get(PII_TABLE, None)
    if lines:
        terminalreporter.write_sep("-", "PII corpus")
        for line in lines:
            terminalreporter.write_line(line)
