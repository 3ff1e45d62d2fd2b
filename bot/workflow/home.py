"""What a person's App Home shows, by every role they hold: first what is waiting for them (allocations to accept,
meetings to arrange, family feedback to record, audits to complete, self-assessments, their actions, sign-offs,
moderations, escalations, Inadequate-pathway steps, second-extension requests, disputes; a thematic audit's overview
report to write or sign off and its close-the-loop checks; the month's top ten of learning to approve), then what
they watch (their audits, their team's, their team's overdue actions, the thematic audits they lead); for the QA team,
the month's progress. A thematic audit reads the record: only its auditor sees it among their audits.

Each kind of item is one query however many there are (the lists are capped at `CAP`, most urgent first, with the
full count), so opening Home costs the same for three items as for sixty. A restricted record shows only its QA
reference to anyone not granted access (bot/workflow/restricted.py); Home never shows a case-system ID."""

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, case, func, or_, select, text
from sqlalchemy.orm import Session, aliased, selectinload

from bot import months
from bot.calendar import Calendar, now
from bot.framework import Framework
from bot.workflow import (
    audit_form,
    disputes,
    escalation,
    family_feedback,
    learning,
    safeguarding,
    self_assessment,
)
from bot.workflow.directory import QA_TEAM, by_slack_id
from store.models import (
    Action,
    ActionExtension,
    Audit,
    Case,
    CaseAccess,
    Dispute,
    Escalation,
    LoopCheck,
    Moderation,
    ModerationSession,
    Nomination,
    PathwayTask,
    Person,
    Recommendation,
    Theme,
    TopTen,
)

CAP = 10  # items shown per list; the rest are counted ("…and N more")
CLOSED = ("declined", "cancelled")
FINISHED = ("moderated", "complete")  # a collaborative audit once moderated, a thematic one once submitted


def home_for(db: Session, cal: Calendar, slack_user_id: str, framework: Framework | None = None) -> dict[str, Any]:
    framework = framework or Framework()
    person = by_slack_id(db, slack_user_id)
    if person is None:
        return {"name": None, "waiting": [], "watching": [], "progress": None, "learning_queue": None}
    moment = now()
    local = cal.local(moment).date()
    month = months.of(local)
    # Whose decisions this person may take: their own, and those of anyone who made them their delegate.
    covering = {person.id, *db.scalars(select(Person.id).where(Person.delegate_id == person.id))}
    access = set(db.scalars(select(CaseAccess.case_id).where(CaseAccess.person_id == person.id)))

    def hidden(case_row: Case) -> bool:
        return case_row.restricted and case_row.id not in access

    audits = _audits(db, cal, framework, person, month, hidden)
    led = _themes_led(db, person)
    waiting = [
        *audits["waiting"],
        _section("actions", *_my_actions(db, person, moment, hidden)),
        _section("sign_off", *_sign_offs(db, covering, hidden)),
        _section("moderations", *_moderations(db, person, moment, hidden)),
        _section("escalations", _escalations(db, covering, hidden)),
        _section("pathway", _pathway(db, covering, hidden)),
        _section("extensions", *_extensions(db, covering, hidden)),
        _section("disputes", *(_disputes(db, hidden) if disputes.HEAD in person.roles else ([], 0))),
        _section("theme_report", led["write"]),
        _section("theme_sign_off", *_theme_sign_offs(db, covering)),
        _section("loop_checks", *_loop_checks(db, cal, covering, moment)),
        _section("topten", *_top_tens(db, person)),
    ]
    watching = [
        *audits["watching"],
        _section("team_overdue", *_team_overdue(db, person, moment, hidden)),
        _section("themes", led["watch"]),
    ]
    progress = _progress(db, month, moment) if person.roles & QA_TEAM else None
    return {
        "name": person.name,
        "waiting": [s for s in waiting if s["count"]],
        "watching": [s for s in watching if s["count"]],
        "progress": progress,
        "learning_queue": progress["learning_queue"] if progress else None,
    }


