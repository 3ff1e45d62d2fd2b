"""A simulated month (January 2027) from the demo's world, as steps: the clock's ticks through every working day,
its deliveries in between, and what people do (the QA team allocates, an auditor accepts, actions are set, one is
done and signed off, one goes overdue and climbs the chain). Each step is what `qabot tick` or the clock runs, or one
workflow call, at its own moment; running a step twice does nothing the second time (a person does not press a
decided button twice: a step checks first), so a process killed in a step can run it again.

Used in-process by tests/test_delivery.py and step by step by tests/month_driver.py, the process it kills."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.calendar import clock_at, now
from bot.demo import seed
from bot.runtime import Runtime
from bot.sandbox.server import SlackStandIn
from bot.workflow import actions, allocation, allocation_run, digests
from bot.workflow.directory import add_person
from scheduler.jobs import tick
from store import Database
from store.models import Action, Audit, Case, CaseListEntry, Escalation, Event, OutboxMessage, Person

LONDON = ZoneInfo("Europe/London")
TICKS = (9, 12, 16)  # the clock runs every minute; three moments a day carry all the month's work
# Seconds after a tick: the clock's outbox job, retrying what failed and taking over a dead process's claims.
DRAINS = (30, 150, 600)


@dataclass(frozen=True)
class Step:
    at: datetime
    what: str  # "tick", "drain", or a person's step: "allocate", "accept", "actions", "done", "sign_off"


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


def steps() -> list[Step]:
    people = {
        _at(date(2027, 1, 4), 9, 30): "allocate",
        _at(date(2027, 1, 5), 11): "accept",
        _at(date(2027, 1, 5), 11, 5): "actions",
        _at(date(2027, 1, 7), 15): "accept_other",
        _at(date(2027, 1, 8), 10): "other_actions",
        _at(date(2027, 1, 13), 14, 30): "done",
        _at(date(2027, 1, 14), 10): "sign_off",
    }
    days = [date(2027, 1, 4) + timedelta(days=n) for n in range(29)]
    # Weekends: one tick, to show nothing goes to people then.
    moments = [(_at(day, hour), "tick") for day in days for hour in (TICKS if day.weekday() < 5 else (12,))]
    moments += list((at, what) for at, what in people.items())
    out = []
    for at, what in sorted(moments):
        out.append(Step(at, what))
        if what == "tick" and at.weekday() < 5:
            out += [Step(at + timedelta(seconds=s), "drain") for s in DRAINS]
    # The first of February: whatever is still queued goes (the clock keeps draining).
    out += [Step(_at(date(2027, 2, 1), 9) + timedelta(seconds=s), "drain") for s in (0, *DRAINS)]
    return out


def prepare(database: Database, standin: SlackStandIn) -> None:
    """The demo's directory and cases; above Helen the line goes on to Ada (AD) and Ed (Executive Director)."""
    seed(database, standin)
    with database.unit_of_work() as db:
        add_person(db, name="Ed Exec", email="ed@council.example", slack_user_id="U0ED", roles=["executive_director"])
        ada = add_person(
            db,
            name="Ada Director",
            email="ada@council.example",
            slack_user_id="U0ADA",
            roles=["assistant_director"],
            manager_email="ed@council.example",
        )
        db.scalar(select(Person).where(Person.slack_user_id == "U0HOS")).line_manager = ada
        add_person(db, name="Mo Derator", email="mo@council.example", slack_user_id="U0MOD", roles=["moderator"])
        # A second team, with its own cases, and an auditor inside Priya's team (who audits only the other team's).
        for name, slack_id, roles, team, manager in (
            ("Tess Teamlead", "U0TESS", ["team_manager"], "Children We Care For", "sara"),
            ("Cara Carer", "U0CARA", ["practitioner"], "Children We Care For", "tess"),
            ("Nina Nearby", "U0NINA", ["auditor"], "Family Support North", "tom"),
        ):
            email = f"{name.split()[0].lower()}@council.example"
            add_person(
                db,
                name=name,
                email=email,
                slack_user_id=slack_id,
                roles=roles,
                team=team,
                manager_email=f"{manager}@council.example",
            )
            standin.add_user(slack_id, email, name)
        cara = db.scalar(select(Person).where(Person.slack_user_id == "U0CARA"))
        for ref, category in (("200101", "CLA"), ("200102", "CP"), ("200103", "CIN")):
            case = Case(case_ref=ref, category=category, team=cara.team, worker=cara, month="2027-01")
            db.add(CaseListEntry(case=case, month="2027-01", category=category, team=cara.team, worker=cara))


def run(rt: Runtime, step: Step) -> None:
    with clock_at(step.at):
        if step.what == "tick":
            tick(rt, step.at)
        elif step.what == "drain":
            rt.dispatcher.drain()
        else:
            with rt.database.unit_of_work() as db:
                PEOPLE[step.what](db, rt)


def _allocate(db, rt: Runtime) -> None:
    if allocation_run.confirmed(db, "2027-01") is None:
        quinn = db.scalar(select(Person).where(Person.slack_user_id == "U0QA"))
        draft = allocation_run.draw(db, "2027-01", rt.settings.framework, seed=7, by=quinn)
        allocation_run.confirm(db, rt.calendar, rt.settings, draft, quinn, via="test")


