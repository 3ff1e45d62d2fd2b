"""the collaborative audit

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("audits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("meeting_at", sa.DateTime(timezone=True), nullable=True))
        # Rows that exist already get the empty value, so the upgrade works on a live database.
        batch_op.add_column(sa.Column("meeting_attendees", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column("meeting_reminder_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("self_assessment", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("self_assessed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("self_assessment_reminder_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("family_feedback", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("feedback_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("form", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("draft", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
        batch_op.add_column(sa.Column("answers", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
        batch_op.add_column(sa.Column("immediate_concern", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index(batch_op.f("ix_audits_meeting_reminder_at"), ["meeting_reminder_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audits_self_assessment_reminder_at"), ["self_assessment_reminder_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("audits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audits_self_assessment_reminder_at"))
        batch_op.drop_index(batch_op.f("ix_audits_meeting_reminder_at"))
        batch_op.drop_column("immediate_concern")
        batch_op.drop_column("answers")
        batch_op.drop_column("draft")
        batch_op.drop_column("form")
        batch_op.drop_column("feedback_at")
        batch_op.drop_column("family_feedback")
        batch_op.drop_column("self_assessment_reminder_at")
        batch_op.drop_column("self_assessed_at")
        batch_op.drop_column("self_assessment")
        batch_op.drop_column("meeting_reminder_at")
        batch_op.drop_column("meeting_attendees")
        batch_op.drop_column("meeting_at")

    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.drop_column("created_at")