def _section(kind: str, items: list[dict[str, Any]], count: int | None = None) -> dict[str, Any]:
    """A list as Home shows it: at most CAP items and how many there are in all."""
    return {"kind": kind, "items": items[:CAP], "count": len(items) if count is None else count}


def _capped(db: Session, query: Select) -> tuple[list[Any], int]:
    """The first CAP rows and the number of rows in all, in one query (a window count beside each row)."""
    rows = db.execute(query.add_columns(func.count().over().label("total")).limit(CAP)).all()
    return rows, rows[0].total if rows else 0


def _item(audit: Audit, case_row: Case, hidden, **detail: Any) -> dict[str, Any]:
    """An item about an audit: on a restricted record only its QA reference (and what its buttons need)."""
    if hidden(case_row):
        return {"qa_ref": audit.qa_ref, "restricted": True, **{k: v for k, v in detail.items() if k in ("id", "state")}}
    return {"qa_ref": audit.qa_ref, "restricted": False, **detail}


# ----- audits: the auditor's work, the practitioner's self-assessment, and the audits people watch --------------


def _audits(db: Session, cal: Calendar, framework: Framework, person: Person, month: str, hidden) -> dict[str, list]:
    """One query for every audit the person is on (finished ones until their month is over), sorted into the
    auditor's tasks, the practitioner's self-assessments, and the audits they watch as practitioner, team manager
    or auditor. A thematic audit is its auditor's alone: it is answered from the record, on the theme's form, with
    no meeting, family feedback or self-assessment (the practitioner and team manager are not asked to take part)."""
    auditor, practitioner, manager = aliased(Person), aliased(Person), aliased(Person)
    rows = db.execute(
        select(Audit, Case, auditor.name, practitioner.name, manager.name, Theme.title)
        .join(Case, Audit.case_id == Case.id)
        .outerjoin(auditor, Audit.auditor_id == auditor.id)
        .outerjoin(practitioner, Audit.practitioner_id == practitioner.id)
        .outerjoin(manager, Audit.team_manager_id == manager.id)
        .outerjoin(Theme, Audit.theme_id == Theme.id)
        .where(
            or_(
                Audit.auditor_id == person.id,
                and_(
                    Audit.kind != "thematic",
                    or_(Audit.practitioner_id == person.id, Audit.team_manager_id == person.id),
                ),
            ),
            Audit.status.not_in(CLOSED),
            or_(Audit.status.not_in(FINISHED), Audit.month >= month),
        )
        .order_by(Audit.accept_by, Audit.id)
    ).all()
    lists: dict[str, list] = {
        k: [] for k in ("accept", "meeting", "feedback", "complete", "self_assessment", "mine", "team", "audited")
    }
    for audit, case_row, auditor_name, practitioner_name, manager_name, theme in rows:
        names = {"auditor": auditor_name, "practitioner": practitioner_name, "team_manager": manager_name}
        item = _item(audit, case_row, hidden, id=audit.id, status=audit.status, theme=theme, **names)
        due = cal.local(audit.due_at).date() if audit.due_at else None
        mine_to_audit = audit.auditor_id == person.id
        if mine_to_audit and audit.status == "allocated":
            lists["accept"].append(item | {"due": audit.accept_by})
        elif mine_to_audit and theme is not None and audit.status in audit_form.OPEN:
            lists["complete"].append(item | {"due": due})
        elif mine_to_audit and audit.status == "accepted":
            lists["meeting"].append(item | {"due": due})
        elif mine_to_audit and audit.status in family_feedback.OPEN and audit.family_feedback is None:
            lists["feedback"].append(item | {"due": due})
        elif mine_to_audit and audit.status == "in_progress":
            lists["complete"].append(item | {"due": due})
        elif audit.practitioner_id == person.id and self_assessment.is_waiting(audit):
            lists["self_assessment"].append(
                item | {"due": self_assessment.due_day(cal, framework, audit.meeting_at), "meeting": audit.meeting_at}
            )
        else:
            watched = (
                "mine" if audit.practitioner_id == person.id else "team" if audit.team_manager_id == person.id else ""
            )
            lists[watched or "audited"].append(item)
    # The soonest self-assessment first (those with no meeting yet last).
    lists["self_assessment"].sort(key=lambda i: (i.get("due") is None, i.get("due") or date.min))
    for kind in ("meeting", "feedback", "complete"):
        lists[kind].sort(key=lambda i: (i.get("due") is None, i.get("due") or date.min))
    waiting = [_section(k, lists[k]) for k in ("accept", "meeting", "feedback", "complete", "self_assessment")]
    return {"waiting": waiting, "watching": [_section(k, lists[k]) for k in ("mine", "team", "audited")]}


