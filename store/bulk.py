"""Writes of many rows at once, in the caller's transaction.

On PostgreSQL an executemany INSERT or UPDATE is still one statement per row (psycopg pipelines them): for the 10,000
rows of a county's case list that is most of the import's time, so there the rows go in with COPY, which psycopg
streams in one command. SQLite runs an executemany in-process and is fast as it is.
"""

import json
from typing import Any

from sqlalchemy import insert, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from store.reads import CHUNK

STAGING = "qabot_bulk_update"
FEW = 20  # rows that go into PostgreSQL quicker as INSERTs than through a staging table


def insert_rows(db: Session, model: type, rows: list[dict[str, Any]]) -> None:
    """INSERT the rows (dicts with the same keys, column names) into `model`'s table."""
    if not rows:
        return
    db.flush()  # rows the session holds go first: they were written first
    if _postgres(db):
        _copy(db, model.__table__.name, rows)
    else:
        db.execute(insert(model.__table__), rows)  # Core, not the ORM's bulk insert: a third of the time


def insert_new_rows(db: Session, model: type, unique: str, rows: list[dict[str, Any]]) -> None:
    """INSERT the rows, each unless a row with its value of the `unique` column is there already (ON CONFLICT DO
    NOTHING, as store.writes.insert_once)."""
    if not rows:
        return
    db.flush()
    if not _postgres(db):
        db.execute(sqlite_insert(model.__table__).on_conflict_do_nothing(index_elements=[unique]), rows)
        return
    if len(rows) < FEW:
        db.execute(pg_insert(model.__table__).on_conflict_do_nothing(index_elements=[unique]), rows)
        return
    table, names = model.__table__.name, ", ".join(rows[0])
    _stage(db, table, names, rows)
    db.execute(text(f"INSERT INTO {table} ({names}) SELECT {names} FROM {STAGING} ON CONFLICT ({unique}) DO NOTHING"))
    db.execute(text(f"DROP TABLE {STAGING}"))


def update_rows(db: Session, model: type, rows: list[dict[str, Any]]) -> None:
    """UPDATE each row of `model`'s table with its "id" to the other values of its dict (the same keys in each)."""
    if not rows:
        return
    if not _postgres(db):
        db.execute(update(model), rows)
        return
    table = model.__table__.name
    names = list(rows[0])
    _stage(db, table, ", ".join(names), rows)
    assignments = ", ".join(f"{name} = staged.{name}" for name in names if name != "id")
    db.execute(text(f"UPDATE {table} SET {assignments} FROM {STAGING} AS staged WHERE {table}.id = staged.id"))
    db.execute(text(f"DROP TABLE {STAGING}"))


def update_ids(db: Session, model: type, ids: list[int], **values: Any) -> None:
    """UPDATE the rows of `model` with these ids to the same values, a statement per CHUNK ids."""
    for start in range(0, len(ids), CHUNK):
        db.execute(update(model).where(model.id.in_(ids[start : start + CHUNK])).values(**values))


def _stage(db: Session, table: str, names: str, rows: list[dict[str, Any]]) -> None:
    """The rows in a staging table with `table`'s columns' types, gone at the end of the transaction (and dropped by
    the caller once used, so that a second bulk write in the same transaction can make its own)."""
    db.execute(text(f"CREATE TEMP TABLE {STAGING} ON COMMIT DROP AS SELECT {names} FROM {table} WITH NO DATA"))
    _copy(db, STAGING, rows)


def _postgres(db: Session) -> bool:
    return db.get_bind().dialect.name == "postgresql"


def _copy(db: Session, table: str, rows: list[dict[str, Any]]) -> None:
    names = list(rows[0])
    # The session's own connection, so the rows are in its transaction; a dict is a JSON column's value.
    cursor = db.connection().connection.cursor()
    try:
        with cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                values = (row[name] for name in names)
                copy.write_row([json.dumps(v) if isinstance(v, dict | list) else v for v in values])
    finally:
        cursor.close()
