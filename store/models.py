"""The data qabot keeps. No child's name, address, date of birth or demographics: only what the QAF needs."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, on SQLite (which drops the zone) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use bot.calendar.now()")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


ROLES = (
    "practitioner",
    "team_manager",
    "service_manager",
    "head_of_service",
    "assistant_director",
    "executive_director",
    "auditor",
    "moderator",
    "qa_team",
    "qa_head_of_service",
    "ad_safeguarding",
    "principal_social_worker",
    "cro",
)

# Case categories, most serious first: a child on several Annex A lists is one case of the first category.
CATEGORIES = ("CP", "CLA", "care_leaver", "CIN", "s47", "assessment", "referral")


class Service(Base):
    __tablename__ = "services"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id"))
    service: Mapped[Service | None] = relationship()


class Person(Base):
    __tablename__ = "people"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    slack_user_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    line_manager_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    # Acting-up or leave cover: decisions at this person's level may be taken by the delegate.
    delegate_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    team: Mapped[Team | None] = relationship()
    line_manager: Mapped[Person | None] = relationship(remote_side=[id], foreign_keys=[line_manager_id])
    role_rows: Mapped[list[PersonRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def roles(self) -> set[str]:
        return {r.role for r in self.role_rows}


class PersonRole(Base):
    __tablename__ = "person_roles"
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(40), primary_key=True)


class Case(Base):
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(primary_key=True)
    # The case-management system's ID (Annex A "Child Unique ID"): shown only in DMs and modals to people
    # on the audit, as a link to the record.
    case_ref: Mapped[str] = mapped_column(String(64), unique=True)
    category: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    # The team and worker as the list names them, kept when they match nobody so the QA team can resolve it.
    team_name: Mapped[str | None] = mapped_column(String(200))
    worker_name: Mapped[str | None] = mapped_column(String(200))
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    practice_dates: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The latest month whose list has the case: the details above are as that list gives them. Which months'
    # lists have the case, and as what, is in case_list_entries.
    month: Mapped[str | None] = mapped_column(String(7))
    # YYYY-MM when an Inadequate audit puts the case on the re-audit cycle: always in that month's sample.
    reaudit_due: Mapped[str | None] = mapped_column(String(7), index=True)
    # Set by the retention job when the case-system ID was replaced by a marker (bot/workflow/retention.py).
    anonymised_at: Mapped[datetime | None]

    team: Mapped[Team | None] = relationship()
    worker: Mapped[Person | None] = relationship()


class CaseListEntry(Base):
    """A case as one month's list gives it. Each month's list is kept whole, so importing one month never
    changes another month's list (its sample, its held-back cases)."""

    __tablename__ = "case_list_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    month: Mapped[str] = mapped_column(String(7))
    # The most serious list the case is on that month (each Annex A list is one category).
    category: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    team_name: Mapped[str | None] = mapped_column(String(200))
    worker_name: Mapped[str | None] = mapped_column(String(200))
    practice_dates: Mapped[dict[str, Any]] = mapped_column(default=dict)

    case: Mapped[Case] = relationship()
    team: Mapped[Team | None] = relationship()
    worker: Mapped[Person | None] = relationship()

    __table_args__ = (UniqueConstraint("month", "case_id", name="uq_case_list_entries_month_case"),)


class AllocationRun(Base):
    """A month's sample as drawn (seeded, so it can be explained later), reviewed and confirmed."""

    __tablename__ = "allocation_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    # draft -> confirmed; a newer draft supersedes an older one
    status: Mapped[str] = mapped_column(String(12), default="draft")
    seed: Mapped[int] = mapped_column(Integer)
    parameters: Mapped[dict[str, Any]] = mapped_column()
    # Case ids: as drawn, then as the QA team left it (added/removed by hand).
    drawn: Mapped[list[Any]] = mapped_column()
    selected: Mapped[list[Any]] = mapped_column()
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    confirmed_at: Mapped[datetime | None]
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class CaseAccess(Base):
    """Who has been granted access to a restricted record."""

    __tablename__ = "case_access"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    granted_at: Mapped[datetime]


