"""`qabot import-org`: the staff directory from the council's CSV. All rows valid or nothing is imported;
people who leave the file are deactivated (never deleted) and their open work is listed for reallocation."""

import csv
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.workflow import trail
from bot.workflow.directory import team_named
from store.models import ROLES, Action, Audit, Moderation, Person, PersonRole

REQUIRED_COLUMNS = ("name", "email", "roles", "team", "manager_email")
# Work a leaver cannot finish, which the QA team must hand to someone else.
OPEN_AUDIT_STATUSES = ("allocated", "accepted", "in_progress")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,31}")


class DirectoryError(Exception):
    """The staff file cannot be read at all (not a CSV we understand)."""


@dataclass(frozen=True)
class RowProblem:
    row: int
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


class SlackUnavailable(Exception):
    """Slack could not be asked (the token is refused, or it cannot be reached): raised by a lookup, with why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class SlackLookups:
    """Slack ids found by email (None: Slack has nobody with that email), and whom Slack could not be asked about."""

    ids: dict[str, str | None] = field(default_factory=dict)
    not_asked: list[str] = field(default_factory=list)
    reason: str | None = None


class DirectoryInvalid(DirectoryError):
    """The file has problems; nothing was imported."""

    def __init__(self, problems: list[RowProblem]):
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"The staff file has {count}; nothing was imported. Fix the file and run it again.")

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


@dataclass(frozen=True)
class StaffRow:
    row: int
    name: str
    email: str
    slack_user_id: str | None
    roles: tuple[str, ...]
    team: str | None
    service: str | None
    manager_email: str | None
    # Optional: who covers this person's decisions (leave, acting up).
    delegate_email: str | None = None


@dataclass
class OrgImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    reactivated: int = 0
    unreachable: list[str] = field(default_factory=list)
    # People whose Slack id could not be looked up because Slack did not answer, and why.
    not_looked_up: list[str] = field(default_factory=list)
    lookup_failure: str | None = None
    # Every person deactivated by this import, with what they still had open ("audit QA-2027-01-001").
    open_work: dict[str, list[str]] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.deactivated or self.reactivated)

    def counts(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("added", "updated", "unchanged", "deactivated", "reactivated")}

    def lines(self) -> list[str]:
        in_file = self.added + self.updated + self.unchanged + self.reactivated
        if not self.changed:
            lines = [f"No changes: the directory already matches the file ({_people(in_file)})."]
        else:
            done = [f"{n} {k}" for k, n in self.counts().items() if n and k != "deactivated"]
            lines = [f"Imported {_people(in_file)}: {', '.join(done)}."]
        if self.open_work:
            lines.append(
                f"{_people(len(self.open_work))} no longer in the file {'was' if len(self.open_work) == 1 else 'were'}"
                " deactivated (their history is kept):"
            )
            lines += [f"  {email}: {_open_work_summary(work)}" for email, work in self.open_work.items()]
            if any(item.startswith("audit ") for work in self.open_work.values() for item in work):
                lines.append('Move an audit with: qabot reallocate QA-REF [--to AUDITOR] --by YOU --reason "..."')
        if self.unreachable:
            lines.append(
                f"{_people(len(self.unreachable))} cannot be messaged in Slack (no Slack account found for their"
                f" email): {', '.join(self.unreachable)}"
            )
        if self.not_looked_up:
            lines.append(
                f"{_people(len(self.not_looked_up))} could not be looked up in Slack ({self.lookup_failure}); they keep"
                f" any Slack account already recorded: {', '.join(self.not_looked_up)}"
            )
        return lines


def _people(n: int) -> str:
    return f"{n} {'person' if n == 1 else 'people'}"


def _open_work_summary(work: list[str]) -> str:
    if not work:
        return "no open work"
    by_kind: dict[str, list[str]] = {}
    for item in work:
        kind, ref = item.split(" ", 1)
        by_kind.setdefault(kind, []).append(ref)
    parts = [f"{_count_of(kind, len(refs))} ({', '.join(refs)})" for kind, refs in by_kind.items()]
    return f"to reallocate: {'; '.join(parts)}"


NOUNS = {
    "audit": ("audit", "audits"),
    "practised-audit": ("audit of their own or their team's work", "audits of their own or their team's work"),
    "moderation": ("moderation", "moderations"),
    "action": ("action", "actions"),
}


def _count_of(kind: str, n: int) -> str:
    return f"{n} {NOUNS[kind][0 if n == 1 else 1]}"


def _header_key(header: str) -> str:
    return re.sub(r"[\s_]+", "", header.lower())


def read_staff_csv(path: Path) -> list[StaffRow]:
    """The people in a staff CSV as Excel saves it; row numbers are the spreadsheet's (header = row 1)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            records = list(csv.reader(f))
    except UnicodeDecodeError:
        raise DirectoryError(f"{path.name} is not UTF-8 text: in Excel, save it as 'CSV UTF-8'") from None
    except OSError as exc:
        raise DirectoryError(f"cannot read {path}: {exc.strerror}") from None
    if not records:
        raise DirectoryError(f"{path.name} is empty")
    position = {_header_key(h): i for i, h in enumerate(records[0])}
    missing = [c for c in REQUIRED_COLUMNS if _header_key(c) not in position]
    if missing:
        raise DirectoryError(f"{path.name} has no {', '.join(missing)} column{'s' if len(missing) > 1 else ''}")

    def cell(record: list[str], column: str) -> str:
        i = position.get(_header_key(column))
        return record[i].strip() if i is not None and i < len(record) else ""

    return [
        StaffRow(
            row=number,
            name=cell(record, "name"),
            email=cell(record, "email").lower(),
            slack_user_id=cell(record, "slack_user_id") or None,
            roles=tuple(dict.fromkeys(r.strip().lower() for r in cell(record, "roles").split(";") if r.strip())),
            team=cell(record, "team") or None,
            service=cell(record, "service") or None,
            manager_email=cell(record, "manager_email").lower() or None,
            delegate_email=cell(record, "delegate_email").lower() or None,
        )
        for number, record in enumerate(records[1:], start=2)
        if any(c.strip() for c in record)  # Excel leaves blank rows after the data
    ]