def _first_audit(db, practitioner: str = "U0PRAC") -> Audit:
    """The first audit of Priya's cases (or of another practitioner's)."""
    person = db.scalar(select(Person).where(Person.slack_user_id == practitioner))
    return db.scalars(select(Audit).where(Audit.practitioner_id == person.id).order_by(Audit.id)).first()


def _accept(db, rt: Runtime) -> None:
    audit = _first_audit(db)
    if audit.status == "allocated":
        assert allocation.accept(db, rt.calendar, rt.settings, audit.id, audit.auditor.slack_user_id).ok


def _accept_other(db, rt: Runtime) -> None:
    """The other team's first audit is accepted late, after its auditor was reminded."""
    audit = _first_audit(db, "U0CARA")
    if audit.status == "allocated":
        assert allocation.accept(db, rt.calendar, rt.settings, audit.id, audit.auditor.slack_user_id).ok


def _set_actions(db, rt: Runtime, practitioner: str, dues: tuple[date, date]) -> None:
    """What the audit form leaves: two actions for the practitioner, due on the days given."""
    audit = _first_audit(db, practitioner)
    if db.scalar(select(func.count()).select_from(Action).where(Action.audit_id == audit.id)):
        return
    owner = db.scalar(select(Person).where(Person.slack_user_id == practitioner))
    made = []
    for due, text in zip(dues, ("Share the plan with the school.", "Book a review."), strict=True):
        action = Action(
            audit_id=audit.id,
            description=text,
            owner_id=owner.id,
            status="open",
            due_at=rt.calendar.at(due, rt.calendar.end),
            created_at=now(),
        )
        db.add(action)
        db.flush()
        digests.schedule_action(rt.calendar, rt.settings, action)
        made.append(action)
    audit.status = "in_progress"
    actions.announce(db, audit, audit.auditor, made)


def _actions(db, rt: Runtime) -> None:
    _set_actions(db, rt, "U0PRAC", (date(2027, 1, 12), date(2027, 1, 15)))


def _other_actions(db, rt: Runtime) -> None:
    """Cara's, both left open: they climb the chain too."""
    _set_actions(db, rt, "U0CARA", (date(2027, 1, 18), date(2027, 1, 20)))


def _second_action(db) -> Action:
    return db.scalars(select(Action).order_by(Action.id)).all()[1]


def _done(db, rt: Runtime) -> None:
    action = _second_action(db)
    if action.status == "open":
        assert actions.mark_done(db, rt.calendar, rt.settings, action.id, "U0PRAC", "Review booked.", None).ok


def _sign_off(db, rt: Runtime) -> None:
    action = _second_action(db)
    if action.status == "done":
        assert actions.sign_off(db, rt.calendar, rt.settings, action.id, "U0TM").ok


PEOPLE = {
    "allocate": _allocate,
    "accept": _accept,
    "accept_other": _accept_other,
    "other_actions": _other_actions,
    "actions": _actions,
    "done": _done,
    "sign_off": _sign_off,
}


def state(database: Database) -> dict[str, Any]:
    """What the month left in the store, to compare runs: every status, the trail's events by kind, the outbox."""
    with database.unit_of_work() as db:
        return {
            "audits": sorted((a.qa_ref, a.status, a.auditor_id) for a in db.scalars(select(Audit))),
            "actions": sorted((a.id, a.status, a.signed_off_at is not None) for a in db.scalars(select(Action))),
            "escalations": sorted(
                (e.policy, e.subject_type, e.subject_id, e.level, e.status, len(e.steps))
                for e in db.scalars(select(Escalation))
            ),
            "events": Counter(db.scalars(select(Event.kind))),
            "outbox": Counter(db.scalars(select(OutboxMessage.status))),
            "keys": sorted(db.scalars(select(OutboxMessage.key))),
        }


def queued_order(database: Database) -> dict[str, list[str]]:
    """Per recipient, the keys of the new messages (not updates, not safeguarding alerts) in the order queued."""
    with database.unit_of_work() as db:
        rows = db.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.updates_key.is_(None), OutboxMessage.urgent.is_(False))
            .order_by(OutboxMessage.id)
        )
        order: dict[str, list[str]] = {}
        for row in rows:
            order.setdefault(row.channel or row.recipient, []).append(row.key)
        return order


def posts(standin: SlackStandIn) -> Counter[str]:
    """How many times Slack carried out a post of each outbox key (read from the message metadata)."""
    return Counter(c.args["metadata"]["event_payload"]["key"] for c in standin.posted())


def slack_order(standin: SlackStandIn) -> dict[str, list[str]]:
    """Per conversation, the keys of the messages as they stand in Slack, oldest first."""
    order: dict[str, list[tuple[float, str]]] = {}
    for call in standin.posted():
        key = call.args["metadata"]["event_payload"]["key"]
        order.setdefault(call.response["channel"], []).append((float(call.response["ts"]), key))
    return {channel: [key for _, key in sorted(keyed)] for channel, keyed in order.items()}
