"""Writes that must happen at most once, whichever process or thread gets there first."""

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def insert_once(db: Session, model: type, conflict_on: str, **values: Any) -> bool:
    """INSERT … ON CONFLICT DO NOTHING: True only for the one caller whose row went in."""
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    result = db.execute(insert(model).values(**values).on_conflict_do_nothing(index_elements=[conflict_on]))
    return result.rowcount == 1
