"""action extensions: the team manager's first, and a second the Service Manager decides

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "action_extensions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("was_due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("to_due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("asked_id", sa.Integer(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["action_id"], ["actions.id"], name=op.f("fk_action_extensions_action_id_actions")),
        sa.ForeignKeyConstraint(["asked_id"], ["people.id"], name=op.f("fk_action_extensions_asked_id_people")),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["people.id"], name=op.f("fk_action_extensions_decided_by_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["people.id"], name=op.f("fk_action_extensions_requested_by_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_extensions")),
        sa.UniqueConstraint("action_id", "number", name="uq_action_extensions_action_number"),
    )


def downgrade() -> None:
    op.drop_table("action_extensions")
