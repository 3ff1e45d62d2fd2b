"""Writes that must happen at most once, whichever process or thread gets there first, and decisions that must be
taken one at a time."""

import hashlib
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def insert_once(db: Session, model: type, conflict_on: str | tuple[str, ...], **values: Any) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on the unique column (or columns): True only for the one caller whose row
    went in."""
    columns = (conflict_on,) if isinstance(conflict_on, str) else conflict_on
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(model).values(**values).on_conflict_do_nothing(index_elements=list(columns))
    # RETURNING says whether this caller's row went in; rowcount is not reliable across drivers here.
    return db.execute(statement.returning(getattr(model, columns[0]))).first() is not None


def one_at_a_time(db: Session, what: str, key: str) -> None:
    """Until this transaction ends, another asking for the same `what` and `key`, in any process, waits here: what
    is read after this call is decided on without anyone else deciding the same meanwhile. On PostgreSQL a
    transaction-level advisory lock; SQLite lets one transaction write at a time already (BEGIN IMMEDIATE)."""
    if db.get_bind().dialect.name != "postgresql":
        return
    number = int.from_bytes(hashlib.blake2b(f"{what}:{key}".encode(), digest_size=8).digest(), "big", signed=True)
    db.execute(text("SELECT pg_advisory_xact_lock(:number)"), {"number": number})
