"""Choosing an auditor: never in the practitioner's team or line, least loaded first, up to a monthly maximum."""

from __future__ import annotations

import random
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.workflow.directory import line_chain
from store import writes
from store.models import Audit, Case, Person, PersonRole

CLOSED = ("declined", "cancelled")


def available(db: Session, seed: int) -> list[Person]:
    """Active auditors in an order fixed by `seed`, so ties between equally loaded auditors are reproducible."""
    auditors = list(
        db.scalars(
            select(Person)
            .join(PersonRole)
            .where(PersonRole.role == "auditor", Person.active.is_(True))
            .order_by(Person.id)
        )
    )
    random.Random(seed).shuffle(auditors)
    return auditors


def monthly_load(db: Session, month: str) -> defaultdict[int, int]:
    """Open audits a month per auditor. Whoever reads them to allocate holds the month's allocations until their
    transaction ends, so two allocations at once cannot both give the last place under an auditor's maximum."""
    writes.one_at_a_time(db, "allocation", month)
    load: defaultdict[int, int] = defaultdict(int)
    counted = db.execute(
        select(Audit.auditor_id, func.count())
        .where(Audit.month == month, Audit.status.not_in(CLOSED))
        .group_by(Audit.auditor_id)
    )
    load.update(dict(counted.all()))
    return load


def independent(auditor: Person, practitioner: Person, case: Case) -> bool:
    """An auditor never audits a case in their own team or line-management line."""
    return conflict(auditor, practitioner, case) is None


def conflict(auditor: Person, practitioner: Person | None, case: Case) -> str | None:
    """Which independence rule `auditor` breaks for this case (None: none), in words for the QA team."""
    if practitioner is not None and auditor.id == practitioner.id:
        return "is the case's practitioner"
    if auditor.team_id is not None and auditor.team_id in (
        practitioner.team_id if practitioner else None,
        case.team_id,
    ):
        return "is in the practitioner's team"
    if practitioner is not None and auditor in line_chain(practitioner):
        return "is in the practitioner's line management"
    if practitioner is not None and practitioner in line_chain(auditor):
        return "is managed by the practitioner"
    return None


def pick(
    auditors: list[Person],
    load: defaultdict[int, int],
    practitioner: Person,
    case: Case,
    maximum: int,
    exclude: set[int] = frozenset(),
) -> Person | None:
    """The least-loaded independent auditor with capacity (counted into `load`), or None."""
    eligible = [
        a for a in auditors if a.id not in exclude and independent(a, practitioner, case) and load[a.id] < maximum
    ]
    if not eligible:
        return None
    auditor = min(eligible, key=lambda a: load[a.id])
    load[auditor.id] += 1
    return auditor
