"""Reads that load many rows at once."""

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

CHUNK = 500  # ids per IN (...): well inside SQLite's and PostgreSQL's limits on bound parameters


def hold(db: Session, model: type, ids: Iterable[int | None]) -> list[Any]:
    """Load the rows of `model` with these ids, a query per CHUNK, and return them. While the caller keeps the list,
    `db.get(model, id)` answers from the session without a query: the session's identity map keeps only objects that
    something refers to, so a sweep that reads the same audit or person for each of its items would otherwise ask
    the database every time."""
    wanted = sorted({i for i in ids if i is not None})
    rows: list[Any] = []
    for start in range(0, len(wanted), CHUNK):
        rows += db.scalars(select(model).where(model.id.in_(wanted[start : start + CHUNK]))).all()
    return rows
