"""Engine, sessions and the unit of work; the schema check that commands run before they start."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from store.models import Event


class NotMigrated(Exception):
    """The database schema is missing or older than this code."""


class WriteReached(Exception):
    """A trial transaction came to its first write: everything the work checks before acting has passed."""


class Database:
    def __init__(self, url: str):
        self.url = url
        self.engine = _engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back (nothing half-written) if it raises."""
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def trial(self) -> Iterator[Session]:
        """A transaction that only reads and is never committed: the first statement that would write raises
        WriteReached instead. A form's checks are run this way, as its workflow runs them, so the answer to the form
        can carry their findings before the work itself is done."""
        # No autoflush: a refusal put on the trail is an object added, not yet a write; the caller sees it pending.
        trial_engine = self.engine.execution_options(qabot_trial=True)
        with Session(trial_engine, expire_on_commit=False, autoflush=False) as session:
            session.begin()
            try:
                yield session
            finally:
                session.rollback()

    def alembic_config(self) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", "store:migrations")
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return cfg

    def migrate(self) -> None:
        from alembic import command

        with self.engine.begin() as connection:
            cfg = self.alembic_config()
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")

    def revisions(self) -> tuple[str | None, str | None]:
        """(current revision in the database, newest revision in the code)."""
        head = ScriptDirectory.from_config(self.alembic_config()).get_current_head()
        with self.engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
        return current, head

    def check_migrated(self) -> None:
        path = self.engine.url.database
        if self.engine.dialect.name == "sqlite" and path and path != ":memory:" and not Path(path).exists():
            raise NotMigrated(f"there is no database at {path}: run `qabot migrate` (or check DATABASE_URL)")
        try:
            current, head = self.revisions()
        except SQLAlchemyError as exc:
            raise NotMigrated(f"cannot reach the database ({exc.__class__.__name__}): check DATABASE_URL") from None
        if current is None:
            raise NotMigrated("the database has no qabot schema yet: run `qabot migrate`")
        if current != head:
            raise NotMigrated(f"the database schema is at {current}, the code needs {head}: run `qabot migrate`")

    def reachable(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"


# Connections one `qabot serve` may hold at once: its 8 request threads, the 10 that finish acknowledged work
# (rt.listeners) and the courier, with room to spare; SQLAlchemy's default (5 + 10) would make some wait.
POOL = {"pool_size": 10, "max_overflow": 15}


def _engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        engine = create_engine(url, pool_pre_ping=True, **POOL)
        event.listen(engine, "before_cursor_execute", _trial_reads_only)
        return engine
    in_memory = make_url(url).database in (None, "", ":memory:")  # one connection, shared: no pool to size
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **({} if in_memory else POOL))
    event.listen(engine, "before_cursor_execute", _trial_reads_only)

    # pysqlite's own transaction handling defers BEGIN; take the write lock at the start instead, so two
    # threads never deadlock upgrading a read lock (SQLAlchemy's documented recipe).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        # Keys are case-sensitive: so is LIKE 'action:7:done:%', and then it is answered from the key's index.
        cursor.execute("PRAGMA case_sensitive_like=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # A trial only reads: it must not take the write lock and queue behind (or hold up) the writers.
        trial = connection.get_execution_options().get("qabot_trial")
        connection.exec_driver_sql("BEGIN" if trial else "BEGIN IMMEDIATE")

    return engine


def _trial_reads_only(connection, _cursor, statement: str, _parameters, _context, _executemany) -> None:
    if not connection.get_execution_options().get("qabot_trial"):
        return
    # A locking read (FOR UPDATE) is still a read: its locks last only as long as the trial, which writes nothing.
    words = statement.lstrip().upper()
    if not (words.startswith("SELECT") or words.startswith("BEGIN")):
        raise WriteReached(words.split(None, 1)[0] if words else "")


@event.listens_for(Session, "before_flush")
def _events_are_append_only(session: Session, _context, _instances) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, Event) and (obj in session.deleted or session.is_modified(obj)):
            raise ValueError("the events table is append-only")