class Audit(Base):
    __tablename__ = "audits"
    id: Mapped[int] = mapped_column(primary_key=True)
    qa_ref: Mapped[str] = mapped_column(String(32), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    month: Mapped[str] = mapped_column(String(7))
    # The case's category as allocated (CRO at the meeting, supervision interval): a later list does not change it.
    category: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(40), default="collaborative")
    # allocated -> accepted -> in_progress -> awaiting_moderation -> moderated; or declined / cancelled
    status: Mapped[str] = mapped_column(String(30), default="allocated")
    auditor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    team_manager_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    allocated_at: Mapped[datetime]
    accept_by: Mapped[date | None] = mapped_column(Date)
    accepted_at: Mapped[datetime | None]
    last_reminded_at: Mapped[datetime | None]
    next_reminder_at: Mapped[datetime | None]
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime | None]
    # Step 1: the collaborative meeting (practitioner, team manager, and a CRO for CP / looked-after children).
    meeting_at: Mapped[datetime | None]
    meeting_attendees: Mapped[list[Any]] = mapped_column(default=list)
    meeting_reminder_at: Mapped[datetime | None] = mapped_column(index=True)
    # Step 2: the practitioner's self-assessment; step 3: the family's feedback (shown only to the audit's people).
    self_assessment: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    self_assessed_at: Mapped[datetime | None]
    self_assessment_reminder_at: Mapped[datetime | None] = mapped_column(index=True)
    family_feedback: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    feedback_at: Mapped[datetime | None]
    # Step 4: the audit form (which form and grade scale, by version), its draft between steps, its answers.
    form: Mapped[str | None] = mapped_column(String(60))
    draft: Mapped[dict[str, Any]] = mapped_column(default=dict)
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    immediate_concern: Mapped[bool] = mapped_column(Boolean, default=False)
    overall_grade: Mapped[str | None] = mapped_column(String(30))
    grades: Mapped[dict[str, Any]] = mapped_column(default=dict)
    submitted_at: Mapped[datetime | None]
    # The Inadequate pathway: 0 an ordinary audit, 1 the re-audit three months on, 2 and more the follow-ups;
    # `reaudit_of_id` is the confirmed-Inadequate audit this one re-audits.
    cycle: Mapped[int] = mapped_column(Integer, default=0)
    reaudit_of_id: Mapped[int | None] = mapped_column(ForeignKey("audits.id"))
    # While the audit's actions are open, the team manager is reminded to discuss it in supervision at this moment.
    supervision_due_at: Mapped[datetime | None] = mapped_column(index=True)
    # A thematic audit (kind "thematic"): the theme whose sample the case is in, and whose questions it answers.
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("themes.id"), index=True)
    # Set by the retention job when the audit's typed text was replaced by a marker; grades and dates stay.
    anonymised_at: Mapped[datetime | None]

    case: Mapped[Case] = relationship()
    auditor: Mapped[Person | None] = relationship(foreign_keys=[auditor_id])
    practitioner: Mapped[Person | None] = relationship(foreign_keys=[practitioner_id])
    team_manager: Mapped[Person | None] = relationship(foreign_keys=[team_manager_id])
    theme: Mapped[Theme | None] = relationship()

    __table_args__ = (
        Index("ix_audits_status_next_reminder_at", "status", "next_reminder_at"),
        Index("ix_audits_auditor_id", "auditor_id"),
        # Home and the team manager's lists find a person's audits by practitioner or team manager.
        Index("ix_audits_practitioner_id", "practitioner_id"),
        Index("ix_audits_team_manager_id", "team_manager_id"),
    )