def validate(rows: list[StaffRow], slack_ids: Mapping[str, str | None] | None = None) -> list[RowProblem]:
    """Every problem in the file, in row order. `slack_ids` (looked up by email) join the duplicate check."""
    if not rows:
        return [RowProblem(1, "the file lists nobody; importing it would deactivate everyone")]
    problems: list[RowProblem] = []
    rows_by_email = _group(rows, lambda r: r.email)
    manager_of = {email: same[0].manager_email for email, same in rows_by_email.items()}
    team_services = _group([r for r in rows if r.team and r.service], lambda r: r.team or "")
    slack_of = {r.row: r.slack_user_id or (slack_ids or {}).get(r.email) for r in rows}
    rows_by_slack_id = _group([r for r in rows if slack_of[r.row]], lambda r: slack_of[r.row] or "")

    for r in rows:
        reasons: list[str] = []
        say = reasons.append
        sid = slack_of[r.row]
        if not r.name:
            say("no name")
        if not EMAIL.fullmatch(r.email):
            say(f"'{r.email}' is not an email address" if r.email else "no email")
        elif len(rows_by_email[r.email]) > 1:
            say(f"email {r.email} is also on {_other_rows(rows_by_email[r.email], r)}")
        if not r.roles:
            say("no roles")
        unknown = [role for role in r.roles if role not in ROLES]
        if unknown:
            names = ", ".join(f"'{role}'" for role in unknown)
            say(f"unknown role{'s' if len(unknown) > 1 else ''} {names} (allowed: {', '.join(ROLES)})")
        if r.slack_user_id and not SLACK_USER_ID.fullmatch(r.slack_user_id):
            say(f"slack_user_id '{r.slack_user_id}' is not a Slack member ID (they look like U0123ABCD)")
        elif sid and len(rows_by_slack_id[sid]) > 1:
            say(f"Slack user {sid} is also on {_other_rows(rows_by_slack_id[sid], r)}")
        if r.service and not r.team:
            say(f"service '{r.service}' is given but no team")
        elif r.team and r.service and {o.service for o in team_services[r.team]} != {r.service}:
            services = ", ".join(sorted({f"'{o.service}'" for o in team_services[r.team]}))
            say(f"team '{r.team}' is given different services: {services}")
        if r.manager_email == r.email:
            say("manages themselves (manager_email is their own email)")
        elif r.manager_email and r.manager_email not in rows_by_email:
            say(f"manager {r.manager_email} is not anyone's email in this file")
        elif r.manager_email and (loop := _loop_from(r.email, manager_of)):
            say(f"management loop: {' → '.join(loop)}")
        if r.delegate_email == r.email:
            say("is their own delegate (delegate_email is their own email)")
        elif r.delegate_email and r.delegate_email not in rows_by_email:
            say(f"delegate {r.delegate_email} is not anyone's email in this file")
        problems += [RowProblem(r.row, reason) for reason in reasons]
    return problems