# ----- actions ------------------------------------------------------------------------------------------------------


def _my_actions(db: Session, person: Person, moment: datetime, hidden) -> tuple[list, int]:
    """The person's own open actions, most overdue first, then those done and waiting for sign-off."""
    rows, count = _capped(
        db,
        select(Action, Audit, Case)
        .join(Audit, Action.audit_id == Audit.id)
        .join(Case, Audit.case_id == Case.id)
        .where(Action.owner_id == person.id, Action.status.in_(("open", "done")))
        .order_by(case((Action.status == "open", 0), else_=1), Action.due_at, Action.id),
    )
    items = [
        _item(
            audit,
            case_row,
            hidden,
            id=action.id,
            state=action.status,
            due=action.due_at,
            overdue=action.status == "open" and action.due_at < moment,
            description=action.description,
        )
        for action, audit, case_row, _ in rows
    ]
    return items, count


def _actions_with_owner(db: Session, *where, order) -> tuple[list, int]:
    """Actions with their audit, case and owner's name: what a team manager's lists show."""
    owner = aliased(Person)
    return _capped(
        db,
        select(Action, Audit, Case, owner.name)
        .join(Audit, Action.audit_id == Audit.id)
        .join(Case, Audit.case_id == Case.id)
        .join(owner, Action.owner_id == owner.id)
        .where(*where)
        .order_by(order, Action.id),
    )


def _sign_offs(db: Session, covering: set[int], hidden) -> tuple[list, int]:
    """Actions marked done on audits whose team manager is this person (or one they cover for)."""
    rows, count = _actions_with_owner(
        db, Action.status == "done", Audit.team_manager_id.in_(covering), order=Action.done_at
    )
    items = [
        _item(audit, case_row, hidden, id=action.id, owner=name, done_at=action.done_at, description=action.description)
        for action, audit, case_row, name, _ in rows
    ]
    return items, count


def _team_overdue(db: Session, person: Person, moment: datetime, hidden) -> tuple[list, int]:
    """Open actions past their due date on the audits this person manages, the longest overdue first."""
    rows, count = _actions_with_owner(
        db, Action.status == "open", Action.due_at < moment, Audit.team_manager_id == person.id, order=Action.due_at
    )
    return [_item(a, c, hidden, id=action.id, owner=name, due=action.due_at) for action, a, c, name, _ in rows], count


def _extensions(db: Session, covering: set[int], hidden) -> tuple[list, int]:
    """Second extensions the Service Manager (this person, or one they cover for) is asked to approve."""
    asker = aliased(Person)
    rows, count = _capped(
        db,
        select(ActionExtension, Audit, Case, asker.name)
        .join(Action, ActionExtension.action_id == Action.id)
        .join(Audit, Action.audit_id == Audit.id)
        .join(Case, Audit.case_id == Case.id)
        .join(asker, ActionExtension.requested_by_id == asker.id)
        .where(ActionExtension.status == "requested", ActionExtension.asked_id.in_(covering))
        .order_by(ActionExtension.requested_at, ActionExtension.id),
    )
    items = [
        _item(audit, case_row, hidden, id=ext.id, by=name, was_due=ext.was_due, to_due=ext.to_due)
        for ext, audit, case_row, name, _ in rows
    ]
    return items, count


# ----- moderation, disputes -----------------------------------------------------------------------------------------


