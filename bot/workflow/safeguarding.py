"""An immediate safeguarding concern, raised by the auditor in the audit form (collaborative audit, step 4).

At once, whatever the hour: an alert with no case content — who must act, on which QA reference, now — to the
practitioner's team manager, service manager and head of service, every AD Safeguarding, Quality & Practice, and
the QA team channel. Each person acknowledges with a button. If nobody has acknowledged within 2 working hours,
everyone involved is alerted again and the alert goes up a level (the assistant director, then the Executive
Director); at the top it keeps re-alerting every 2 working hours until someone acknowledges.

This is the "safeguarding" policy of the escalation engine (bot/workflow/escalation.py), whose sweep is its clock:
this module raises the concern, supplies the policy's window (`window`), announces each climb by an alert round
(`alert`), takes the acknowledgement and, when the concern is resolved, updates its messages (`closed`).
Acknowledging is not resolving: the acknowledged concern stays open (status "acknowledged"), and the one who
acknowledged it gets a Resolve button on their alert, to say what was done within
`safeguarding_resolve_within_days`; the engine reminds, climbs and resolves it as it does any escalation.

The people are frozen on the escalation row when the concern is raised: `chain` holds one entry per person,
`{"level", "role", "person_id", "window_hours"}` (plus `"covering_for"` for a delegate). Each round of alerts
is an EscalationStep marker — "raised" (person: who raised it), then "escalated" or "repeated" — followed by
one step per person alerted, so round n's messages have the outbox keys `safeguarding:<id>:<n>:<person id>`
and `safeguarding:<id>:<n>:channel`, and every one of them can be found again to be updated in place.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import outbox
from bot.calendar import Calendar, now
from bot.config import Settings
from bot.workflow import trail
from bot.workflow.audit_people import in_line
from bot.workflow.directory import by_slack_id, everyone_with
from bot.workflow.outcome import DONE, Outcome, refused
from store.models import Audit, Escalation, EscalationStep, Person

log = logging.getLogger("qabot.safeguarding")

POLICY = "safeguarding"
WINDOW_HOURS = 2
# Who is alerted, level by level; a level with nobody in it is skipped and the next closes up.
LEVELS = (
    ("team_manager", "service_manager", "head_of_service", "ad_safeguarding"),
    ("assistant_director",),
    ("executive_director",),
)
ROUND_STEPS = ("raised", "escalated", "repeated")


# --- raising --------------------------------------------------------------------------------------------------


def raise_concern(db: Session, cal: Calendar, settings: Settings, audit: Audit, by: Person) -> Escalation:
    """Alert the chain at once (urgent: quiet hours do not apply). Once per audit: a retried submission gets
    back the escalation already running, and nobody is alerted twice."""
    # Concurrent submissions for one audit queue here (SQLite: the write lock taken at BEGIN).
    db.execute(select(Audit.id).where(Audit.id == audit.id).with_for_update())
    existing = concern_for(db, audit)
    if existing is not None:
        return existing

    moment = now()
    chain, skipped = _freeze_chain(db, audit, by)
    escalation = Escalation(
        policy=POLICY,
        subject_type=Audit.__tablename__,
        subject_id=audit.id,
        chain=chain,
        level=0,
        status="pending",
        started_at=moment,
        respond_by=window(cal, settings, None, moment),
    )
    db.add(escalation)
    audit.immediate_concern = True
    db.flush()
    trail.record(
        db,
        "safeguarding.raised",
        actor=by,
        subject=audit,
        escalation_id=escalation.id,
        alerted=[{"role": e["role"], "person_id": e["person_id"]} for e in chain if e["level"] == 0],
        not_found=skipped,
        respond_by=escalation.respond_by.isoformat(),
    )
    if not chain and not settings.qa_channel:
        log.error("safeguarding concern on %s reached nobody: no one to alert and no QA channel set", audit.qa_ref)
    _alert_round(db, settings, escalation, audit, by, round_=0, what="raised")
    return escalation


def concern_for(db: Session, audit: Audit) -> Escalation | None:
    """The safeguarding escalation raised on this audit, if there is one."""
    return db.scalar(
        select(Escalation)
        .where(
            Escalation.policy == POLICY,
            Escalation.subject_type == Audit.__tablename__,
            Escalation.subject_id == audit.id,
        )
        .order_by(Escalation.id)
        .limit(1)
    )


def _freeze_chain(db: Session, audit: Audit, raised_by: Person) -> tuple[list[dict[str, Any]], list[str]]:
    """The people to alert, level by level, resolved now from the practitioner's line. Roles nobody fills (or
    filled by someone who has left or has no Slack account) are returned for the trail; empty levels close up.
    A person's delegate (acting up, leave cover) is alerted alongside them. Whoever raised the concern is not
    alerted about it (say an AD Safeguarding who audits): someone else must acknowledge it."""

    def resolve(role: str) -> list[Person]:
        if role == "ad_safeguarding":
            return everyone_with(db, role)
        found = in_line(audit, role)
        if found is None and role == "executive_director":
            return everyone_with(db, role)  # one for the council, whether or not the line reaches them
        return [found] if found is not None else []

    def reachable(person: Person | None) -> bool:
        return person is not None and person.active and bool(person.slack_user_id)

    chain: list[dict[str, Any]] = []
    skipped: list[str] = []
    seen: set[int] = {raised_by.id}
    for roles in LEVELS:
        level = len({e["level"] for e in chain})
        for role in roles:
            people = [p for p in resolve(role) if reachable(p)]
            if not people:
                skipped.append(role)
            for person in people:
                delegate = db.get(Person, person.delegate_id) if person.delegate_id else None
                for who, covering in ((person, None), (delegate, person.id)):
                    if not reachable(who) or who.id in seen:
                        continue
                    seen.add(who.id)
                    entry = {"level": level, "role": role, "person_id": who.id, "window_hours": WINDOW_HOURS}
                    chain.append(entry | ({"covering_for": covering} if covering else {}))
    return chain, skipped


# --- alerting -------------------------------------------------------------------------------------------------


def _alert_round(
    db: Session,
    settings: Settings,
    escalation: Escalation,
    audit: Audit,
    raised_by: Person | None,
    *,
    round_: int,
    what: str,
) -> None:
    """One round: a marker step, then an urgent DM to everyone alerted so far — the alert to those new at this
    level, "still not acknowledged" to the rest — and a post to the QA channel."""
    moment = now()
    level = escalation.level
    db.add(
        EscalationStep(
            escalation_id=escalation.id,
            level=level,
            person_id=raised_by.id if what == "raised" and raised_by else None,
            what=what,
            at=moment,
        )
    )
    involved = _involved(escalation.chain, level)
    people = _people(db, (e["person_id"] for e in involved))
    newcomers = {e["person_id"] for e in involved if e["level"] == level} if what != "repeated" else set()
    common = {
        "qa_ref": audit.qa_ref,
        "escalation_id": escalation.id,
        "raised_by": raised_by.name if raised_by else "the auditor",
        "raised_at": escalation.started_at,
        "respond_by": escalation.respond_by,
        "top": level >= _top_level(escalation.chain),
    }
    for entry in involved:
        person = people.get(entry["person_id"])
        if person is None or not person.active or not person.slack_user_id:
            continue  # left, or lost their Slack account, since the concern was raised
        first = entry["person_id"] in newcomers
        if first:
            template = "safeguarding_alert"
            ctx = common | {"alerted": _named(involved, people), "escalated": round_ > 0}
        else:
            template = "safeguarding_realert"
            ctx = common | {"newly_alerted": _named([e for e in involved if e["person_id"] in newcomers], people)}
        outbox.enqueue(db, _key(escalation.id, round_, person.id), person.slack_user_id, template, ctx, urgent=True)
        db.add(
            EscalationStep(
                escalation_id=escalation.id,
                level=entry["level"],
                person_id=person.id,
                what="alerted" if first else "realerted",
                at=moment,
            )
        )
    if settings.qa_channel:
        roles = list(dict.fromkeys(e["role"] for e in involved))
        outbox.enqueue(
            db,
            _key(escalation.id, round_, "channel"),
            settings.qa_channel,
            "safeguarding_channel",
            {
                "qa_ref": audit.qa_ref,
                "raised_by": common["raised_by"],
                "raised_at": escalation.started_at,
                "respond_by": escalation.respond_by,
                "top": common["top"],
                "alerted": [{"role": role} for role in roles],
                "still": round_ > 0,
            },
            urgent=True,
        )


def window(cal: Calendar, settings: Settings, escalation: Escalation | None, moment: datetime) -> datetime:
    """The next deadline as the engine moves the concern on at `moment`. Unacknowledged: 2 working hours, at a
    steady cadence from the deadline just passed (a sweep a minute late does not drift the next one), unless the
    sweep was down so long that it too has passed. Acknowledged: to the end of the working day
    `safeguarding_resolve_within_days` on, to say what was done."""
    if escalation is not None and escalation.status == "acknowledged":
        return _resolve_by(cal, settings, moment)
    if escalation is None:
        return cal.add_working_hours(moment, WINDOW_HOURS)
    following = cal.add_working_hours(escalation.respond_by, WINDOW_HOURS)
    return following if following > moment else cal.add_working_hours(moment, WINDOW_HOURS)


def alert(db: Session, settings: Settings, escalation: Escalation, up: bool) -> None:
    """How the engine's climb of a concern nobody has acknowledged is announced: the new level alerted, all earlier
    ones told it is still not acknowledged (`up`); at the top, everyone alerted again. It never goes silent."""
    audit = db.get(Audit, escalation.subject_id)
    markers = _rounds(db, escalation.id)
    raised_by = db.get(Person, markers[0].person_id) if markers and markers[0].person_id else None
    trail.record(
        db,
        "safeguarding.escalated" if up else "safeguarding.realerted",
        subject=audit,
        escalation_id=escalation.id,
        level=escalation.level,
        round=len(markers),
        respond_by=escalation.respond_by.isoformat(),
    )
    _alert_round(
        db, settings, escalation, audit, raised_by, round_=len(markers), what="escalated" if up else "repeated"
    )


# --- acknowledging --------------------------------------------------------------------------------------------


def acknowledge(db: Session, cal: Calendar, settings: Settings, escalation_id: int, slack_user_id: str) -> Outcome:
    """Anyone alerted so far may acknowledge; one conditional UPDATE, so of two clicks one wins and the other is
    told who acknowledged and when. The alerts stop climbing, and every alert of this concern, and the QA channel
    post, then say so; the acknowledger's own alerts offer Resolve, due by the end of the working day
    `safeguarding_resolve_within_days` on."""
    person = by_slack_id(db, slack_user_id)
    escalation = db.get(Escalation, escalation_id)
    if escalation is None or escalation.policy != POLICY:
        trail.record(
            db,
            "refused.safeguarding_ack",
            actor=person,
            actor_slack_id=slack_user_id,
            reason="unknown safeguarding concern",
            escalation_id=escalation_id,
        )
        return refused("unknown")
    audit = db.get(Audit, escalation.subject_id)
    alerted = {e["person_id"] for e in _involved(escalation.chain, escalation.level)}
    if person is None or person.id not in alerted:
        trail.record(
            db,
            "refused.safeguarding_ack",
            actor=person,
            actor_slack_id=slack_user_id,
            subject=audit,
            reason="not alerted",
            escalation_id=escalation.id,
        )
        return refused("not_alerted", qa_ref=audit.qa_ref)

    moment = now()
    won = db.execute(
        update(Escalation)
        .where(Escalation.id == escalation.id, Escalation.status == "pending")
        .values(
            status="acknowledged",
            decision="acknowledged",
            decided_by_id=person.id,
            decided_at=moment,
            respond_by=_resolve_by(cal, settings, moment),
        )
    ).rowcount
    db.refresh(escalation)
    if not won:
        earlier = acknowledgement(db, escalation)
        winner = db.get(Person, earlier.person_id) if earlier else None
        return refused(
            "already_acknowledged",
            qa_ref=audit.qa_ref,
            by=winner.name if winner else "someone",
            at=earlier.at if earlier else None,
        )

    db.add(
        EscalationStep(
            escalation_id=escalation.id, level=escalation.level, person_id=person.id, what="acknowledged", at=moment
        )
    )
    trail.record(
        db,
        "safeguarding.acknowledged",
        actor=person,
        subject=audit,
        escalation_id=escalation.id,
        resolve_by=escalation.respond_by.isoformat(),
    )
    done = _done(db, escalation, audit, person, moment)
    for key, whom in _sent_keys(escalation, _rounds(db, escalation.id)):
        mine = {"resolve_by": escalation.respond_by} if whom == person.id else {}
        outbox.enqueue_update(db, f"{key}:acknowledged", key, "safeguarding_acknowledged", done | mine)
    return DONE


def acknowledgement(db: Session, escalation: Escalation) -> EscalationStep | None:
    """The step of who acknowledged the concern, and when; None while nobody has."""
    return db.scalar(
        select(EscalationStep)
        .where(EscalationStep.escalation_id == escalation.id, EscalationStep.what == "acknowledged")
        .order_by(EscalationStep.id)
        .limit(1)
    )


def closed(db: Session, escalation: Escalation) -> None:
    """Resolved (by the engine): every alert of the concern, and the QA channel post, say who acknowledged it and who
    resolved it; no button remains. What was done stays on the trail: an alert carries no case content."""
    audit = db.get(Audit, escalation.subject_id)
    earlier = acknowledgement(db, escalation)
    by = db.get(Person, earlier.person_id) if earlier else None
    resolver = db.get(Person, escalation.decided_by_id) if escalation.decided_by_id else None
    done = _done(db, escalation, audit, by, earlier.at if earlier else None) | {
        "resolved_by": resolver.name if resolver else "the QA team",
        "resolved_at": escalation.decided_at,
    }
    for key, _ in _sent_keys(escalation, _rounds(db, escalation.id)):
        outbox.enqueue_update(db, f"{key}:resolved", key, "safeguarding_acknowledged", done)


def _done(db: Session, escalation: Escalation, audit: Audit, by: Person | None, at: datetime | None) -> dict[str, Any]:
    markers = _rounds(db, escalation.id)
    raised_by = db.get(Person, markers[0].person_id) if markers and markers[0].person_id else None
    return {
        "qa_ref": audit.qa_ref,
        "by_name": by.name if by else "someone",
        "at": at,
        "raised_by": raised_by.name if raised_by else "the auditor",
        "raised_at": escalation.started_at,
        "escalation_id": escalation.id,
        "resolve_by": None,
        "resolved_by": None,
        "resolved_at": None,
    }


def _resolve_by(cal: Calendar, settings: Settings, moment: datetime) -> datetime:
    day = cal.add_working_days(cal.local(moment).date(), settings.framework.safeguarding_resolve_within_days)
    return cal.at(day, cal.end)


# --- helpers --------------------------------------------------------------------------------------------------


def _key(escalation_id: int, round_: int, whom: int | str) -> str:
    return f"safeguarding:{escalation_id}:{round_}:{whom}"


def _top_level(chain: list[dict[str, Any]]) -> int:
    return max((e["level"] for e in chain), default=0)


def _involved(chain: list[dict[str, Any]], level: int) -> list[dict[str, Any]]:
    return [e for e in chain if e["level"] <= level]


def _people(db: Session, ids: Iterable[int]) -> dict[int, Person]:
    wanted = set(ids)
    if not wanted:
        return {}
    return {p.id: p for p in db.scalars(select(Person).where(Person.id.in_(wanted)))}


def _named(entries: list[dict[str, Any]], people: dict[int, Person]) -> list[dict[str, Any]]:
    return [
        {"role": e["role"], "name": people[e["person_id"]].name, "covering": "covering_for" in e}
        for e in entries
        if e["person_id"] in people
    ]


def _rounds(db: Session, escalation_id: int) -> list[EscalationStep]:
    """The marker step of each round of alerts, oldest first: round n is the n-th."""
    return list(
        db.scalars(
            select(EscalationStep)
            .where(EscalationStep.escalation_id == escalation_id, EscalationStep.what.in_(ROUND_STEPS))
            .order_by(EscalationStep.id)
        )
    )


def _sent_keys(escalation: Escalation, markers: list[EscalationStep]) -> list[tuple[str, int | str]]:
    """The outbox key of every alert of this concern, and whom it went to: each round went to everyone up to that
    round's level, and to the QA channel. (A key never enqueued — say the channel was unset — is skipped by
    enqueue_update.)"""
    keys = []
    for round_, marker in enumerate(markers):
        for entry in _involved(escalation.chain, marker.level):
            keys.append((_key(escalation.id, round_, entry["person_id"]), entry["person_id"]))
        keys.append((_key(escalation.id, round_, "channel"), "channel"))
    return keys
