"""Restricted records: only people granted access see more than the QA reference (DESIGN: Data protection).
Being on the audit is not access: its auditor is shown only the reference too, unless granted. Two things stay
with their authors: a practitioner still reads their own self-assessment, an auditor the family feedback they
recorded."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.calendar import now
from bot.workflow import trail
from bot.workflow.directory import by_email
from store.models import Case, CaseAccess, Person


class RestrictedError(ValueError):
    """The case or person named does not exist; the message says which."""


@dataclass(frozen=True)
class Restriction:
    changed: bool  # whether the record's restriction changed
    granted: list[str]  # emails newly granted access
    with_access: list[str]  # emails of everyone who has access now (granted ever, the restriction lifted or not)


def set_restricted(db: Session, case_ref: str, restricted: bool, grant: list[str], via: str) -> Restriction:
    """Mark a case-system record restricted (or not) and grant named people access to it."""
    case = db.scalar(select(Case).where(Case.case_ref == case_ref))
    if case is None:
        raise RestrictedError(f"no case {case_ref} has been imported")
    people = []
    for email in grant:
        person = by_email(db, email)
        if person is None or not person.active:
            raise RestrictedError(f"{email} is not an active person in the staff directory")
        people.append(person)
    changed = case.restricted != restricted
    if changed:
        case.restricted = restricted
        trail.record(db, "case.restricted" if restricted else "case.unrestricted", subject=case, via=via)
    granted = []
    for person in people:
        if db.get(CaseAccess, (case.id, person.id)) is None:
            db.add(CaseAccess(case_id=case.id, person_id=person.id, granted_at=now()))
            trail.record(db, "case.access_granted", subject=case, person_id=person.id, via=via)
            granted.append(person.email)
    db.flush()
    with_access = db.scalars(
        select(Person.email).join(CaseAccess, CaseAccess.person_id == Person.id).where(CaseAccess.case_id == case.id)
    )
    return Restriction(changed, granted, sorted(with_access))
