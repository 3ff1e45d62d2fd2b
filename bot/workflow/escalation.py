"""The escalation engine (DESIGN: "Escalation engine"): one mechanism for everything that must not be left lying,
routed up the management chain, where the person at the current level decides with buttons: Resolve (with a
note), Extend (a new date, with a reason) or Escalate now. With no decision within the level's window it climbs by
itself and tells everyone already involved. A decision closes it and takes the buttons off every message of it.

A policy says what it is about and supplies its window. The drift policies (an action still open after its due
date, a moderation past its deadline, an Inadequate-pathway step not recorded) start by themselves, follow a
line one person per level, and give each level `escalation_window_days` working days. The safeguarding policy is
raised by the auditor (bot/workflow/safeguarding.py): a level is everyone alerted at once, the window is 2 working
hours, and a climb is announced by its alert round (urgent, to everyone alerted so far, and the QA channel).

Acknowledging is not resolving. An acknowledged concern stops climbing alerts and waits for whoever acknowledged
it to Resolve it, saying what was done (`safeguarding_resolve_within_days`, 1 working day). Not resolved by then:
they are reminded once; one window later it climbs like any escalation — to the next level of the chain (at the
top, the top is asked again each window), everyone involved is told, and from then on the people at that level
may resolve it too. Who may resolve an acknowledged concern: whoever acknowledged it, the people it has climbed
to since, a delegate of either, or the QA team. The practitioner's other managers, though alerted, may not: the
one who acknowledged it took it on, and a climb brings in the level above.

The sweep is the one clock for every policy: each open escalation past its `respond_by` is moved on. The people
are frozen on the escalation row when it starts (`chain`: `{"level", "role", "person_id"}` per person), so a
reorganisation does not reroute a running one. Each step is an EscalationStep: "started" (or safeguarding's
alert rounds), "climbed", "reminded", "acknowledged", then the decision."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bot import outbox
from bot.calendar import Calendar, now
from bot.config import Settings
from bot.framework import Framework
from bot.workflow import digests, guard, safeguarding, thematic, trail
from bot.workflow.audit_people import in_line
from bot.workflow.directory import by_slack_id, manager_with_role
from bot.workflow.outcome import DONE, Outcome, refused
from store import bulk, reads
from store.models import (
    Action,
    Audit,
    Escalation,
    EscalationStep,
    LoopCheck,
    Moderation,
    OutboxMessage,
    PathwayTask,
    Person,
)

LEVELS = ("service_manager", "head_of_service", "assistant_director", "executive_director")
# The Inadequate pathway's steps asked of the Service Manager and Head of Service; the AD Safeguarding's and the
# Executive Director's are at the top already, and are reminded instead.
MANAGERS_STEPS = ("reflective_meeting", "resolution")
QA_ADMINS = frozenset({"qa_team", "qa_head_of_service"})
NOTE_LIMIT = 2900
STUCK_AFTER = timedelta(hours=1)  # the sweep runs every few minutes: an hour late means it is not running
EXTEND_AT_MOST = 20  # working days: an extension is a new date, not an open-ended pause
# Closed decisions; "settled" is the subject put right (the action done, the moderation recorded) while it climbed.
DECISIONS = ("resolved", "extended", "settled")
# Still running: "acknowledged" is a safeguarding concern someone is acting on, not yet resolved.
OPEN = ("pending", "acknowledged")


@dataclass(frozen=True)
class Policy:
    """An escalation about `subject` (whose audit is `audit_of`); `window` gives the next respond_by as the
    escalation moves at a moment; `decisions` are the buttons its requests offer.

    A drift policy starts by itself: `subject` rows past `due(row)` by `start_after(fw)` working days while
    `is_open(row)`, the chain following `chain_of(db, row)`. A policy raised by hand (safeguarding) has none of
    those; until acknowledged each climb is announced by `alert`, and `closed` updates its own messages when it is
    resolved."""

    name: str
    subject: type
    audit_of: Callable[[Session, Any], Audit]
    window: Callable[[Calendar, Settings, Escalation, datetime], datetime]
    decisions: tuple[str, ...] = ("resolve", "extend", "escalate")
    start_after: Callable[[Framework], int] | None = None
    due: Callable[[Any], datetime] | None = None
    is_open: Callable[[Any], bool] | None = None
    open_rows: Any = None  # the same test as a query condition, for the sweep
    chain_of: Callable[[Session, Any], dict[str, Person | None]] | None = None
    extend: Callable[[Any, datetime], None] | None = None
    waiting_on: Callable[[Session, Any], list[Person | None]] | None = None  # told of a decision on their work
    alert: Callable[[Session, Settings, Escalation, bool], None] | None = None
    closed: Callable[[Session, Escalation], None] | None = None


def _practitioners_line(db: Session, action: Action) -> dict[str, Person | None]:
    audit = db.get(Audit, action.audit_id)
    return {role: in_line(audit, role) for role in LEVELS}


def _moderators_line(db: Session, moderation: Moderation) -> dict[str, Person | None]:
    moderator = db.get(Person, moderation.moderator_id) if moderation.moderator_id else None
    return {role: manager_with_role(moderator, role) if moderator else None for role in LEVELS}


def _move_due(row: Any, to: datetime) -> None:
    row.due_at = to


def _line_beyond_those_asked(db: Session, task: PathwayTask) -> dict[str, Person | None]:
    """A pathway step the Service Manager and Head of Service were asked to take goes to those above them."""
    audit = db.get(Audit, task.audit_id)
    line = {role: in_line(audit, role) for role in LEVELS}
    return {role: person for role, person in line.items() if person is None or person.id not in task.asked}


def _sponsors_line(db: Session, check: LoopCheck) -> dict[str, Person | None]:
    """A close-the-loop check the sponsor (a Head of Service) has not recorded goes up their line: AD, then
    Executive Director."""
    sponsor = check.theme.sponsor
    return {role: manager_with_role(sponsor, role) for role in LEVELS}


def _move_task(task: PathwayTask, to: datetime) -> None:
    task.due_at = task.next_reminder_at = to


def _days_window(cal: Calendar, settings: Settings, escalation: Escalation | None, start: datetime) -> datetime:
    day = cal.local(start).date()
    return cal.at(cal.add_working_days(day, settings.framework.escalation_window_days), cal.end)


POLICIES = {
    p.name: p
    for p in (
        Policy(
            name="overdue_action",
            subject=Action,
            start_after=lambda fw: fw.action_escalate_after_days,
            due=lambda a: a.due_at,
            is_open=lambda a: a.status == "open",
            open_rows=Action.status == "open",
            audit_of=lambda db, a: db.get(Audit, a.audit_id),
            window=_days_window,
            chain_of=_practitioners_line,
            extend=_move_due,
            waiting_on=lambda db, a: [db.get(Person, a.owner_id)],
        ),
        Policy(
            name="overdue_moderation",
            subject=Moderation,
            start_after=lambda fw: fw.moderation_escalate_after_days,
            due=lambda m: m.due_at,
            is_open=lambda m: m.status == "pending",
            open_rows=Moderation.status == "pending",
            audit_of=lambda db, m: db.get(Audit, m.audit_id),
            window=_days_window,
            chain_of=_moderators_line,
            extend=_move_due,
            waiting_on=lambda db, m: [db.get(Person, m.moderator_id) if m.moderator_id else None],
        ),
        Policy(
            name="overdue_pathway_step",
            subject=PathwayTask,
            start_after=lambda fw: fw.action_escalate_after_days,
            due=lambda t: t.due_at,
            is_open=lambda t: t.status == "pending",
            open_rows=(PathwayTask.status == "pending") & PathwayTask.kind.in_(MANAGERS_STEPS),
            audit_of=lambda db, t: db.get(Audit, t.audit_id),
            window=_days_window,
            chain_of=_line_beyond_those_asked,
            extend=_move_task,
            waiting_on=lambda db, t: [db.get(Person, person_id) for person_id in t.asked],
        ),
        Policy(
            name="overdue_loop_check",
            subject=LoopCheck,
            start_after=lambda fw: fw.action_escalate_after_days,
            due=lambda c: c.due_at,
            is_open=lambda c: c.status == "pending",
            open_rows=LoopCheck.status == "pending",
            # A theme is named by its reference, as an audit is by its QA reference.
            audit_of=lambda db, c: c.theme,
            window=_days_window,
            chain_of=_sponsors_line,
            extend=_move_due,
            waiting_on=lambda db, c: [c.theme.sponsor],
        ),
        Policy(
            name=safeguarding.POLICY,
            subject=Audit,
            audit_of=lambda db, audit: audit,
            window=safeguarding.window,
            decisions=("resolve",),
            alert=safeguarding.alert,
            closed=safeguarding.closed,
        ),
    )
}
DRIFT = tuple(name for name, policy in POLICIES.items() if policy.open_rows is not None)


# ----- the sweep ----------------------------------------------------------------------------------------------------


def sweep(db: Session, cal: Calendar, settings: Settings) -> int:
    """The one clock of every policy, on working days (every window ends in working time): close drift escalations
    whose subject was put right, start one for each subject that has drifted past its policy's start, and move on
    each open escalation, of any policy, whose window has passed. Returns the escalations started or moved."""
    moment = now()
    today = cal.local(moment).date()
    if not cal.is_working_day(today):
        return 0
    acted = 0
    for escalation in _maybe_settled(db, moment):
        policy = POLICIES[escalation.policy]
        subject = db.get(policy.subject, escalation.subject_id)
        if subject is None or not policy.is_open(subject) or policy.due(subject) > moment:
            _close(db, settings, escalation, None, "settled", None)
    for name in DRIFT:
        acted += _start_drifted(db, cal, settings, POLICIES[name], today)
    due = db.scalars(
        select(Escalation)
        .where(Escalation.status.in_(OPEN), Escalation.policy.in_(POLICIES), Escalation.respond_by <= moment)
        .order_by(Escalation.respond_by, Escalation.id)
        .with_for_update(skip_locked=True)
    ).all()
    held = _hold(db, due)
    # A drift escalation's climb is the same few rows each time: they are written together. A safeguarding concern
    # (its alert rounds, its reminder once acknowledged) is moved on by itself.
    together, alone = [], []
    for escalation in due:
        (together if escalation.status == "pending" and POLICIES[escalation.policy].alert is None else alone).append(
            escalation
        )
    _climb_together(db, cal, settings, together)
    for escalation in alone:
        if escalation.status == "acknowledged" and not _since_acknowledged(db, escalation):
            _remind(db, cal, settings, escalation)
        else:
            _climb(db, cal, settings, escalation, by=None)
    held.clear()
    return acted + len(due)


def _maybe_settled(db: Session, moment: datetime) -> list[Escalation]:
    """The running drift escalations whose subject may have been put right (gone, no longer open by its policy's
    query, or due later): found by a query per policy rather than by reading every running one and its subject."""
    found: list[Escalation] = []
    for name in DRIFT:
        policy, model = POLICIES[name], POLICIES[name].subject
        found += db.scalars(
            select(Escalation)
            .outerjoin(model, model.id == Escalation.subject_id)
            .where(Escalation.status == "pending", Escalation.policy == name)
            .where(or_(model.id.is_(None), ~policy.open_rows, model.due_at > moment))
        ).all()
    return sorted(found, key=lambda e: e.id)


def _hold_subjects(db: Session, escalations: list[Escalation]) -> list[Any]:
    """The escalations' subjects, a query per policy: what the sweep reads of each, and holds while it does."""
    held: list[Any] = []
    for name, policy in POLICIES.items():
        held += reads.hold(db, policy.subject, (e.subject_id for e in escalations if e.policy == name))
    return held


