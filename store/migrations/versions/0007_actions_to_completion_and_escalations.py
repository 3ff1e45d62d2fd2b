"""actions to completion, supervision reminders and the escalation watchdog

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("done_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("done_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("evidence_link", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("signed_off_at", sa.DateTime(timezone=True), nullable=True))
        # Actions that exist already have not been extended, so the upgrade works on a live database.
        batch_op.add_column(sa.Column("extensions", sa.Integer(), nullable=False, server_default=sa.text("0")))
        batch_op.create_foreign_key(batch_op.f("fk_actions_done_by_id_people"), "people", ["done_by_id"], ["id"])

    with op.batch_alter_table("audits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("supervision_due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_audits_supervision_due_at"), ["supervision_due_at"], unique=False)

    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("overdue_reported_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_column("overdue_reported_at")

    with op.batch_alter_table("audits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audits_supervision_due_at"))
        batch_op.drop_column("supervision_due_at")

    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_actions_done_by_id_people"), type_="foreignkey")
        batch_op.drop_column("extensions")
        batch_op.drop_column("signed_off_at")
        batch_op.drop_column("evidence_link")
        batch_op.drop_column("done_note")
        batch_op.drop_column("done_by_id")
