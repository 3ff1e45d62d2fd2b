"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_idempotency_keys")),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_idempotency_keys_claimed_at"), ["claimed_at"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("recipient", sa.String(length=32), nullable=False),
        sa.Column("template", sa.String(length=60), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("updates_key", sa.String(length=200), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("key", name=op.f("uq_outbox_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_recipient_sent_at", ["recipient", "sent_at"], unique=False)
        batch_op.create_index("ix_outbox_status_available_at", ["status", "available_at"], unique=False)

    op.create_table(
        "services",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services")),
        sa.UniqueConstraint("name", name=op.f("uq_services_name")),
    )
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_teams_service_id_services")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("name", name=op.f("uq_teams_name")),
    )
    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("slack_user_id", sa.String(length=32), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("line_manager_id", sa.Integer(), nullable=True),
        sa.Column("delegate_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["delegate_id"], ["people.id"], name=op.f("fk_people_delegate_id_people")),
        sa.ForeignKeyConstraint(["line_manager_id"], ["people.id"], name=op.f("fk_people_line_manager_id_people")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_people_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
        sa.UniqueConstraint("email", name=op.f("uq_people_email")),
        sa.UniqueConstraint("slack_user_id", name=op.f("uq_people_slack_user_id")),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_ref", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("worker_id", sa.Integer(), nullable=True),
        sa.Column("restricted", sa.Boolean(), nullable=False),
        sa.Column("practice_dates", sa.JSON(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=True),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_cases_team_id_teams")),
        sa.ForeignKeyConstraint(["worker_id"], ["people.id"], name=op.f("fk_cases_worker_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("case_ref", name=op.f("uq_cases_case_ref")),
    )
    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy", sa.String(length=40), nullable=False),
        sa.Column("subject_type", sa.String(length=30), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("chain", sa.JSON(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("respond_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(["decided_by_id"], ["people.id"], name=op.f("fk_escalations_decided_by_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
        sa.UniqueConstraint("policy", "subject_type", "subject_id", "started_at", name="uq_escalations_subject"),
    )
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.create_index("ix_escalations_status_respond_by", ["status", "respond_by"], unique=False)

    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_slack_id", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("subject_type", sa.String(length=30), nullable=True),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["people.id"], name=op.f("fk_events_actor_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_at", ["at"], unique=False)
        batch_op.create_index("ix_events_subject", ["subject_type", "subject_id"], unique=False)

    op.create_table(
        "person_roles",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_person_roles_person_id_people")),
        sa.PrimaryKeyConstraint("person_id", "role", name=op.f("pk_person_roles")),
    )
    op.create_table(
        "audits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("qa_ref", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("auditor_id", sa.Integer(), nullable=True),
        sa.Column("practitioner_id", sa.Integer(), nullable=True),
        sa.Column("team_manager_id", sa.Integer(), nullable=True),
        sa.Column("allocated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accept_by", sa.Date(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_reminder_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overall_grade", sa.String(length=30), nullable=True),
        sa.Column("grades", sa.JSON(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["auditor_id"], ["people.id"], name=op.f("fk_audits_auditor_id_people")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_audits_case_id_cases")),
        sa.ForeignKeyConstraint(["practitioner_id"], ["people.id"], name=op.f("fk_audits_practitioner_id_people")),
        sa.ForeignKeyConstraint(["team_manager_id"], ["people.id"], name=op.f("fk_audits_team_manager_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audits")),
        sa.UniqueConstraint("qa_ref", name=op.f("uq_audits_qa_ref")),
    )
    with op.batch_alter_table("audits", schema=None) as batch_op:
        batch_op.create_index("ix_audits_auditor_id", ["auditor_id"], unique=False)
        batch_op.create_index("ix_audits_status_next_reminder_at", ["status", "next_reminder_at"], unique=False)

    op.create_table(
        "case_access",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_access_case_id_cases")),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_case_access_person_id_people")),
        sa.PrimaryKeyConstraint("case_id", "person_id", name=op.f("pk_case_access")),
    )
    op.create_table(
        "escalation_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("what", sa.String(length=30), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["escalation_id"], ["escalations.id"], name=op.f("fk_escalation_steps_escalation_id_escalations")
        ),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_escalation_steps_person_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_steps")),
    )
    with op.batch_alter_table("escalation_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_escalation_steps_escalation_id"), ["escalation_id"], unique=False)

    op.create_table(
        "actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_reminder_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("snoozed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_off_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["audit_id"], ["audits.id"], name=op.f("fk_actions_audit_id_audits")),
        sa.ForeignKeyConstraint(["owner_id"], ["people.id"], name=op.f("fk_actions_owner_id_people")),
        sa.ForeignKeyConstraint(["signed_off_by_id"], ["people.id"], name=op.f("fk_actions_signed_off_by_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_actions")),
    )
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.create_index("ix_actions_next_reminder_at", ["next_reminder_at"], unique=False)
        batch_op.create_index("ix_actions_status_due_at", ["status", "due_at"], unique=False)

    op.create_table(
        "moderations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("moderator_id", sa.Integer(), nullable=True),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("grade", sa.String(length=30), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["audit_id"], ["audits.id"], name=op.f("fk_moderations_audit_id_audits")),
        sa.ForeignKeyConstraint(["moderator_id"], ["people.id"], name=op.f("fk_moderations_moderator_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderations")),
    )
    with op.batch_alter_table("moderations", schema=None) as batch_op:
        batch_op.create_index("ix_moderations_status_due_at", ["status", "due_at"], unique=False)

    # The trail is append-only in the database itself, not just in the ORM.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'the events table is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
            "FOR EACH ROW EXECUTE FUNCTION events_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER events_no_{verb.lower()} BEFORE {verb} ON events "
                "BEGIN SELECT RAISE(ABORT, 'the events table is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS events_append_only ON events")
        op.execute("DROP FUNCTION IF EXISTS events_append_only()")
    with op.batch_alter_table("moderations", schema=None) as batch_op:
        batch_op.drop_index("ix_moderations_status_due_at")

    op.drop_table("moderations")
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.drop_index("ix_actions_status_due_at")
        batch_op.drop_index("ix_actions_next_reminder_at")

    op.drop_table("actions")
    with op.batch_alter_table("escalation_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalation_steps_escalation_id"))

    op.drop_table("escalation_steps")
    op.drop_table("case_access")
    with op.batch_alter_table("audits", schema=None) as batch_op:
        batch_op.drop_index("ix_audits_status_next_reminder_at")
        batch_op.drop_index("ix_audits_auditor_id")

    op.drop_table("audits")
    op.drop_table("person_roles")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_subject")
        batch_op.drop_index("ix_events_at")

    op.drop_table("events")
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_index("ix_escalations_status_respond_by")

    op.drop_table("escalations")
    op.drop_table("cases")
    op.drop_table("people")
    op.drop_table("teams")
    op.drop_table("services")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_status_available_at")
        batch_op.drop_index("ix_outbox_recipient_sent_at")

    op.drop_table("outbox")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_claimed_at"))

    op.drop_table("idempotency_keys")