def _hold(db: Session, escalations: list[Escalation]) -> list[Any]:
    """What moving these escalations on reads for each (its subject, its audit, the people in its chain and those the
    subject waits on), loaded a query per kind rather than several per escalation; held until the sweep is done."""
    held = _hold_subjects(db, escalations)
    held += reads.hold(db, Audit, (getattr(row, "audit_id", None) for row in held))
    owners = (getattr(row, "owner_id", None) or getattr(row, "moderator_id", None) for row in held)
    chains = (entry["person_id"] for e in escalations for entry in e.chain)
    held += reads.hold(db, Person, [*owners, *chains])
    return held


def _start_drifted(db: Session, cal: Calendar, settings: Settings, policy: Policy, today: date) -> int:
    # Due on or before this day's end, and still open: drifted by at least `start_after` working days today.
    latest_due = cal.at(cal.add_working_days(today, -policy.start_after(settings.framework)), cal.end)
    model = policy.subject
    # A pending escalation is running; a resolved one is a manager's answer, not to be asked again.
    already = exists().where(
        Escalation.policy == policy.name,
        Escalation.subject_type == model.__tablename__,
        Escalation.subject_id == model.id,
        Escalation.status.in_(("pending", "resolved")),
    )
    rows = db.scalars(
        select(model).where(policy.open_rows, model.due_at <= latest_due, ~already).order_by(model.due_at, model.id)
    ).all()
    for row in rows:
        _start(db, cal, settings, policy, row)
    return len(rows)


