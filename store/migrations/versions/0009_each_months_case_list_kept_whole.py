"""each month's case list kept whole, and the category an audit was allocated with

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

DETAILS = ("category", "team_id", "worker_id", "team_name", "worker_name", "practice_dates")


def upgrade() -> None:
    entries = op.create_table(
        "case_list_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("worker_id", sa.Integer(), nullable=True),
        sa.Column("team_name", sa.String(length=200), nullable=True),
        sa.Column("worker_name", sa.String(length=200), nullable=True),
        sa.Column("practice_dates", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_list_entries_case_id_cases")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_case_list_entries_team_id_teams")),
        sa.ForeignKeyConstraint(["worker_id"], ["people.id"], name=op.f("fk_case_list_entries_worker_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_list_entries")),
        sa.UniqueConstraint("month", "case_id", name="uq_case_list_entries_month_case"),
    )
    with op.batch_alter_table("audits") as batch_op:
        batch_op.add_column(sa.Column("category", sa.String(length=20), nullable=True))

    conn = op.get_bind()
    cases = sa.table(
        "cases",
        sa.column("id"),
        sa.column("month"),
        *(sa.column(c, sa.JSON()) if c == "practice_dates" else sa.column(c) for c in DETAILS),
    )
    audits = sa.table("audits", sa.column("case_id"), sa.column("category"))
    runs = sa.table("allocation_runs", sa.column("month"), sa.column("status"), sa.column("selected", sa.JSON()))
    # Until now a case was on one month's list only, the latest imported: that month keeps it. A month already
    # allocated also keeps the cases it selected (they may since have been relabelled with a later month), so its
    # held-back cases are still offered again.
    rows = {c.id: c for c in conn.execute(sa.select(cases))}
    wanted = {(c.id, c.month) for c in rows.values() if c.month}
    for month, selected in conn.execute(
        sa.select(runs.c.month, runs.c.selected).where(runs.c.status.in_(("draft", "confirmed")))
    ):
        wanted |= {(case_id, month) for case_id in selected or () if case_id in rows}
    if wanted:
        conn.execute(
            sa.insert(entries),
            [
                {"case_id": case_id, "month": month, **{c: getattr(rows[case_id], c) for c in DETAILS}}
                for case_id, month in sorted(wanted)
            ],
        )
    # An audit keeps the category its case had when it was allocated.
    conn.execute(
        sa.update(audits).values(
            category=sa.select(cases.c.category).where(cases.c.id == audits.c.case_id).scalar_subquery()
        )
    )
    with op.batch_alter_table("audits") as batch_op:
        batch_op.alter_column("category", existing_type=sa.String(length=20), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("audits") as batch_op:
        batch_op.drop_column("category")
    op.drop_table("case_list_entries")
