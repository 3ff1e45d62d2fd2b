"""a version of the case lists' worker names, moved on by triggers whenever a name may have changed

The PII guard checks every typed field against the names on the case lists. Reading them all (a UNION over the cases
and every month's list) for each field cost milliseconds at a county's size; with this counter a process keeps them
until it moves on. Triggers move it, so no code path that writes a name (the import, COPY, retention) can forget to.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

TABLES = ("cases", "case_list_entries")
SQLITE_EVENTS = {"ins": "INSERT", "upd": "UPDATE OF worker_name", "del": "DELETE"}


def upgrade() -> None:
    op.create_table("case_list_names_version", sa.Column("version", sa.BigInteger(), nullable=False))
    op.execute("INSERT INTO case_list_names_version (version) VALUES (0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION case_list_names_changed() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN UPDATE case_list_names_version SET version = version + 1; RETURN NULL; END $$"
        )
        for table in TABLES:
            # Once a statement (an import's COPY is one), not once a row.
            op.execute(
                f"CREATE TRIGGER {table}_names_changed AFTER INSERT OR UPDATE OF worker_name OR DELETE OR TRUNCATE "
                f"ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION case_list_names_changed()"
            )
        return
    for table in TABLES:
        for suffix, when in SQLITE_EVENTS.items():
            op.execute(
                f"CREATE TRIGGER {table}_names_{suffix} AFTER {when} ON {table} "
                "BEGIN UPDATE case_list_names_version SET version = version + 1; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_names_changed ON {table}")
        op.execute("DROP FUNCTION case_list_names_changed()")
    else:
        for table in TABLES:
            for suffix in SQLITE_EVENTS:
                op.execute(f"DROP TRIGGER {table}_names_{suffix}")
    op.drop_table("case_list_names_version")