def _start(db: Session, cal: Calendar, settings: Settings, policy: Policy, row: Any) -> Escalation:
    moment = now()
    audit = policy.audit_of(db, row)
    line = policy.chain_of(db, row)
    chain = []
    for role in LEVELS:
        person = line.get(role)
        if person is not None and person.active and person.slack_user_id:
            chain.append({"level": len(chain), "role": role, "person_id": person.id})
    escalation = Escalation(
        policy=policy.name,
        subject_type=policy.subject.__tablename__,
        subject_id=row.id,
        chain=chain,
        level=0,
        status="pending",
        started_at=moment,
        respond_by=policy.window(cal, settings, None, moment),
    )
    db.add(escalation)
    db.flush()
    db.add(EscalationStep(escalation_id=escalation.id, level=0, person_id=None, what="started", at=moment))
    trail.record(
        db,
        "escalation.started",
        subject=audit,
        escalation_id=escalation.id,
        policy=policy.name,
        chain=[{"role": e["role"], "person_id": e["person_id"]} for e in chain],
        respond_by=escalation.respond_by.isoformat(),
    )
    if not chain:
        _tell_qa(db, settings, escalation, audit, "nobody")
        return escalation
    _ask(db, settings, escalation, came="started")
    # Whoever the work waits on hears that it has gone to their manager (not those asked: their request says so).
    _notify_involved(
        db, escalation, "started", below=0, skip={e["person_id"] for e in escalation.chain if e["level"] == 0}
    )
    return escalation


