"""retention: closed audits and cases anonymised (when), and the trail's oldest events deletable by the retention
job alone

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# A DELETE on events is refused unless the retention job, in its own transaction, has put the cut-off in
# events_purge (and it removes it before committing): everything else still meets an append-only trail.
PG_FUNCTION = """
CREATE OR REPLACE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM events_purge WHERE OLD.at < events_purge.purge_before) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'the events table is append-only';
END $$
"""
PG_ORIGINAL = (
    "CREATE OR REPLACE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'the events table is append-only'; END $$"
)
SQLITE_DELETE = (
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
    "WHEN NOT EXISTS (SELECT 1 FROM events_purge WHERE OLD.at < events_purge.purge_before) "
    "BEGIN SELECT RAISE(ABORT, 'the events table is append-only'); END"
)
SQLITE_ORIGINAL = (
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
    "BEGIN SELECT RAISE(ABORT, 'the events table is append-only'); END"
)


def upgrade() -> None:
    with op.batch_alter_table("audits") as batch:
        batch.add_column(sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "events_purge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purge_before", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events_purge")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
    else:
        op.execute("DROP TRIGGER events_no_delete")
        op.execute(SQLITE_DELETE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_ORIGINAL)
    else:
        op.execute("DROP TRIGGER events_no_delete")
        op.execute(SQLITE_ORIGINAL)
    op.drop_table("events_purge")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("anonymised_at")
    with op.batch_alter_table("audits") as batch:
        batch.drop_column("anonymised_at")