class Theme(Base):
    """A thematic audit (Key Areas 3 and 6): what the QA team set out to look at, for which sponsor (a Head of
    Service), on which sample, with which questions; then the overview report the sponsor signs off, after which
    the loop is closed by the sponsor's checks at six weeks and three months (LoopCheck)."""

    __tablename__ = "themes"
    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(150))
    trigger: Mapped[str] = mapped_column(String(30))
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    month: Mapped[str] = mapped_column(String(7))
    # How the sample was chosen: {"month", "categories", "team_id", "size", "seed"} or {"picked": [case refs]}.
    sample: Mapped[dict[str, Any]] = mapped_column()
    # The form: [{"id": "q1", "kind": "grade" | "yes_no" | "text", "label": ...}], on `grade_scale`.
    questions: Mapped[list[Any]] = mapped_column()
    grade_scale: Mapped[str] = mapped_column(String(40))
    audits_by: Mapped[date] = mapped_column(Date)
    report_by: Mapped[date] = mapped_column(Date)
    # auditing -> awaiting_sign_off -> signed_off -> closed (both checks recorded)
    status: Mapped[str] = mapped_column(String(20), default="auditing", index=True)
    created_at: Mapped[datetime]
    findings_sent_at: Mapped[datetime | None]
    summary: Mapped[str | None] = mapped_column(Text)
    reported_at: Mapped[datetime | None]
    signed_off_at: Mapped[datetime | None]
    signed_off_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    # The lead's digest: the overview report's next reminder (until it is written), and the one notice of the
    # audits still open after `audits_by` (None once given).
    report_reminder_at: Mapped[datetime | None] = mapped_column(index=True)
    overdue_reminder_at: Mapped[datetime | None] = mapped_column(index=True)

    sponsor: Mapped[Person] = relationship(foreign_keys=[sponsor_id])
    lead: Mapped[Person] = relationship(foreign_keys=[lead_id])
    recommendations: Mapped[list[Recommendation]] = relationship(order_by="Recommendation.number")

    @property
    def qa_ref(self) -> str:
        """What messages about the theme name it by (as an audit's QA reference)."""
        return self.ref


class Recommendation(Base):
    """One of a theme's recommendations, from the overview report the sponsor signed off."""

    __tablename__ = "recommendations"
    id: Mapped[int] = mapped_column(primary_key=True)
    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id"))
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("theme_id", "number", name="uq_recommendations_theme_number"),)


class LoopCheck(Base):
    """Close the loop: the sponsor records, at six weeks, how far each recommendation is implemented and, at three
    months, the progress against the audit's goals. Reminded in their digest each working day from `due_at`'s day;
    escalated up their line (overdue_loop_check) when silent."""

    __tablename__ = "loop_checks"
    id: Mapped[int] = mapped_column(primary_key=True)
    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id"))
    # six_weeks or three_months
    stage: Mapped[str] = mapped_column(String(20))
    # pending -> recorded
    status: Mapped[str] = mapped_column(String(12), default="pending")
    due_at: Mapped[datetime]
    next_reminder_at: Mapped[datetime | None]
    last_reminded_at: Mapped[datetime | None]
    # Per recommendation number: {"status": "done" | "partly" | "not_yet", "note": ...}; and "impact" at three months.
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    recorded_at: Mapped[datetime | None]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))

    theme: Mapped[Theme] = relationship()

    __table_args__ = (
        Index("ix_loop_checks_status_next_reminder_at", "status", "next_reminder_at"),
        UniqueConstraint("theme_id", "stage", name="uq_loop_checks_theme_stage"),
    )


class Action(Base):
    """A SMART action from an audit, tracked to completion."""

    __tablename__ = "actions"
    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id"))
    description: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    status: Mapped[str] = mapped_column(String(20), default="open")
    due_at: Mapped[datetime]
    last_reminded_at: Mapped[datetime | None]
    next_reminder_at: Mapped[datetime | None]
    snoozed_until: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    signed_off_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime | None]
    # open -> done (by the owner, with a note or an evidence link) -> signed_off by the team manager, or reopened
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    done_note: Mapped[str | None] = mapped_column(Text)
    evidence_link: Mapped[str | None] = mapped_column(String(500))
    signed_off_at: Mapped[datetime | None]
    # The team manager may extend the due date once; a second extension needs the service manager.
    extensions: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        Index("ix_actions_status_due_at", "status", "due_at"),
        Index("ix_actions_next_reminder_at", "next_reminder_at"),
        Index("ix_actions_owner_id", "owner_id"),  # a person's own actions (Home)
        Index("ix_actions_audit_id", "audit_id"),  # an audit's actions
    )