def _top(escalation: Escalation) -> int:
    return max((e["level"] for e in escalation.chain), default=0)


def _climb(
    db: Session, cal: Calendar, settings: Settings, escalation: Escalation, by: Person | None, claimed: bool = False
) -> None:
    """Up a level (or, at the top, a reminder to the top) with a new window; everyone involved is told. `claimed`:
    the level was already moved by the caller's conditional UPDATE. A policy with alerts announces a climb of an
    unacknowledged escalation by its own alert round."""
    moment = now()
    policy = POLICIES[escalation.policy]
    up = claimed or escalation.level < _top(escalation)
    if up and not claimed:
        escalation.level += 1
    escalation.respond_by = policy.window(cal, settings, escalation, moment)
    if escalation.status == "pending" and policy.alert is not None:
        policy.alert(db, settings, escalation, up)
        return
    _announce(db, settings, [(escalation, up)], by)


def _climb_together(db: Session, cal: Calendar, settings: Settings, escalations: list[Escalation]) -> None:
    """`_climb` by the sweep for many pending escalations without alerts. The levels move by one conditional UPDATE
    per (level, new level, window), each WHERE the status and level are still those read: a decision taken
    meanwhile wins, and that escalation is left alone."""
    moment = now()
    groups: dict[tuple[int, int, datetime], list[int]] = {}
    for escalation in escalations:
        up = escalation.level < _top(escalation)
        respond_by = POLICIES[escalation.policy].window(cal, settings, escalation, moment)
        groups.setdefault((escalation.level, escalation.level + up, respond_by), []).append(escalation.id)
    table = Escalation.__table__
    won: dict[int, tuple[int, datetime]] = {}
    for (level, new_level, respond_by), ids in groups.items():
        for start in range(0, len(ids), reads.CHUNK):
            moved = db.scalars(
                update(table)
                .where(table.c.id.in_(ids[start : start + reads.CHUNK]), table.c.status == "pending")
                .where(table.c.level == level)
                .values(level=new_level, respond_by=respond_by)
                .returning(table.c.id)
            )
            won |= dict.fromkeys(moved, (new_level, respond_by))
    climbed = []
    for escalation in escalations:
        if escalation.id in won:
            up = won[escalation.id][0] > escalation.level
            # What the UPDATE wrote, set on the loaded row without marking it changed (no second UPDATE).
            set_committed_value(escalation, "level", won[escalation.id][0])
            set_committed_value(escalation, "respond_by", won[escalation.id][1])
            climbed.append((escalation, up))
    _announce(db, settings, climbed, by=None)


def _announce(db: Session, settings: Settings, moved: list[tuple[Escalation, bool]], by: Person | None) -> None:
    """Escalations just moved on, each up a level (True) or, at the top, reminded: the step on its log, the event,
    the buttons taken off its earlier requests (only those asked now decide from here on), the request to those
    asked now and, when it went up, a notice to everyone below. A bulk insert of each kind for them all."""
    if not moved:
        return
    db.flush()  # the caller's changes go first, as when these were written one by one
    moment = now()
    steps, requests = _steps_and_requests(db, [e for e, _ in moved], [e for e, up in moved if up])
    bulk.insert_rows(
        db,
        EscalationStep,
        [
            {
                "escalation_id": e.id,
                "level": e.level,
                "person_id": by.id if by else None,
                "what": "climbed" if up else "reminded",
                "note": None,
                "at": moment,
            }
            for e, up in moved
        ],
    )
    trail.record_many(
        db,
        [
            (
                f"escalation.{'climbed' if up else 'reminded'}",
                _audit(db, e),
                {
                    "escalation_id": e.id,
                    "level": e.level,
                    "by_hand": by is not None,
                    "respond_by": e.respond_by.isoformat(),
                },
            )
            for e, up in moved
        ],
        actor=by,
    )
    messages = []
    for escalation, up in moved:
        round_ = steps[escalation.id] + 1  # with the step just written
        ctx = context(db, escalation)
        closed = ctx | {"came": "closed", "by": None}
        messages += [
            outbox.message(f"{key}:closed:{round_}", to, "escalation_request", closed, urgent=urgent, updates_key=key)
            for key, to, urgent in requests.get(escalation.id, ())
        ]
        came = "escalated_now" if by else ("climbed" if up else "reminded")
        asked, requested = _requests(db, escalation, ctx | {"came": came, "by": by.name if by else None}, round_)
        messages += requested
        if up:
            messages += _notices(db, escalation, ctx, "climbed", escalation.level, round_, skip=asked)
    outbox.enqueue_many(db, messages)