def _group(rows: list[StaffRow], key: Callable[[StaffRow], str]) -> dict[str, list[StaffRow]]:
    groups: dict[str, list[StaffRow]] = {}
    for r in rows:
        groups.setdefault(key(r), []).append(r)
    return groups


def _other_rows(same: list[StaffRow], r: StaffRow) -> str:
    others = [str(o.row) for o in same if o is not r]
    return f"row{'s' if len(others) > 1 else ''} {', '.join(others)}"


def _loop_from(email: str, manager_of: Mapping[str, str | None]) -> list[str] | None:
    """The chain a → b → … → a when `email` is inside a management loop (not merely reporting into one)."""
    chain, manager = [email], manager_of.get(email)
    while manager and manager not in chain:
        chain.append(manager)
        manager = manager_of.get(manager)
    return [*chain, email] if manager == email else None


def resolve_slack_ids(rows: list[StaffRow], lookup: Callable[[str], str | None]) -> SlackLookups:
    """Slack ids for the rows that leave theirs empty, by email. Call it before opening the transaction:
    each lookup is a network round trip, which must not hold database locks. Once Slack cannot be asked (the
    lookup raises SlackUnavailable) nobody else is asked: a refused token or a dead network fails every lookup alike."""
    lookups = SlackLookups()
    for r in rows:
        if r.slack_user_id or not EMAIL.fullmatch(r.email):
            continue
        if lookups.reason is None:
            try:
                lookups.ids[r.email] = lookup(r.email)
                continue
            except SlackUnavailable as exc:
                lookups.reason = exc.reason
        lookups.not_asked.append(r.email)
    return lookups


def import_org(
    db: Session,
    rows: list[StaffRow],
    *,
    slack_ids: SlackLookups | Mapping[str, str | None] | None = None,
    actor: Person | None = None,
) -> OrgImportReport:
    """Make the directory match the file: people are matched by email, those missing from it are deactivated
    (never deleted: audits and the trail refer to them). Raises DirectoryInvalid, writing nothing, if the file
    has problems. `slack_ids` come from `resolve_slack_ids`; whoever Slack could not be asked about keeps the Slack
    id already recorded, and the report names them."""
    lookups = slack_ids if isinstance(slack_ids, SlackLookups) else SlackLookups(ids=dict(slack_ids or {}))
    slack_ids = lookups.ids
    problems = validate(rows, slack_ids)
    if problems:
        raise DirectoryInvalid(problems)

    people = {p.email: p for p in db.scalars(select(Person))}
    before = {email: _snapshot(p) for email, p in people.items()}
    in_file = {r.email: r for r in rows}
    wanted_slack = _wanted_slack_ids(people, in_file, slack_ids)
    # Clear every id that moves first, so that two people swapping ids never collide on the unique index.
    for email, person in people.items():
        if person.slack_user_id and person.slack_user_id != wanted_slack.get(email):
            person.slack_user_id = None
    db.flush()

    for r in rows:
        person = people.get(r.email)
        if person is None:
            person = people[r.email] = Person(email=r.email, active=True)
            db.add(person)
        person.name = r.name
        person.slack_user_id = wanted_slack[r.email]
        person.active = True
        person.team = team_named(db, r.team, r.service) if r.team else None
        current = {row.role for row in person.role_rows}
        if current != set(r.roles):
            person.role_rows = [row for row in person.role_rows if row.role in r.roles] + [
                PersonRole(role=role) for role in r.roles if role not in current
            ]
    db.flush()
    for r in rows:  # Managers and delegates last: by now everyone in the file exists, wherever they appear in it.
        people[r.email].line_manager = people[r.manager_email] if r.manager_email else None
        people[r.email].delegate_id = people[r.delegate_email].id if r.delegate_email else None
    for email, person in people.items():
        if email not in in_file:
            person.active = False
    db.flush()

    report = OrgImportReport()
    for email, person in people.items():
        _record_change(db, report, person, before.get(email), in_file=email in in_file, actor=actor)
    report.not_looked_up, report.lookup_failure = sorted(lookups.not_asked), lookups.reason
    report.unreachable = sorted(
        email for email in in_file if not people[email].slack_user_id and email not in lookups.not_asked
    )
    if report.changed:
        trail.record(
            db,
            "directory.imported",
            actor=actor,
            **report.counts(),
            unreachable=len(report.unreachable),
            not_looked_up=len(report.not_looked_up),
        )
    return report