class ActionExtension(Base):
    """A new due date for an action: the team manager's first extension (granted at once, with a reason), or a
    second, which the practitioner's Service Manager (frozen in `asked_id` when asked) approves or refuses. One row
    per extension number: a third cannot be asked for, and of two requests at once only one goes in."""

    __tablename__ = "action_extensions"
    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id"))
    number: Mapped[int] = mapped_column(Integer)
    # granted (the first, by the team manager); requested -> approved / refused (the second, by the Service Manager)
    status: Mapped[str] = mapped_column(String(12))
    was_due: Mapped[datetime]
    to_due: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    requested_at: Mapped[datetime]
    asked_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("action_id", "number", name="uq_action_extensions_action_number"),)


class Moderation(Base):
    __tablename__ = "moderations"
    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id"))
    moderator_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    mode: Mapped[str] = mapped_column(String(20), default="reflective")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    due_at: Mapped[datetime]
    grade: Mapped[str | None] = mapped_column(String(30))
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    rationale: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None]
    # Set when the QA team takes the audit into a group moderation meeting (its chair then moderates it).
    session_id: Mapped[int | None] = mapped_column(ForeignKey("moderation_sessions.id"), index=True)

    __table_args__ = (Index("ix_moderations_status_due_at", "status", "due_at"),)


class ModerationSession(Base):
    """The month's group moderation meeting: the audits the QA team gathered, moderated in turn by its chair."""

    __tablename__ = "moderation_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    chair_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime]


class Nomination(Base):
    """A Good or Outstanding audit put forward as an example of good practice: the QA team's learning queue."""

    __tablename__ = "nominations"
    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id"), unique=True)
    nominated_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    # auditor or moderator
    nominated_as: Mapped[str] = mapped_column(String(20))
    grade: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text)
    nominated_at: Mapped[datetime]
    # queued -> used (in a learning highlight) or set aside, by the QA team
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)


class Highlight(Base):
    """A learning highlight a QA team member posted to the learning channel: a theme and what was learned."""

    __tablename__ = "highlights"
    id: Mapped[int] = mapped_column(primary_key=True)
    theme: Mapped[str] = mapped_column(String(120))
    learned: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500))
    author_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    posted_at: Mapped[datetime] = mapped_column(index=True)


class TopTen(Base):
    """A month's top ten of learning, drafted from its highlights and good-practice nominations (anonymised),
    edited and approved by the QA lead, then posted to the learning channel."""

    __tablename__ = "top_tens"
    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), unique=True)
    # draft -> approved (decided) -> posted (its post queued to the learning channel)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    # [{"title": ..., "text": ..., "source": "highlight" | "nomination", "source_id": ...}, ...] in order
    items: Mapped[list[Any]] = mapped_column()
    drafted_at: Mapped[datetime]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    approved_at: Mapped[datetime | None]


class PathwayTask(Base):
    """A step of the Inadequate pathway asked of named people: the Reflective Practice & Action Meeting, the
    AD Safeguarding's escalation, the resolution by the Head of Service and Service Manager, the Executive
    Director's final escalation. `asked` (person ids) is frozen when the task is set: any of them may do it."""

    __tablename__ = "pathway_tasks"
    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    asked: Mapped[list[Any]] = mapped_column()
    # pending -> done, or withdrawn when a dispute lifts the Inadequate grade
    status: Mapped[str] = mapped_column(String(12), default="pending")
    created_at: Mapped[datetime]
    due_at: Mapped[datetime]
    next_reminder_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    # What was recorded: the meeting's date and attendees, a note, who it was escalated to.
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (
        Index("ix_pathway_tasks_status_next_reminder_at", "status", "next_reminder_at"),
        UniqueConstraint("audit_id", "kind", name="uq_pathway_tasks_audit_kind"),
    )


