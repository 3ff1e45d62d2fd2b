"""Alembic environment: runs on the connection qabot hands it, or on sqlalchemy.url."""

from alembic import context
from sqlalchemy import create_engine

from store.models import Base, UTCDateTime

config = context.config


def _render_item(type_, obj, autogen_context):
    # Migrations stay plain SQLAlchemy: the UTC conversion is Python-side only.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    with create_engine(config.get_main_option("sqlalchemy.url")).begin() as conn:
        run(conn)
