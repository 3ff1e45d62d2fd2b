"""thematic audits' deadlines reminded: the lead's next report reminder and the one notice of overdue audits

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("themes") as batch:
        batch.add_column(sa.Column("report_reminder_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("overdue_reminder_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(op.f("ix_themes_report_reminder_at"), ["report_reminder_at"], unique=False)
        batch.create_index(op.f("ix_themes_overdue_reminder_at"), ["overdue_reminder_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("themes") as batch:
        batch.drop_index(op.f("ix_themes_overdue_reminder_at"))
        batch.drop_index(op.f("ix_themes_report_reminder_at"))
        batch.drop_column("overdue_reminder_at")
        batch.drop_column("report_reminder_at")