def _steps_and_requests(
    db: Session, escalations: list[Escalation], retiring: list[Escalation]
) -> tuple[dict[int, int], dict[int, list[tuple[str, str, bool]]]]:
    """The steps logged so far for each escalation, and for each of `retiring` the requests sent to date (key,
    recipient, urgent), in the order sent. A request's key is made of a round (a step count) and one of those asked,
    who are in the chain or have a step of their own (who acknowledged it): its keys can be listed and looked up."""
    counts = dict.fromkeys((e.id for e in escalations), 0)
    people: dict[int, set[int]] = {e.id: {entry["person_id"] for entry in e.chain} for e in escalations}
    ids = sorted(counts)
    for start in range(0, len(ids), reads.CHUNK):
        for escalation_id, person_id in db.execute(
            select(EscalationStep.escalation_id, EscalationStep.person_id).where(
                EscalationStep.escalation_id.in_(ids[start : start + reads.CHUNK])
            )
        ):
            counts[escalation_id] += 1
            if person_id is not None:
                people[escalation_id].add(person_id)
    keys = [
        _ask_key(e, round_, person_id)
        for e in retiring
        for round_ in range(1, counts[e.id] + 1)
        for person_id in sorted(people[e.id])
    ]
    found = []
    for start in range(0, len(keys), reads.CHUNK):
        found += db.execute(
            select(OutboxMessage.id, OutboxMessage.key, OutboxMessage.recipient, OutboxMessage.urgent).where(
                OutboxMessage.key.in_(keys[start : start + reads.CHUNK])
            )
        ).all()
    requests: dict[int, list[tuple[str, str, bool]]] = {}
    for row in sorted(found):
        requests.setdefault(int(row.key.split(":")[1]), []).append((row.key, row.recipient, row.urgent))
    return counts, requests


def _remind(db: Session, cal: Calendar, settings: Settings, escalation: Escalation) -> None:
    """An acknowledged escalation with nothing recorded by its deadline: whoever acknowledged it is reminded, once,
    with a fresh window; the next time it climbs."""
    moment = now()
    escalation.respond_by = POLICIES[escalation.policy].window(cal, settings, escalation, moment)
    db.add(EscalationStep(escalation_id=escalation.id, level=escalation.level, what="reminded", at=moment))
    db.flush()
    trail.record(
        db,
        "escalation.reminded",
        subject=_audit(db, escalation),
        escalation_id=escalation.id,
        level=escalation.level,
        by_hand=False,
        respond_by=escalation.respond_by.isoformat(),
    )
    _ask(db, settings, escalation, came="reminded")


def _since_acknowledged(db: Session, escalation: Escalation) -> list[str]:
    """The steps taken since the escalation was acknowledged: its reminder, then its climbs."""
    acknowledged = safeguarding.acknowledgement(db, escalation)
    if acknowledged is None:
        return []
    return list(
        db.scalars(
            select(EscalationStep.what)
            .where(EscalationStep.escalation_id == escalation.id, EscalationStep.id > acknowledged.id)
            .order_by(EscalationStep.id)
        )
    )


# ----- what people see ----------------------------------------------------------------------------------------------


def _subject(db: Session, escalation: Escalation) -> Any:
    return db.get(POLICIES[escalation.policy].subject, escalation.subject_id)


def _audit(db: Session, escalation: Escalation) -> Audit:
    return POLICIES[escalation.policy].audit_of(db, _subject(db, escalation))


def _current(escalation: Escalation) -> dict[str, Any] | None:
    return next((e for e in escalation.chain if e["level"] == escalation.level), None)


def _asked(db: Session, escalation: Escalation) -> list[Person]:
    """Whose decision it waits on: the person at the current level. An acknowledged escalation waits on whoever
    acknowledged it, and, once it has climbed past their reminder, on the people at the level it has reached too.
    An unacknowledged alert waits on an acknowledgement, not a decision: nobody."""
    at_level = [db.get(Person, e["person_id"]) for e in escalation.chain if e["level"] == escalation.level]
    if escalation.status == "pending":
        return [] if POLICIES[escalation.policy].alert else at_level[:1]
    acknowledged = safeguarding.acknowledgement(db, escalation)
    people = [db.get(Person, acknowledged.person_id)] if acknowledged else []
    if len(_since_acknowledged(db, escalation)) > 1:
        people += at_level
    return [p for i, p in enumerate(people) if p is not None and p not in people[:i]]


