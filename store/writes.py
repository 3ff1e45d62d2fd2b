"""Writes that must happen at most once, whichever process or thread gets there first."""

from typing import Any

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
