"""The staff directory: people, their roles, teams, services and line managers."""

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import ROLES, Person, PersonRole, Service, Team

# Who may do the QA team's work: its members and the QA Head of Service who leads it.
QA_TEAM = frozenset({"qa_team", "qa_head_of_service"})


def team_named(db: Session, name: str, service: str | None = None) -> Team:
    team = db.scalar(select(Team).where(Team.name == name))
    if team is None:
        team = Team(name=name)
        db.add(team)
    if service:
        team.service = db.scalar(select(Service).where(Service.name == service)) or Service(name=service)
    return team


def add_person(
    db: Session,
    *,
    name: str,
    email: str,
    roles: Iterable[str],
    slack_user_id: str | None = None,
    team: str | None = None,
    service: str | None = None,
    manager_email: str | None = None,
) -> Person:
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown role(s): {', '.join(sorted(unknown))}")
    person = Person(name=name, email=email.lower(), slack_user_id=slack_user_id, active=True)
    person.role_rows = [PersonRole(role=r) for r in sorted(set(roles))]
    if team:
        person.team = team_named(db, team, service)
    if manager_email:
        person.line_manager = by_email(db, manager_email)
        if person.line_manager is None:
            raise ValueError(f"unknown manager {manager_email}")
    db.add(person)
    db.flush()
    return person


def by_email(db: Session, email: str) -> Person | None:
    return db.scalar(select(Person).where(Person.email == email.lower()))


def by_slack_id(db: Session, slack_user_id: str) -> Person | None:
    return db.scalar(select(Person).where(Person.slack_user_id == slack_user_id, Person.active.is_(True)))


def everyone_with(db: Session, role: str) -> list[Person]:
    """Every active person holding `role`, by name."""
    return list(
        db.scalars(
            select(Person)
            .join(PersonRole, PersonRole.person_id == Person.id)
            .where(PersonRole.role == role, Person.active.is_(True))
            .order_by(Person.name, Person.id)
        )
    )


def line_chain(person: Person) -> list[Person]:
    """The person's managers, nearest first (TM, SM, HoS, AD, Executive Director)."""
    chain, seen, manager = [], {person.id}, person.line_manager
    while manager is not None and manager.id not in seen:
        chain.append(manager)
        seen.add(manager.id)
        manager = manager.line_manager
    return chain


def manager_with_role(person: Person, role: str) -> Person | None:
    return next((m for m in line_chain(person) if role in m.roles), None)


# --- Importing the staff directory (`qabot import-org staff.csv`) ---------------------------------------------

# slack_user_id and service may be left out: an absent Slack id is looked up by email, and a team keeps the
# service it has. The others may not: without them an import would strip everyone's team or line manager.