def _round(db: Session, escalation: Escalation) -> int:
    return len(db.scalars(select(EscalationStep.id).where(EscalationStep.escalation_id == escalation.id)).all())


def _ask_key(escalation: Escalation, round_: int, person_id: int) -> str:
    return f"escalation:{escalation.id}:ask:{round_}:{person_id}"


def context(db: Session, escalation: Escalation) -> dict[str, Any]:
    """What every message of an escalation shows: what drifted, by how long, who is being asked, the deadline."""
    policy = POLICIES[escalation.policy]
    subject = _subject(db, escalation)
    audit = policy.audit_of(db, subject)
    current = _current(escalation)
    asked = db.get(Person, current["person_id"]) if current else None
    decided_by = db.get(Person, escalation.decided_by_id) if escalation.decided_by_id else None
    ctx: dict[str, Any] = {
        "escalation_id": escalation.id,
        "policy": escalation.policy,
        "qa_ref": audit.qa_ref,
        "due": policy.due(subject) if policy.due else escalation.started_at,
        "role": current["role"] if current else None,
        "asked": asked.name if asked else None,
        "respond_by": escalation.respond_by,
        "status": escalation.status,
        "decision": escalation.decision,
        "decided_by": decided_by.name if decided_by else None,
        "decided_at": escalation.decided_at,
        "top": escalation.level >= _top(escalation),
        "yours": False,
    }
    if escalation.policy == "overdue_action":
        owner = db.get(Person, subject.owner_id)
        ctx |= {"what": subject.description, "owner": owner.name if owner else None}
    elif escalation.policy == "overdue_pathway_step":
        ctx |= {"what": None, "owner": subject.kind}
    elif escalation.policy == "overdue_loop_check":
        ctx |= {"what": subject.theme.title, "owner": subject.theme.sponsor.name, "stage": subject.stage}
    elif escalation.policy == safeguarding.POLICY:
        acknowledged = safeguarding.acknowledgement(db, escalation)
        by = db.get(Person, acknowledged.person_id) if acknowledged else None
        ctx |= {"what": None, "owner": by.name if by else None, "acknowledged_at": acknowledged and acknowledged.at}
    else:
        moderator = db.get(Person, subject.moderator_id) if subject.moderator_id else None
        ctx |= {"what": None, "owner": moderator.name if moderator else None}
    return ctx


def _ask(db: Session, settings: Settings, escalation: Escalation, came: str, by: Person | None = None) -> set[int]:
    """The request, with its buttons, to each person whose decision it waits on. Returns their ids."""
    ctx = context(db, escalation) | {"came": came, "by": by.name if by else None}
    asked, messages = _requests(db, escalation, ctx, _round(db, escalation))
    outbox.enqueue_many(db, messages)
    return asked


def _requests(
    db: Session, escalation: Escalation, ctx: dict[str, Any], round_: int
) -> tuple[set[int], list[dict[str, Any]]]:
    asked, messages = set(), []
    for person in _asked(db, escalation):
        if person.active and person.slack_user_id:
            asked.add(person.id)
            key = _ask_key(escalation, round_, person.id)
            messages.append(outbox.message(key, person.slack_user_id, "escalation_request", ctx))
    return asked, messages


def _notify_involved(
    db: Session,
    escalation: Escalation,
    what: str,
    below: int,
    *,
    decider: Person | None = None,
    note: str | None = None,
    new_date: datetime | None = None,
    skip: set[int] = frozenset(),
) -> None:
    """Everyone asked (or alerted) at a lower level hears where it went (once per step). Its start and a decision
    also go to whoever the subject is waiting on (the action's owner, the moderator), but not to the decider, nor
    to those just asked: their own messages say so."""
    told = set(skip) | ({decider.id} if decider else set())
    ctx = context(db, escalation)
    step = _round(db, escalation)
    outbox.enqueue_many(db, _notices(db, escalation, ctx, what, below, step, told, note=note, new_date=new_date))


def _notices(
    db: Session,
    escalation: Escalation,
    ctx: dict[str, Any],
    what: str,
    below: int,
    step: int,
    skip: set[int],
    note: str | None = None,
    new_date: datetime | None = None,
) -> list[dict[str, Any]]:
    ctx = ctx | {"what_happened": what, "note": note, "new_date": new_date}
    people = [db.get(Person, entry["person_id"]) for entry in escalation.chain if entry["level"] < below]
    waiting_on = POLICIES[escalation.policy].waiting_on
    theirs = set()
    if what in ("started", "resolved", "extended") and waiting_on:
        theirs = {p.id for p in waiting_on(db, _subject(db, escalation)) if p}
        people += [db.get(Person, person_id) for person_id in sorted(theirs)]
    told, messages = set(skip), []
    for person in people:
        if person and person.id not in told and person.slack_user_id:
            told.add(person.id)
            messages.append(
                outbox.message(
                    f"escalation:{escalation.id}:notice:{step}:{person.id}",
                    person.slack_user_id,
                    "escalation_notice",
                    ctx | {"yours": person.id in theirs},
                )
            )
    return messages


