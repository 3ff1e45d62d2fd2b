"""thematic audits: themes, their recommendations, the close-the-loop checks, and each audit's theme

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "themes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=150), nullable=False),
        sa.Column("trigger", sa.String(length=30), nullable=False),
        sa.Column("sponsor_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("sample", sa.JSON(), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("grade_scale", sa.String(length=40), nullable=False),
        sa.Column("audits_by", sa.Date(), nullable=False),
        sa.Column("report_by", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("findings_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_off_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_off_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["sponsor_id"], ["people.id"], name=op.f("fk_themes_sponsor_id_people")),
        sa.ForeignKeyConstraint(["lead_id"], ["people.id"], name=op.f("fk_themes_lead_id_people")),
        sa.ForeignKeyConstraint(["signed_off_by_id"], ["people.id"], name=op.f("fk_themes_signed_off_by_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_themes")),
        sa.UniqueConstraint("ref", name=op.f("uq_themes_ref")),
    )
    op.create_index(op.f("ix_themes_status"), "themes", ["status"], unique=False)
    op.create_table(
        "recommendations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["theme_id"], ["themes.id"], name=op.f("fk_recommendations_theme_id_themes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendations")),
        sa.UniqueConstraint("theme_id", "number", name="uq_recommendations_theme_number"),
    )
    op.create_table(
        "loop_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_reminder_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["theme_id"], ["themes.id"], name=op.f("fk_loop_checks_theme_id_themes")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["people.id"], name=op.f("fk_loop_checks_recorded_by_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loop_checks")),
        sa.UniqueConstraint("theme_id", "stage", name="uq_loop_checks_theme_stage"),
    )
    op.create_index(
        "ix_loop_checks_status_next_reminder_at", "loop_checks", ["status", "next_reminder_at"], unique=False
    )
    with op.batch_alter_table("audits") as batch:
        batch.add_column(sa.Column("theme_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_audits_theme_id_themes"), "themes", ["theme_id"], ["id"])
        batch.create_index(op.f("ix_audits_theme_id"), ["theme_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audits") as batch:
        batch.drop_index(op.f("ix_audits_theme_id"))
        batch.drop_constraint(op.f("fk_audits_theme_id_themes"), type_="foreignkey")
        batch.drop_column("theme_id")
    op.drop_index("ix_loop_checks_status_next_reminder_at", table_name="loop_checks")
    op.drop_table("loop_checks")
    op.drop_table("recommendations")
    op.drop_index(op.f("ix_themes_status"), table_name="themes")
    op.drop_table("themes")
