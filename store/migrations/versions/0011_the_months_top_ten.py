"""the month's top ten of learning: drafted, edited and approved, then posted

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "top_tens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("drafted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["approved_by_id"], ["people.id"], name=op.f("fk_top_tens_approved_by_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_top_tens")),
        sa.UniqueConstraint("month", name=op.f("uq_top_tens_month")),
    )


def downgrade() -> None:
    op.drop_table("top_tens")
