"""The data: SQLAlchemy models, the unit of work and Alembic migrations."""

from store.db import Database, NotMigrated, WriteReached

__all__ = ["Database", "NotMigrated", "WriteReached"]
