"""indexes the benchmarks asked for: an audit's actions, a person's actions and audits, outbox keys found by prefix

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-27
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_actions_owner_id", "actions", ["owner_id"])
    op.create_index("ix_actions_audit_id", "actions", ["audit_id"])
    op.create_index("ix_audits_practitioner_id", "audits", ["practitioner_id"])
    op.create_index("ix_audits_team_manager_id", "audits", ["team_manager_id"])
    op.create_index("ix_outbox_key_pattern", "outbox", ["key"], postgresql_ops={"key": "varchar_pattern_ops"})


def downgrade() -> None:
    op.drop_index("ix_outbox_key_pattern", table_name="outbox")
    op.drop_index("ix_audits_team_manager_id", table_name="audits")
    op.drop_index("ix_audits_practitioner_id", table_name="audits")
    op.drop_index("ix_actions_audit_id", table_name="actions")
    op.drop_index("ix_actions_owner_id", table_name="actions")