def _tell_qa(db: Session, settings: Settings, escalation: Escalation, audit: Audit, kind: str) -> None:
    if settings.qa_channel:
        outbox.enqueue(
            db,
            f"escalation:{escalation.id}:qa:{kind}",
            settings.qa_channel,
            "escalation_qa",
            {"kind": kind, "qa_ref": audit.qa_ref, "policy": escalation.policy},
        )


# ----- decisions ----------------------------------------------------------------------------------------------------


def _decider(db: Session, escalation_id: int, slack_user_id: str, action: str) -> tuple[Person, Escalation] | Outcome:
    """The person and escalation when `slack_user_id` may decide it now: one of those it waits on (`_asked`), their
    recorded delegate, or a QA admin. Anyone else is refused, and the attempt is on the trail; so is a decision the
    policy does not offer, or one on a safeguarding alert nobody has acknowledged yet."""
    person = by_slack_id(db, slack_user_id)
    escalation = db.get(Escalation, escalation_id)
    policy = POLICIES.get(escalation.policy) if escalation else None
    if person is None or policy is None or action.removeprefix("escalation_") not in policy.decisions:
        trail.record(
            db, f"refused.{action}", actor_slack_id=slack_user_id, reason="unknown", escalation_id=escalation_id
        )
        return refused("unknown")
    audit = _audit(db, escalation)
    if escalation.status not in OPEN:
        return _already(db, escalation, audit)
    if escalation.status == "pending" and policy.alert is not None:
        trail.record(
            db, f"refused.{action}", actor=person, subject=audit, reason="not acknowledged", escalation_id=escalation.id
        )
        return refused("safeguarding_not_acknowledged", qa_ref=audit.qa_ref)
    holders = _asked(db, escalation)
    allowed = any(person.id in (holder.id, holder.delegate_id) for holder in holders)
    if not allowed and not person.roles & QA_ADMINS:
        trail.record(
            db,
            f"refused.{action}",
            actor=person,
            subject=audit,
            reason="not at the current level",
            escalation_id=escalation.id,
        )
        names = ", ".join(holder.name for holder in holders) or "nobody"
        return refused("escalation_not_yours", qa_ref=audit.qa_ref, holder=names)
    return person, escalation


def _already(db: Session, escalation: Escalation, audit: Audit) -> Outcome:
    decided_by = db.get(Person, escalation.decided_by_id) if escalation.decided_by_id else None
    return refused(
        "escalation_decided",
        qa_ref=audit.qa_ref,
        decision=escalation.decision,
        by=decided_by.name if decided_by else None,
        at=escalation.decided_at,
    )


def form_context(db: Session, escalation_id: int, slack_user_id: str, action: str) -> Outcome:
    """What the Resolve or Extend form shows."""
    found = _decider(db, escalation_id, slack_user_id, action)
    if isinstance(found, Outcome):
        return found
    _, escalation = found
    return Outcome(ok=True, detail=context(db, escalation) | {"form": action.removeprefix("escalation_")})


def resolve(
    db: Session, cal: Calendar, settings: Settings, escalation_id: int, slack_user_id: str, note: str | None
) -> Outcome:
    found = _decider(db, escalation_id, slack_user_id, "escalation_resolve")
    if isinstance(found, Outcome):
        return found
    person, escalation = found
    note = (note or "").strip()
    if not note:
        return refused("escalation_note_needed", field="note")
    if len(note) > NOTE_LIMIT:
        return refused("escalation_note_too_long", field="note", limit=NOTE_LIMIT)
    if problem := guard.check(db, {"note": note}):
        return problem
    return _close(db, settings, escalation, person, "resolved", note)