def _moderations(db: Session, person: Person, moment: datetime, hidden) -> tuple[list, int]:
    """The moderator's queue, soonest due first: their own, and those they chair at a group moderation meeting."""
    rows, count = _capped(
        db,
        select(Moderation, Audit, Case, ModerationSession.held_on)
        .join(Audit, Moderation.audit_id == Audit.id)
        .join(Case, Audit.case_id == Case.id)
        .outerjoin(ModerationSession, Moderation.session_id == ModerationSession.id)
        .where(Moderation.status == "pending", Moderation.moderator_id == person.id)
        .order_by(Moderation.due_at, Moderation.id),
    )
    items = [
        _item(
            audit,
            case_row,
            hidden,
            id=moderation.id,
            due=moderation.due_at,
            overdue=moderation.due_at < moment,
            overall=audit.overall_grade,
            held_on=held_on,
        )
        for moderation, audit, case_row, held_on, _ in rows
    ]
    return items, count


def _disputes(db: Session, hidden) -> tuple[list, int]:
    """Disputed grades for a QA Head of Service to decide, oldest first."""
    raiser = aliased(Person)
    rows, count = _capped(
        db,
        select(Dispute, Audit, Case, raiser.name, Moderation.grade)
        .join(Audit, Dispute.audit_id == Audit.id)
        .join(Case, Audit.case_id == Case.id)
        .join(raiser, Dispute.raised_by_id == raiser.id)
        .join(Moderation, Dispute.moderation_id == Moderation.id)
        .where(Dispute.status.in_(disputes.OPEN))
        .order_by(Dispute.raised_at, Dispute.id),
    )
    items = [
        _item(audit, c, hidden, id=d.id, by=name, grade=grade, state=d.status, meeting=d.meeting_at)
        for d, audit, c, name, grade, _ in rows
    ]
    return items, count


# ----- escalations and the Inadequate pathway -----------------------------------------------------------------------


def _deciders(row: Escalation) -> set[int]:
    """Whose decision an acknowledged escalation waits on, as escalation._asked decides it, from its loaded steps:
    whoever acknowledged it, and the people at the level reached once it has climbed past their reminder."""
    acknowledged = next((s for s in row.steps if s.what == "acknowledged"), None)
    if acknowledged is None:
        return set()
    since = [s for s in row.steps if s.id > acknowledged.id]
    at_level = [e["person_id"] for e in row.chain if e["level"] == row.level]
    return {acknowledged.person_id, *(at_level if len(since) > 1 else [])}


# A pending escalation (other than a safeguarding alert) waits on the person at its level in its frozen chain.
_AT_LEVEL = {
    "postgresql": "EXISTS (SELECT 1 FROM json_array_elements(escalations.chain) AS e "
    "WHERE (e ->> 'level')::int = escalations.level AND (e ->> 'person_id')::int IN :people)",
    "sqlite": "EXISTS (SELECT 1 FROM json_each(escalations.chain) AS e "
    "WHERE json_extract(e.value, '$.level') = escalations.level AND json_extract(e.value, '$.person_id') IN :people)",
}


