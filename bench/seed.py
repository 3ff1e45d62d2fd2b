"""A council at full size, straight into the store with bulk inserts: a directory of some 400 staff, `cases` cases on
twelve months' lists, twice as many audits over two years, `actions` SMART actions in mixed states (with the outbox
rows and events they would have left), and running escalations, arranged so that at `MOMENT` exactly `due` action
reminders are due and exactly `due` escalations are past their window — nothing else is due then.

The rows are shaped as the workflow writes them (the same models, states, keys and columns), but written with
SQLAlchemy core `insert(...)` in batches: seeding 100,000 actions one ORM object at a time would take minutes."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from store import Database
from store.models import (
    Action,
    Audit,
    Base,
    Case,
    CaseListEntry,
    Escalation,
    EscalationStep,
    Event,
    OutboxMessage,
    Person,
    PersonRole,
    Service,
    Team,
)

LONDON = ZoneInfo("Europe/London")
# A Wednesday in term time, after the 09:00 digest time: a working day in working hours.
MOMENT = datetime(2027, 3, 10, 10, 0, tzinfo=LONDON).astimezone(UTC)
BATCH = 5_000
LEVELS = ("service_manager", "head_of_service", "assistant_director", "executive_director")
TEAMS = 40
PRACTITIONERS_PER_TEAM = 8
AUDITORS = 30
ACTIONS_PER_AUDIT = 5
CATEGORIES = ("CIN", "CP", "CLA", "care_leaver", "s47", "assessment", "referral")
DESCRIPTIONS = (
    "Update the child's plan with the views the child gave at the last visit.",
    "Hold a core group meeting and record the actions agreed with the family.",
    "Complete the chronology and share it with the team manager.",
    "Refer the family to the parenting programme and record the outcome.",
    "Visit within 10 working days and see the child alone.",
)


@dataclass
class Seeded:
    """What the benchmarks need to find in the seeded store."""

    moment: datetime
    cases: int
    audits: int
    actions: int
    due: int
    # Slack ids of the two practitioners whose Home is rendered, with the number of open actions each owns.
    home: dict[int, str] = field(default_factory=dict)
    # Open actions, not due for anything at MOMENT, that the HTTP benchmark marks done and signs off:
    # (action id, owner's Slack id, team manager's Slack id).
    actionable: list[tuple[int, str, str]] = field(default_factory=list)


def _month(moment: datetime, back: int) -> str:
    year, month = moment.year, moment.month - back
    while month < 1:
        year, month = year - 1, month + 12
    return f"{year:04d}-{month:02d}"


def _insert(db: Session, model: type, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        db.execute(insert(model), rows[start : start + BATCH])


def seed(database: Database, *, cases: int, actions: int, due: int, home_items: tuple[int, int], spare: int) -> Seeded:
    """Fill an empty, migrated database. `spare` open actions are kept free of anything due, for the HTTP benchmark;
    `home_items` are the open actions of the two practitioners whose Home is rendered."""
    rng = random.Random(8)
    moment = MOMENT
    audits_wanted = max(actions // ACTIONS_PER_AUDIT, 1)
    with database.unit_of_work() as db:
        people, roles, teams, services = [], [], [], []
        pid = 0

        def person(name: str, role_names: list[str], team_id: int | None, manager: int | None) -> int:
            nonlocal pid
            pid += 1
            people.append(
                {
                    "id": pid,
                    "name": name,
                    "email": f"p{pid}@council.example",
                    "slack_user_id": f"U{pid:07d}",
                    "team_id": team_id,
                    "line_manager_id": manager,
                    "delegate_id": None,
                    "active": True,
                }
            )
            roles.extend({"person_id": pid, "role": r} for r in role_names)
            return pid

        for s in range(4):
            services.append({"id": s + 1, "name": f"Service {s + 1}"})
        teams.append({"id": 1, "name": "Service Leadership", "service_id": 1})
        teams.append({"id": 2, "name": "Quality Assurance", "service_id": 1})
        director = person("Eve Executive", ["executive_director"], 1, None)
        ads = [person(f"Ada Director {n}", ["assistant_director"], 1, director) for n in range(2)]
        heads = [person(f"Hal Head {n}", ["head_of_service"], 1, ads[n % 2]) for n in range(4)]
        sms = [person(f"Sam Service {n}", ["service_manager"], 1, heads[n % 4]) for n in range(10)]
        person("Quinn QA", ["qa_team"], 2, None)
        person("Quentin Quality", ["qa_head_of_service"], 2, None)
        auditors = [person(f"Auditor {n}", ["auditor"], 2, None) for n in range(AUDITORS)]
        for n in range(5):
            person(f"Moderator {n}", ["moderator"], 2, None)
        managers, practitioners = {}, {}
        for t in range(TEAMS):
            team_id = t + 3
            teams.append({"id": team_id, "name": f"Family Support {t + 1}", "service_id": t % 4 + 1})
            managers[team_id] = person(f"Teamlead {t + 1}", ["team_manager"], team_id, sms[t % 10])
            practitioners[team_id] = [
                person(f"Worker {t + 1}-{n + 1}", ["practitioner"], team_id, managers[team_id])
                for n in range(PRACTITIONERS_PER_TEAM)
            ]
        # The two practitioners whose Home is rendered: one with few items, one with many.
        home_people = {n: person(f"Home Owner {n}", ["practitioner"], 3, managers[3]) for n in home_items}
        _insert(db, Service, services)
        _insert(db, Team, teams)
        _insert(db, Person, people)
        _insert(db, PersonRole, roles)
        slack = {p["id"]: p["slack_user_id"] for p in people}
        manager_of = {p["id"]: p["line_manager_id"] for p in people}
        name = {p["id"]: p["name"] for p in people}

        # Cases on the last twelve months' lists, each as its latest list gives it.
        case_rows, entries, case_team = [], [], {}
        team_ids = sorted(practitioners)
        for c in range(1, cases + 1):
            team_id = team_ids[c % TEAMS]
            worker = practitioners[team_id][c // TEAMS % PRACTITIONERS_PER_TEAM]
            month = _month(moment, c % 12 + 1)
            details = {
                "category": CATEGORIES[c % len(CATEGORIES)],
                "team_id": team_id,
                "worker_id": worker,
                "team_name": f"Family Support {team_id - 2}",
                "worker_name": name[worker],
                "practice_dates": {"cin_start": f"{2026 - c % 3}-0{c % 9 + 1}-1{c % 10}"},
            }
            restricted = c % 97 == 0
            case_rows.append({"id": c, "case_ref": str(700000 + c), "restricted": restricted, "month": month} | details)
            entries.append({"id": c, "case_id": c, "month": month, **details})
            case_team[c] = (team_id, worker)
        _insert(db, Case, case_rows)
        _insert(db, CaseListEntry, entries)

        # Audits over two years: older ones moderated, this month's still in hand. The Home owners' audits are
        # this month's, in progress, theirs as practitioner.
        audit_rows, audit_events, outbox_rows = [], [], []
        home_audits: dict[int, list[int]] = {}
        first = 1
        for n in home_items:
            count = -(-n // ACTIONS_PER_AUDIT)
            home_audits[n] = list(range(first, first + count))
            first += count
        taken = {a: n for n, ids in home_audits.items() for a in ids}
        offset = len(taken)
        audit_count = audits_wanted + offset
        for a in range(1, audit_count + 1):
            case_id = (a - 1) % cases + 1
            team_id, worker = case_team[case_id]
            back = (a - 1) * 24 // audit_count  # months ago, oldest first... spread over two years
            month = _month(moment, 24 - back) if a not in taken else _month(moment, 0)
            allocated = datetime.fromisoformat(f"{month}-04T09:00:00+00:00")
            if a in taken:
                status = "in_progress"
            else:
                status = "moderated" if month < _month(moment, 1) else "awaiting_moderation"
            practitioner = home_people[taken[a]] if a in taken else worker
            audit_rows.append(
                {
                    "id": a,
                    "qa_ref": f"QA-{month}-{a:06d}",
                    "case_id": case_id,
                    "month": month,
                    "category": CATEGORIES[case_id % len(CATEGORIES)],
                    "kind": "collaborative",
                    "status": status,
                    "auditor_id": auditors[a % AUDITORS],
                    "practitioner_id": practitioner,
                    "team_manager_id": managers[team_id],
                    "allocated_at": allocated,
                    "accepted_at": allocated + timedelta(days=1),
                    "reminders_sent": 0,
                    "due_at": allocated + timedelta(days=25),
                    "meeting_attendees": [],
                    "draft": {},
                    "answers": {},
                    "immediate_concern": False,
                    "overall_grade": "Good" if status != "in_progress" else None,
                    "grades": {},
                    "submitted_at": allocated + timedelta(days=14) if status != "in_progress" else None,
                    "cycle": 0,
                }
            )
            audit_events.append(
                {"at": allocated, "kind": "audit.allocated", "subject_type": "audits", "subject_id": a, "detail": {}}
            )
            outbox_rows.append(_sent(f"allocation:{a}:request", slack[auditors[a % AUDITORS]], allocated))
        _insert(db, Audit, audit_rows)

        # Actions: five an audit. The Home owners' are open and far from due; elsewhere most are signed off,
        # some done and awaiting sign-off, some open. Exactly `due` open ones have a reminder due at MOMENT, and
        # `due` overdue ones an escalation past its window; every other overdue open action has a running one.
        action_rows, escalation_rows, steps = [], [], []
        audit_of = {}
        action_id = 0
        per_audit = [(row["id"], row) for row in audit_rows]
        overdue_wanted = due * 3  # a third past their window at MOMENT, the rest still inside it
        reminders_left, overdue_left, spare_left = due, overdue_wanted, spare
        home_left = {n: n for n in home_items}
        for audit_id, audit in per_audit:
            for k in range(ACTIONS_PER_AUDIT):
                if action_id >= actions:
                    break
                created = audit["submitted_at"] or audit["allocated_at"]
                owner = audit["practitioner_id"]
                row = {
                    "audit_id": audit_id,
                    "description": DESCRIPTIONS[k],
                    "owner_id": owner,
                    "created_at": created,
                    "extensions": 0,
                }
                if audit_id in taken:
                    n = taken[audit_id]
                    if not home_left[n]:
                        continue
                    home_left[n] -= 1
                    kind = "home"
                else:
                    roll = rng.random()
                    if reminders_left:
                        kind, reminders_left = "reminder", reminders_left - 1
                    elif overdue_left:
                        kind, overdue_left = "overdue", overdue_left - 1
                    elif spare_left:
                        kind, spare_left = "spare", spare_left - 1
                    else:
                        kind = "signed_off" if roll < 0.75 else "done" if roll < 0.85 else "open"
                action_id += 1
                row["id"] = action_id
                audit_of[action_id] = audit
                later = moment + timedelta(days=rng.randint(10, 25))
                if kind in ("home", "spare", "open"):
                    row |= {"status": "open", "due_at": later, "next_reminder_at": later - timedelta(days=2)}
                elif kind == "reminder":  # due in two days: the "due soon" reminder is due now
                    row |= {"status": "open", "due_at": moment + timedelta(days=2), "next_reminder_at": moment}
                elif kind == "overdue":
                    since = moment - timedelta(days=rng.randint(10, 40))
                    row |= {"status": "open", "due_at": since, "next_reminder_at": moment + timedelta(days=5)}
                    past = len(escalation_rows) < due
                    chain = _chain(manager_of, owner)
                    escalation_rows.append(_escalation(len(escalation_rows) + 1, action_id, chain, since, moment, past))
                    steps.append(
                        {
                            "escalation_id": len(escalation_rows),
                            "level": 0,
                            "what": "started",
                            "at": escalation_rows[-1]["started_at"],
                        }
                    )
                    # The person at level 0 (the Service Manager) was asked: their request is in the outbox.
                    outbox_rows.append(
                        _sent(
                            f"escalation:{len(escalation_rows)}:ask:1:{chain[0]['person_id']}",
                            slack[chain[0]["person_id"]],
                            escalation_rows[-1]["started_at"],
                        )
                    )
                elif kind == "done":
                    done_at = created + timedelta(days=rng.randint(1, 20))
                    row |= {
                        "status": "done",
                        "due_at": done_at + timedelta(days=3),
                        "done_at": done_at,
                        "done_by_id": owner,
                        "done_note": "Done and recorded.",
                        "next_reminder_at": moment + timedelta(days=rng.randint(1, 5)),
                    }
                else:
                    done_at = created + timedelta(days=rng.randint(1, 20))
                    row |= {
                        "status": "signed_off",
                        "due_at": done_at + timedelta(days=3),
                        "done_at": done_at,
                        "done_by_id": owner,
                        "done_note": "Done and recorded.",
                        "signed_off_at": done_at + timedelta(days=2),
                        "signed_off_by_id": audit["team_manager_id"],
                    }
                action_rows.append(row)
                outbox_rows.append(_sent(f"action:{action_id}:assigned", slack[owner], created))
                audit_events.append(
                    {
                        "at": created,
                        "kind": "action.set",
                        "subject_type": "audits",
                        "subject_id": audit_id,
                        "detail": {"action_id": action_id},
                    }
                )
        if reminders_left or overdue_left or any(home_left.values()):
            raise ValueError("too few actions for the reminders, escalations and Home items asked for")
        _insert(db, Action, action_rows)
        _insert(db, Escalation, escalation_rows)
        _insert(db, EscalationStep, steps)
        _insert(db, Event, audit_events)
        _insert(db, OutboxMessage, outbox_rows)
        if database.is_postgres:
            _advance_sequences(db)
        actionable = [
            (row["id"], slack[row["owner_id"]], slack[audit_of[row["id"]]["team_manager_id"]])
            for row in action_rows
            if row["status"] == "open"
            and row["due_at"] > moment
            and row["next_reminder_at"] > moment
            and audit_of[row["id"]]["id"] not in taken
        ]
        total = db.scalar(select(func.count()).select_from(Action))
    return Seeded(
        moment=moment,
        cases=cases,
        audits=len(audit_rows),
        actions=total,
        due=due,
        home={n: slack[home_people[n]] for n in home_items},
        actionable=actionable[:spare],
    )


def _sent(key: str, to: str, at: datetime) -> dict[str, Any]:
    """An outbox row as the dispatcher leaves it once Slack took it."""
    return {
        "key": key,
        "recipient": to,
        "template": "seeded",
        "context": {},
        "urgent": False,
        "status": "sent",
        "available_at": at,
        "attempts": 1,
        "created_at": at,
        "sent_at": at,
        "channel": "D0SEEDED",
        "ts": f"{int(at.timestamp())}.000100",
    }


def _escalation(
    eid: int, action_id: int, chain: list[dict[str, Any]], since: datetime, moment: datetime, past: bool
) -> dict[str, Any]:
    started = since + timedelta(days=7)
    return {
        "id": eid,
        "policy": "overdue_action",
        "subject_type": "actions",
        "subject_id": action_id,
        "chain": chain,
        "level": 0,
        "status": "pending",
        "started_at": started,
        "respond_by": moment - timedelta(hours=2) if past else moment + timedelta(days=2),
    }


def _chain(manager_of: dict[int, int | None], practitioner: int) -> list[dict[str, Any]]:
    """The chain frozen as the engine freezes it: the practitioner's Service Manager, Head of Service, Assistant
    Director and Executive Director (the line above their team manager)."""
    line, at = [], manager_of.get(manager_of.get(practitioner))
    while at is not None and len(line) < len(LEVELS):
        line.append(at)
        at = manager_of.get(at)
    return [{"level": n, "role": LEVELS[n], "person_id": p} for n, p in enumerate(line)]


def _advance_sequences(db: Session) -> None:
    """Rows were inserted with their ids: PostgreSQL's sequences must move past them."""
    for table in Base.metadata.sorted_tables:
        if "id" in table.c and table.c.id.autoincrement is not False and table.c.id.type.python_type is int:
            db.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
                )
            )