def extend(
    db: Session,
    cal: Calendar,
    settings: Settings,
    escalation_id: int,
    slack_user_id: str,
    to: date | None,
    reason: str | None,
) -> Outcome:
    """A new date for the subject (the action's due date, the moderation's deadline), with a reason: the escalation
    closes, and starts again should that date drift too."""
    found = _decider(db, escalation_id, slack_user_id, "escalation_extend")
    if isinstance(found, Outcome):
        return found
    person, escalation = found
    reason = (reason or "").strip()
    errors = {}
    if problem := cal.new_date_problem(to, EXTEND_AT_MOST):
        errors["to"] = f"escalation_{problem}"
    if not reason:
        errors["reason"] = "escalation_reason_needed"
    if errors:
        return refused("action_errors", errors=errors, limit=EXTEND_AT_MOST)
    if problem := guard.check(db, {"reason": reason}):
        return problem
    outcome = _close(db, settings, escalation, person, "extended", reason, new_date=cal.at(to, cal.end))
    if outcome.ok:
        subject = _subject(db, escalation)
        POLICIES[escalation.policy].extend(subject, cal.at(to, cal.end))
        if isinstance(subject, Action):  # its reminders follow the new date
            digests.schedule_action(cal, settings, subject)
        elif isinstance(subject, LoopCheck):
            thematic.reschedule(cal, settings, subject)
    return outcome


def escalate_now(db: Session, cal: Calendar, settings: Settings, escalation_id: int, slack_user_id: str) -> Outcome:
    found = _decider(db, escalation_id, slack_user_id, "escalation_escalate")
    if isinstance(found, Outcome):
        return found
    person, escalation = found
    audit = _audit(db, escalation)
    if escalation.level >= _top(escalation):
        return refused("escalation_at_top", qa_ref=audit.qa_ref)
    # One conditional UPDATE moves the level: of two clicks only one climbs it.
    won = db.execute(
        update(Escalation)
        .where(Escalation.id == escalation.id, Escalation.status == "pending", Escalation.level == escalation.level)
        .values(level=escalation.level + 1)
    ).rowcount
    db.refresh(escalation)
    if not won:
        return _already(db, escalation, audit)
    _climb(db, cal, settings, escalation, by=person, claimed=True)
    return DONE


def _close(
    db: Session,
    settings: Settings,
    escalation: Escalation,
    person: Person | None,
    decision: str,
    note: str | None,
    new_date: datetime | None = None,
) -> Outcome:
    moment = now()
    won = db.execute(
        update(Escalation)
        .where(Escalation.id == escalation.id, Escalation.status.in_(OPEN))
        .values(status=decision, decision=decision, decided_by_id=person.id if person else None, decided_at=moment)
    ).rowcount
    db.refresh(escalation)
    policy = POLICIES[escalation.policy]
    audit = _audit(db, escalation)
    if not won:
        return _already(db, escalation, audit)
    db.add(
        EscalationStep(
            escalation_id=escalation.id,
            level=escalation.level,
            person_id=person.id if person else None,
            what=decision,
            note=note,
            at=moment,
        )
    )
    trail.record(
        db,
        f"escalation.{decision}",
        actor=person,
        subject=audit,
        escalation_id=escalation.id,
        level=escalation.level,
        new_date=new_date.isoformat() if new_date else None,
    )
    _retire_buttons(db, escalation)
    if policy.closed is not None:
        policy.closed(db, escalation)  # its own messages, updated in place, say so: no notices besides
    elif person is not None or decision == "settled":
        _notify_involved(
            db, escalation, decision, below=escalation.level + 1, decider=person, note=note, new_date=new_date
        )
    return DONE


def _retire_buttons(db: Session, escalation: Escalation) -> None:
    """Every request of this escalation sent so far is updated in place: its buttons go."""
    done = context(db, escalation)
    prefix = f"escalation:{escalation.id}:ask:"
    keys = db.scalars(select(OutboxMessage.key).where(OutboxMessage.key.like(f"{prefix}%"))).all()
    for key in keys:
        if key.count(":") == 4:  # the requests themselves, not earlier updates of them
            outbox.enqueue_update(
                db,
                f"{key}:closed:{_round(db, escalation)}",
                key,
                "escalation_request",
                done | {"came": "closed", "by": None},
            )


# ----- the watchdog -------------------------------------------------------------------------------------------------


def watchdog(db: Session, cal: Calendar, settings: Settings) -> int:
    """Report, once each, escalations whose window passed more than an hour ago without the sweep acting
    on them (the sweep moves `respond_by` on whenever it acts): the clock has stopped or the sweep is failing."""
    moment = now()
    stale = db.scalars(
        select(Escalation).where(
            Escalation.status.in_(OPEN),
            Escalation.policy.in_(POLICIES),
            Escalation.respond_by <= moment - STUCK_AFTER,
            Escalation.overdue_reported_at.is_(None),
        )
    ).all()
    for escalation in stale:
        escalation.overdue_reported_at = moment
        audit = _audit(db, escalation)
        trail.record(
            db,
            "escalation.watchdog",
            subject=audit,
            escalation_id=escalation.id,
            respond_by=escalation.respond_by.isoformat(),
        )
        _tell_qa(db, settings, escalation, audit, "stuck")
    return len(stale)