def _escalations(db: Session, covering: set[int], hidden) -> list[dict[str, Any]]:
    """Open escalations waiting on this person's decision (or a decision of someone they cover for), the soonest
    deadline first. Who is asked lives in each row's frozen chain: the database finds the pending ones asking these
    people at their level; the acknowledged ones (safeguarding concerns, few) are read with their steps and decided
    by `_deciders`. The audits they concern are fetched with one query per kind of subject (a close-the-loop check is
    named by its theme's reference)."""
    asked = text(_AT_LEVEL[db.get_bind().dialect.name]).bindparams(
        bindparam("people", sorted(covering), expanding=True)
    )
    in_policy = Escalation.policy.in_(escalation.POLICIES)
    pending = db.scalars(
        select(Escalation).where(
            Escalation.status == "pending", in_policy, Escalation.policy != safeguarding.POLICY, asked
        )
    ).all()
    acknowledged = db.scalars(
        select(Escalation).where(Escalation.status == "acknowledged", in_policy).options(selectinload(Escalation.steps))
    ).all()
    mine = sorted(
        [*pending, *(row for row in acknowledged if _deciders(row) & covering)], key=lambda r: (r.respond_by, r.id)
    )
    named: dict[tuple[str, int], dict[str, Any]] = {}
    for policy in {row.policy for row in mine}:
        subject = escalation.POLICIES[policy].subject
        ids = [row.subject_id for row in mine if row.policy == policy]
        if subject is LoopCheck:
            query = select(LoopCheck.id, Theme.ref).join(Theme, LoopCheck.theme_id == Theme.id)
            for subject_id, ref in db.execute(query.where(LoopCheck.id.in_(ids))):
                named[(policy, subject_id)] = {"qa_ref": ref, "restricted": False}
            continue
        query = select(subject.id, Audit, Case)
        if subject is not Audit:
            query = query.join(Audit, subject.audit_id == Audit.id)
        query = query.join(Case, Audit.case_id == Case.id).where(subject.id.in_(ids))
        for subject_id, audit, case_row in db.execute(query):
            named[(policy, subject_id)] = _item(audit, case_row, hidden)
    items = []
    for row in mine:
        top = row.level >= max(e["level"] for e in row.chain)
        items.append(
            named[(row.policy, row.subject_id)]
            | {"id": row.id, "policy": row.policy, "top": top, "respond_by": row.respond_by}
        )
    return items


def _pathway(db: Session, covering: set[int], hidden) -> list[dict[str, Any]]:
    """Steps of the Inadequate pathway this person (or someone they cover for) was asked to take, soonest due first.
    Who was asked is a frozen list on each task, so the pending tasks are read in one query and sorted here."""
    rows = db.execute(
        select(PathwayTask, Audit, Case)
        .join(Audit, PathwayTask.audit_id == Audit.id)
        .join(Case, Audit.case_id == Case.id)
        .where(PathwayTask.status == "pending")
        .order_by(PathwayTask.due_at, PathwayTask.id)
    ).all()
    return [
        _item(audit, case_row, hidden, id=task.id) | {"step": task.kind, "due": task.due_at}
        for task, audit, case_row in rows
        if covering & set(task.asked)
    ]


# ----- thematic audits and the top ten of learning -----------------------------------------------------------------


def _themes_led(db: Session, person: Person) -> dict[str, list]:
    """The themes this person leads and that are not closed, with their audits counted, in one query: those whose
    audits are all in wait for the overview report; the others are watched, with their progress."""
    sponsor = aliased(Person)
    done = _audits_of_theme(Audit.status == "complete")
    sampled = _audits_of_theme(Audit.status.not_in(CLOSED))
    rows = db.execute(
        select(Theme, sponsor.name, done, sampled)
        .join(sponsor, Theme.sponsor_id == sponsor.id)
        .where(Theme.lead_id == person.id, Theme.status != "closed")
        .order_by(Theme.report_by, Theme.id)
    ).all()
    lists: dict[str, list] = {"write": [], "watch": []}
    for theme, sponsor_name, done_count, sampled_count in rows:
        item = _theme_item(theme, sponsor=sponsor_name, complete=done_count, sampled=sampled_count)
        findings_in = theme.status == "auditing" and theme.findings_sent_at is not None
        lists["write" if findings_in else "watch"].append(
            item | {"due": theme.report_by if findings_in else theme.audits_by, "signed_at": theme.signed_off_at}
        )
    return lists


def _audits_of_theme(condition) -> Any:
    return (
        select(func.count())
        .select_from(Audit)
        .where(Audit.theme_id == Theme.id, condition)
        .correlate(Theme)
        .scalar_subquery()
    )


def _theme_item(theme: Theme, **detail: Any) -> dict[str, Any]:
    """An item about a theme: named by its reference and title (a theme names no case)."""
    shown = {"qa_ref": theme.ref, "restricted": False, "id": theme.id, "title": theme.title, "state": theme.status}
    return shown | detail


