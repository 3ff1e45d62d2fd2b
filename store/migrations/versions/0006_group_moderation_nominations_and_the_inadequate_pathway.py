"""group moderation, good-practice nominations and the Inadequate pathway

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "moderation_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("chair_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["chair_id"], ["people.id"], name=op.f("fk_moderation_sessions_chair_id_people")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["people.id"], name=op.f("fk_moderation_sessions_created_by_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_sessions")),
    )
    with op.batch_alter_table("moderation_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_moderation_sessions_month"), ["month"], unique=False)

    op.create_table(
        "nominations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("nominated_by_id", sa.Integer(), nullable=False),
        sa.Column("nominated_as", sa.String(length=20), nullable=False),
        sa.Column("grade", sa.String(length=30), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("nominated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["audit_id"], ["audits.id"], name=op.f("fk_nominations_audit_id_audits")),
        sa.ForeignKeyConstraint(["nominated_by_id"], ["people.id"], name=op.f("fk_nominations_nominated_by_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nominations")),
        sa.UniqueConstraint("audit_id", name=op.f("uq_nominations_audit_id")),
    )
    with op.batch_alter_table("nominations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nominations_status"), ["status"], unique=False)

    op.create_table(
        "pathway_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("asked", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_reminder_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["audit_id"], ["audits.id"], name=op.f("fk_pathway_tasks_audit_id_audits")),
        sa.ForeignKeyConstraint(["done_by_id"], ["people.id"], name=op.f("fk_pathway_tasks_done_by_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pathway_tasks")),
        sa.UniqueConstraint("audit_id", "kind", name="uq_pathway_tasks_audit_kind"),
    )
    with op.batch_alter_table("pathway_tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pathway_tasks_audit_id"), ["audit_id"], unique=False)
        batch_op.create_index("ix_pathway_tasks_status_next_reminder_at", ["status", "next_reminder_at"], unique=False)

    with op.batch_alter_table("audits", schema=None) as batch_op:
        # Audits that exist already are ordinary ones (cycle 0), so the upgrade works on a live database.
        batch_op.add_column(sa.Column("cycle", sa.Integer(), nullable=False, server_default=sa.text("0")))
        batch_op.add_column(sa.Column("reaudit_of_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_audits_reaudit_of_id_audits"), "audits", ["reaudit_of_id"], ["id"])

    with op.batch_alter_table("moderations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_moderations_session_id"), ["session_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_moderations_session_id_moderation_sessions"), "moderation_sessions", ["session_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("moderations", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_moderations_session_id_moderation_sessions"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_moderations_session_id"))
        batch_op.drop_column("session_id")

    with op.batch_alter_table("audits", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_audits_reaudit_of_id_audits"), type_="foreignkey")
        batch_op.drop_column("reaudit_of_id")
        batch_op.drop_column("cycle")

    with op.batch_alter_table("pathway_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_pathway_tasks_status_next_reminder_at")
        batch_op.drop_index(batch_op.f("ix_pathway_tasks_audit_id"))
    op.drop_table("pathway_tasks")

    with op.batch_alter_table("nominations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nominations_status"))
    op.drop_table("nominations")

    with op.batch_alter_table("moderation_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_moderation_sessions_month"))
    op.drop_table("moderation_sessions")