def _wanted_slack_ids(
    people: Mapping[str, Person], in_file: Mapping[str, StaffRow], slack_ids: Mapping[str, str | None]
) -> dict[str, str | None]:
    """Each person's Slack id after the import: the file's, else the looked-up one, else the one already stored
    (a failed lookup should not make someone unreachable) unless another person now claims it."""
    wanted = {email: r.slack_user_id or slack_ids.get(email) for email, r in in_file.items()}
    claimed = {sid for sid in wanted.values() if sid}
    for email, person in people.items():
        if not wanted.get(email) and person.slack_user_id not in claimed:
            wanted[email] = person.slack_user_id
    return wanted


def _snapshot(person: Person) -> dict[str, Any]:
    return {
        "name": person.name,
        "roles": sorted(person.roles),
        "team": person.team.name if person.team else None,
        "service": person.team.service.name if person.team and person.team.service else None,
        "line_manager": person.line_manager.email if person.line_manager else None,
        "delegate": person.delegate_id,
        "slack_user_id": person.slack_user_id,
        "active": person.active,
    }


def _record_change(
    db: Session,
    report: OrgImportReport,
    person: Person,
    before: dict[str, Any] | None,
    *,
    in_file: bool,
    actor: Person | None,
) -> None:
    after = _snapshot(person)
    if before is None:
        report.added += 1
        trail.record(db, "person.added", actor=actor, subject=person, **after)
        return
    # For someone not in the file only what this import did to them matters, not how their old team changed.
    fields = after.keys() if in_file else ("slack_user_id", "active")
    changes = {k: [before[k], after[k]] for k in fields if k != "active" and before[k] != after[k]}
    if before["active"] and not after["active"]:
        report.deactivated += 1
        report.open_work[person.email] = _open_work(db, person)
        open_work = report.open_work[person.email]
        trail.record(db, "person.deactivated", actor=actor, subject=person, changes=changes, open_work=open_work)
    elif after["active"] and not before["active"]:
        report.reactivated += 1
        trail.record(db, "person.reactivated", actor=actor, subject=person, changes=changes)
    elif changes:
        report.updated += 1
        trail.record(db, "person.updated", actor=actor, subject=person, changes=changes)
    elif in_file:
        report.unchanged += 1


def _open_work(db: Session, person: Person) -> list[str]:
    audits = select(Audit.qa_ref).where(Audit.auditor_id == person.id, Audit.status.in_(OPEN_AUDIT_STATUSES))
    # Audits of their own practice, or of their team's: the case has moved on and the audit needs a new owner.
    practised = select(Audit.qa_ref).where(
        (Audit.practitioner_id == person.id) | (Audit.team_manager_id == person.id),
        Audit.status.in_(OPEN_AUDIT_STATUSES),
    )
    moderations = (
        select(Audit.qa_ref)
        .join(Moderation, Moderation.audit_id == Audit.id)
        .where(Moderation.moderator_id == person.id, Moderation.status == "pending")
    )
    actions = (
        select(Audit.qa_ref)
        .join(Action, Action.audit_id == Audit.id)
        .where(Action.owner_id == person.id, Action.status == "open")
    )
    return [
        f"{kind} {ref}"
        for kind, query in (
            ("audit", audits),
            ("practised-audit", practised),
            ("moderation", moderations),
            ("action", actions),
        )
        for ref in db.scalars(query.order_by(Audit.qa_ref))
    ]