def _theme_sign_offs(db: Session, covering: set[int]) -> tuple[list, int]:
    """Overview reports waiting for the sign-off of their sponsor (this person, or one they cover for)."""
    lead = aliased(Person)
    recommendations = (
        select(func.count())
        .select_from(Recommendation)
        .where(Recommendation.theme_id == Theme.id)
        .correlate(Theme)
        .scalar_subquery()
    )
    rows, count = _capped(
        db,
        select(Theme, lead.name, recommendations)
        .join(lead, Theme.lead_id == lead.id)
        .where(Theme.status == "awaiting_sign_off", Theme.sponsor_id.in_(covering))
        .order_by(Theme.reported_at, Theme.id),
    )
    items = [
        _theme_item(theme, lead=name, recommendations=number, summary=theme.summary) for theme, name, number, _ in rows
    ]
    return items, count


def _loop_checks(db: Session, cal: Calendar, covering: set[int], moment: datetime) -> tuple[list, int]:
    """Close-the-loop checks whose day has come, for the theme's sponsor (or one they cover for), the soonest due
    first: from that day they are asked in the digest too, until recorded."""
    tomorrow = cal.at(cal.local(moment).date() + timedelta(days=1), time(0))
    rows, count = _capped(
        db,
        select(LoopCheck, Theme)
        .join(Theme, LoopCheck.theme_id == Theme.id)
        .where(LoopCheck.status == "pending", LoopCheck.due_at < tomorrow, Theme.sponsor_id.in_(covering))
        .order_by(LoopCheck.due_at, LoopCheck.id),
    )
    items = [
        _theme_item(theme, id=check.id, stage=check.stage, due=check.due_at, overdue=check.due_at < moment)
        for check, theme, _ in rows
    ]
    return items, count


def _top_tens(db: Session, person: Person) -> tuple[list, int]:
    """Top tens of learning drafted and not yet approved, for whoever approves them (learning.py decides)."""
    if not person.roles & QA_TEAM or not learning.may_approve(db, person):
        return [], 0
    rows, count = _capped(db, select(TopTen).where(TopTen.status == "draft").order_by(TopTen.month, TopTen.id))
    items = [
        {"restricted": False, "id": topten.id, "month_words": months.words(topten.month), "size": len(topten.items)}
        for topten, _ in rows
    ]
    return items, count


# ----- the QA team's month ------------------------------------------------------------------------------------------


def _progress(db: Session, month: str, moment: datetime) -> dict[str, Any]:
    """The month's figures, in one query: audits allocated, accepted, audited and moderated; allocations not yet
    accepted; moderations past their deadline; safeguarding concerns still open; the learning queue."""
    audits = and_(Audit.month == month, Audit.status.not_in(CLOSED))

    row = db.execute(
        select(
            select(func.count()).where(audits).scalar_subquery(),
            select(func.count()).where(audits, Audit.accepted_at.is_not(None)).scalar_subquery(),
            select(func.count()).where(audits, Audit.submitted_at.is_not(None)).scalar_subquery(),
            select(func.count()).where(audits, Audit.status == "moderated").scalar_subquery(),
            select(func.count()).where(audits, Audit.status == "allocated").scalar_subquery(),
            select(func.count())
            .select_from(Moderation)
            .where(Moderation.status == "pending", Moderation.due_at < moment)
            .scalar_subquery(),
            select(func.count())
            .select_from(Escalation)
            .where(Escalation.policy == safeguarding.POLICY, Escalation.status.in_(escalation.OPEN))
            .scalar_subquery(),
            select(func.count()).select_from(Nomination).where(Nomination.status == "queued").scalar_subquery(),
        )
    ).one()
    keys = ("allocated", "accepted", "audited", "moderated", "unaccepted", "late_moderations", "safeguarding")
    return {
        "month": month,
        "month_words": months.words(month),
        **dict(zip(keys, row[:7], strict=True)),
        "learning_queue": row[7],
    }