class Dispute(Base):
    """A practitioner's or team manager's dispute of a moderated grade, decided by a QA Head of Service."""

    __tablename__ = "disputes"
    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id"))
    moderation_id: Mapped[int] = mapped_column(ForeignKey("moderations.id"))
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    reason: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime]
    # open -> meeting_arranged -> upheld / changed (open -> upheld / changed directly)
    status: Mapped[str] = mapped_column(String(20), default="open")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None]
    new_grade: Mapped[str | None] = mapped_column(String(30))
    rationale: Mapped[str | None] = mapped_column(Text)
    meeting_at: Mapped[datetime | None]
    meeting_attendees: Mapped[list[Any]] = mapped_column(default=list)

    __table_args__ = (Index("ix_disputes_status", "status"),)


class Escalation(Base):
    """One running escalation. The chain of people is frozen when it starts."""

    __tablename__ = "escalations"
    id: Mapped[int] = mapped_column(primary_key=True)
    policy: Mapped[str] = mapped_column(String(40))
    subject_type: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[int] = mapped_column(Integer)
    # [{"role": "service_manager", "person_id": 7, "window_days": 3}, ...]
    chain: Mapped[list[Any]] = mapped_column()
    level: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    started_at: Mapped[datetime]
    respond_by: Mapped[datetime]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None]
    decision: Mapped[str | None] = mapped_column(String(20))
    # Set when the watchdog reports that the window passed without the sweep acting: reported once.
    overdue_reported_at: Mapped[datetime | None]

    steps: Mapped[list[EscalationStep]] = relationship(order_by="EscalationStep.id")

    __table_args__ = (
        Index("ix_escalations_status_respond_by", "status", "respond_by"),
        UniqueConstraint("policy", "subject_type", "subject_id", "started_at", name="uq_escalations_subject"),
    )


class EscalationStep(Base):
    __tablename__ = "escalation_steps"
    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    what: Mapped[str] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]


class Event(Base):
    """Append-only trail: who did what, when, to which subject. Inspectors and complaints read this."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    actor_slack_id: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(60))
    subject_type: Mapped[str | None] = mapped_column(String(30))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (Index("ix_events_subject", "subject_type", "subject_id"), Index("ix_events_at", "at"))


class EventsPurge(Base):
    """The cut-off below which the retention job may delete events: written and removed inside its own
    transaction, so the append-only triggers (migrations 0001, 0014) let that job alone delete."""

    __tablename__ = "events_purge"
    id: Mapped[int] = mapped_column(primary_key=True)
    purge_before: Mapped[datetime]


class OutboxMessage(Base):
    """A notification waiting to go to Slack, or sent. The key makes every notification happen once."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    # A Slack user id (DM) or channel id.
    recipient: Mapped[str] = mapped_column(String(32))
    template: Mapped[str] = mapped_column(String(60))
    context: Mapped[dict[str, Any]] = mapped_column()
    # For an update: the key of the message this one replaces in place.
    updates_key: Mapped[str | None] = mapped_column(String(200))
    # Safeguarding alerts ignore quiet hours.
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    available_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    channel: Mapped[str | None] = mapped_column(String(32))
    ts: Mapped[str | None] = mapped_column(String(32))
    # Set when a send began whose outcome is unknown (timed out, connection lost, 5xx, or the process died):
    # Slack may have carried it out, so the next try looks for the message before posting it again.
    unsure_since: Mapped[datetime | None]
    # The first of an unbroken run of failed tries: retries go on for a while from then, then the row fails.
    failing_since: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_outbox_status_available_at", "status", "available_at"),
        Index("ix_outbox_recipient_sent_at", "recipient", "sent_at"),
        # Messages of one subject are found by key prefix (`LIKE 'action:7:done:%'`). PostgreSQL uses an index for
        # that only with the pattern operator class; SQLite uses the unique index (store/db.py: case_sensitive_like).
        Index("ix_outbox_key_pattern", "key", postgresql_ops={"key": "varchar_pattern_ops"}),
    )


# One row: moved on by triggers (migration 0017) whenever a case list's worker name may have changed, so the PII guard
# reads the names again only then.
case_list_names_version = Table("case_list_names_version", Base.metadata, Column("version", BigInteger, nullable=False))


class IdempotencyKey(Base):
    """A Slack request (event, click, submission) claimed before it acts, so a retry acts once."""

    __tablename__ = "idempotency_keys"
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    claimed_at: Mapped[datetime] = mapped_column(index=True)
