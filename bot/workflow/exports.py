"""Exports (`qabot export`): CSV files of audits, actions and events for a period (the inspection
self-evaluation) or for one person (a subject-access request), and a record on the trail that the export was made.

An export is a file for the QA team and IT, never a chat message, so it carries the case-system ID (DESIGN: Data
protection) except where the record is restricted. What it never carries, whoever it is for:
- family feedback (the family's data, not the worker's; only the family's people on the audit read it);
- the audit form's written answers and rationales and the self-assessment: the structured record only.
For one person it holds everything about or by them (their audits in any role, the actions they own or signed off,
the events they did or that are on them, their audits or actions), and withholds what is someone else's: the
child's case-system ID (the QA reference finds the record) and text other people wrote on the trail (notes,
reasons). Colleagues' names stay: they acted in their professional role.

The event and the QA channel's notice are written in the transaction that reads the data; the files are written
to a staging folder inside it and moved into place once it commits, so no export exists without its record."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot import outbox
from bot.calendar import Calendar, now
from bot.config import Settings
from bot.workflow import guard, trail
from bot.workflow.directory import QA_TEAM
from bot.workflow.forms import form_kinds, grade_scale, grade_scale_versions, load_form
from store.models import Action, Audit, Case, Dispute, Event, Moderation, Person, Service, Team

FILES = ("audits", "actions", "events")
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Event detail written by a person rather than the bot: withheld from one person's export when someone else wrote it.
FREE_TEXT = frozenset({"note", "reason", "rationale", "link", "why"})
WITHHELD = "withheld: written by someone else"
# Where the trail names a person by id: a single id, or a list of ids or of {"person_id": …}.
PERSON_KEYS = ("person_id", "to", "auditor_id", "previous_auditor_id", "moderator_id")
PERSON_LISTS = ("asked", "heads", "chain", "alerted", "attendees")
DECIDED = ("upheld", "changed")

# The audits file: these, a grade column per domain and the overall grade, then AUDIT_AFTER.
AUDIT_BEFORE = [
    "qa_ref",
    "month",
    "kind",
    "cycle",
    "category",
    "service",
    "team",
    "case_system_id",
    "case_note",
    "auditor",
    "practitioner",
    "team_manager",
    "moderator",
    "status",
    "moderation_status",
    "dispute_status",
]
AUDIT_AFTER = [
    "moderated_grade",
    "grade_after_dispute",
    "allocated_at",
    "accepted_at",
    "meeting_at",
    "self_assessed_at",
    "submitted_at",
    "moderated_at",
    "dispute_decided_at",
]
ACTION_COLUMNS = [
    "qa_ref",
    "action_id",
    "owner",
    "created_at",
    "due_at",
    "status",
    "overdue",
    "done_at",
    "done_by",
    "signed_off_at",
    "signed_off_by",
    "extensions",
]
EVENT_COLUMNS = ["event_id", "at", "actor", "kind", "subject", "detail"]


class ExportError(ValueError):
    """The export cannot be made; the message (one line) says why."""


@dataclass(frozen=True)
class Request:
    start: date
    end: date  # inclusive
    by: str  # Slack id or email of the QA team member making it
    reason: str
    person: str | None = None  # Slack id or email: a subject-access request
    out: Path | None = None

    @classmethod
    def parse(
        cls, start: str, end: str, by: str, reason: str | None, person: str | None = None, out: str | None = None
    ) -> Request:
        first, last = _day("--from", start), _day("--to", end)
        if first > last:
            raise ExportError(f"--from ({first}) is after --to ({last})")
        if not (reason or "").strip():
            raise ExportError('--reason is required: say why, e.g. --reason "Ofsted self-evaluation"')
        return cls(first, last, by.strip(), " ".join(reason.split()), (person or "").strip() or None, _path(out))


@dataclass
class Made:
    folder: Path
    staging: Path
    counts: dict[str, int] = field(default_factory=dict)


def make(db: Session, cal: Calendar, settings: Settings, request: Request) -> Made:
    """Read, write the three files to a staging folder, and record the export (event and QA channel notice) in the
    caller's transaction. After it commits, `publish` moves the files into place; otherwise `discard` them."""
    by = _person(db, request.by)
    if by is None or not by.active:
        raise ExportError(f"--by {request.by} is not an active person in the staff directory")
    if not by.roles & QA_TEAM:
        raise ExportError(f"--by {by.name} is not in the QA team: only qa_team or qa_head_of_service may export")
    subject = None
    if request.person:
        subject = _person(db, request.person)
        if subject is None:
            raise ExportError(f"--person {request.person} is not in the staff directory")
    if problem := guard.check(db, {"reason": request.reason}):
        found = ", ".join(f"{f['kind'].replace('_', ' ')} ({f['text']})" for f in problem.detail["fields"]["reason"])
        raise ExportError(f"--reason must not carry personal details; remove: {found}")
    folder = request.out or Path.cwd() / _folder_name(request, subject)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ExportError(f"{folder} already exists and is not an empty folder: choose another with --out")
    if not folder.parent.is_dir():
        raise ExportError(f"there is no folder {folder.parent} to write the export into")

    since, until = cal.at(request.start, time()), cal.at(request.end + timedelta(days=1), time())
    tables = _Tables(db, cal, subject, since, until)
    staging = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    made = Made(folder, staging)
    try:
        made.counts = {
            "audits": _write(staging / "audits.csv", *tables.audits()),
            "actions": _write(staging / "actions.csv", ACTION_COLUMNS, tables.actions()),
            "events": _write(staging / "events.csv", EVENT_COLUMNS, tables.events()),
        }
        event = trail.record(
            db,
            "export.made",
            actor=by,
            subject=subject,
            reason=request.reason,
            period={"from": request.start.isoformat(), "to": request.end.isoformat()},
            rows=made.counts,
            folder=str(folder.resolve()),
        )
        db.flush()
        outbox.enqueue(
            db,
            f"export:{event.id}",
            settings.qa_channel,
            "export_made",
            {
                "by": by.name,
                "reason": request.reason,
                "start": request.start,
                "end": request.end,
                "person": subject is not None,
            },
        )
    except BaseException:
        discard(made)
        raise
    return made


def publish(made: Made) -> None:
    made.staging.replace(made.folder)


def discard(made: Made) -> None:
    shutil.rmtree(made.staging, ignore_errors=True)


# ----- what is read --------------------------------------------------------------------------------------------------


class _Tables:
    """The rows of the three files, for the period and, for a subject-access request, the person."""

    def __init__(self, db: Session, cal: Calendar, subject: Person | None, since: datetime, until: datetime):
        self.db, self.cal, self.subject = db, cal, subject
        self.since, self.until = since, until
        self.names = {p.id: p.name for p in db.scalars(select(Person))}
        self.moment = now()

    def _audit_ids_of(self, person: Person) -> set[int]:
        moderated = select(Moderation.audit_id).where(Moderation.moderator_id == person.id)
        return set(
            self.db.scalars(
                select(Audit.id).where(
                    or_(
                        Audit.auditor_id == person.id,
                        Audit.practitioner_id == person.id,
                        Audit.team_manager_id == person.id,
                        Audit.id.in_(moderated),
                    )
                )
            )
        )

    def _in_period(self):
        return (Audit.allocated_at >= self.since) & (Audit.allocated_at < self.until)

    def audits(self) -> tuple[list[str], Iterable[dict[str, Any]]]:
        query = select(Audit).where(self._in_period()).order_by(Audit.allocated_at, Audit.id)
        if self.subject is not None:
            query = query.where(Audit.id.in_(self._audit_ids_of(self.subject)))
        audits = list(self.db.scalars(query))
        domains = _domains(audits)
        grades = [f"grade: {label}" for label in domains.values()] + ["grade: overall"]
        return AUDIT_BEFORE + grades + AUDIT_AFTER, [self._audit_row(a, domains) for a in audits]

    def _audit_row(self, audit: Audit, domains: dict[str, str]) -> dict[str, Any]:
        case: Case = audit.case
        team = self.db.get(Team, case.team_id) if case.team_id else None
        service = self.db.get(Service, team.service_id) if team and team.service_id else None
        moderation = self.db.scalar(
            select(Moderation).where(Moderation.audit_id == audit.id).order_by(Moderation.id.desc()).limit(1)
        )
        dispute = (
            self.db.scalar(
                select(Dispute).where(Dispute.moderation_id == moderation.id).order_by(Dispute.id.desc()).limit(1)
            )
            if moderation
            else None
        )
        if self.subject is not None:
            case_id, note = "", "withheld: identifies a child (use the QA reference)"
        elif case.restricted:
            case_id, note = "", "restricted"
        else:
            case_id, note = case.case_ref, ""
        row = {
            "qa_ref": audit.qa_ref,
            "month": audit.month,
            "kind": audit.kind,
            "cycle": audit.cycle,
            "category": audit.category,
            "service": service.name if service else "",
            "team": team.name if team else case.team_name or "",
            "case_system_id": case_id,
            "case_note": note,
            "auditor": self._name(audit.auditor_id),
            "practitioner": self._name(audit.practitioner_id),
            "team_manager": self._name(audit.team_manager_id),
            "moderator": self._name(moderation.moderator_id if moderation else None),
            "status": audit.status,
            "moderation_status": moderation.status if moderation else "",
            "dispute_status": dispute.status if dispute else "",
            "moderated_grade": _words(moderation.grade if moderation else None),
            "grade_after_dispute": _words(dispute.new_grade if dispute and dispute.status in DECIDED else None),
            "allocated_at": self._at(audit.allocated_at),
            "accepted_at": self._at(audit.accepted_at),
            "meeting_at": self._at(audit.meeting_at),
            "self_assessed_at": self._at(audit.self_assessed_at),
            "submitted_at": self._at(audit.submitted_at),
            "moderated_at": self._at(moderation.decided_at if moderation else None),
            "dispute_decided_at": self._at(dispute.decided_at if dispute else None),
        }
        for qid, label in domains.items():
            row[f"grade: {label}"] = _words((audit.grades.get(qid) or {}).get("grade"))
        row["grade: overall"] = _words(audit.overall_grade)
        return row

    def actions(self) -> Iterable[dict[str, Any]]:
        query = (
            select(Action, Audit.qa_ref)
            .join(Audit, Audit.id == Action.audit_id)
            .where(self._in_period())
            .order_by(Audit.allocated_at, Audit.id, Action.id)
        )
        if self.subject is not None:
            query = query.where(or_(Action.owner_id == self.subject.id, Action.signed_off_by_id == self.subject.id))
        for action, qa_ref in self.db.execute(query):
            yield {
                "qa_ref": qa_ref,
                "action_id": action.id,
                "owner": self._name(action.owner_id),
                "created_at": self._at(action.created_at),
                "due_at": self._at(action.due_at),
                "status": action.status,
                "overdue": "yes" if action.status == "open" and action.due_at <= self.moment else "no",
                "done_at": self._at(action.done_at),
                "done_by": self._name(action.done_by_id),
                "signed_off_at": self._at(action.signed_off_at),
                "signed_off_by": self._name(action.signed_off_by_id),
                "extensions": action.extensions,
            }

    def events(self) -> Iterable[dict[str, Any]]:
        events = self.db.scalars(
            select(Event).where(Event.at >= self.since, Event.at < self.until).order_by(Event.at, Event.id)
        )
        refs = dict(self.db.execute(select(Audit.id, Audit.qa_ref)).all())
        mine = self._audit_ids_of(self.subject) if self.subject is not None else set()
        my_actions = (
            set(
                self.db.scalars(
                    select(Action.id).where(
                        or_(Action.owner_id == self.subject.id, Action.signed_off_by_id == self.subject.id)
                    )
                )
            )
            if self.subject is not None
            else set()
        )
        for event in events:
            if self.subject is not None and not self._about_subject(event, mine, my_actions):
                continue
            yield {
                "event_id": event.id,
                "at": self._at(event.at),
                "actor": self._name(event.actor_id) or event.actor_slack_id or "qabot",
                "kind": event.kind,
                "subject": self._subject(event, refs),
                "detail": json.dumps(self._detail(event), ensure_ascii=False, sort_keys=True),
            }

    def _about_subject(self, event: Event, audits: set[int], actions: set[int]) -> bool:
        me = self.subject.id
        return (
            event.actor_id == me
            or (event.subject_type == "people" and event.subject_id == me)
            or (event.subject_type == "audits" and event.subject_id in audits)
            or event.detail.get("action_id") in actions
            or me in _people_named(event.detail)
        )

    def _detail(self, event: Event) -> dict[str, Any]:
        detail = dict(event.detail)
        if self.subject is None or event.actor_id == self.subject.id or event.kind.startswith("refused."):
            return detail  # a refusal's reason is the bot's words, not a person's
        return {k: (WITHHELD if k in FREE_TEXT and v else v) for k, v in detail.items()}

    def _subject(self, event: Event, refs: dict[int, str]) -> str:
        if event.subject_type is None:
            return ""
        if event.subject_type == "audits":
            return f"audit {refs.get(event.subject_id, event.subject_id)}"
        if event.subject_type == "people":
            return f"person {self._name(event.subject_id) or event.subject_id}"
        if event.subject_type == "cases":
            case = self.db.get(Case, event.subject_id)
            if case is not None and case.restricted:
                return "case (restricted)"
            return "case (withheld)" if case is None or self.subject is not None else f"case {case.case_ref}"
        return f"{event.subject_type} {event.subject_id}"

    def _name(self, person_id: int | None) -> str:
        return self.names.get(person_id, "") if person_id else ""

    def _at(self, value: datetime | None) -> str:
        return self.cal.local(value).isoformat(timespec="minutes") if value else ""


def _people_named(detail: dict[str, Any]) -> set[int]:
    """The person ids an event's detail names: who was asked, alerted, escalated to, given access, reminded."""
    ids = {detail.get(key) for key in PERSON_KEYS}
    for key in PERSON_LISTS:
        for item in detail.get(key) or []:
            ids.add(item.get("person_id") if isinstance(item, dict) else item)
    return {i for i in ids if isinstance(i, int)}


def _domains(audits: list[Audit]) -> dict[str, str]:
    """Domain question id -> label: the current form's, then any older form's an exported audit was graded on."""
    labels = {q.id: q.label for q in load_form("collaborative").domains}
    for kind in sorted({a.kind for a in audits} & set(form_kinds()) - {"collaborative"}):
        labels.update({q.id: q.label for q in load_form(kind).domains if q.id not in labels})
    for audit in audits:
        labels.update({qid: qid.replace("_", " ").capitalize() for qid in audit.grades if qid not in labels})
    return labels


def _words(code: str | None) -> str:
    if not code:
        return ""
    for version in grade_scale_versions():
        scale = grade_scale(version)
        if code in scale.codes:
            return scale.words(code)
    return code


# ----- the files ---------------------------------------------------------------------------------------------------


def safe_cell(value: Any) -> Any:
    """A cell a spreadsheet shows as typed: text starting with a formula character gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _write(path: Path, columns: list[str], rows: Iterable[dict[str, Any]]) -> int:
    """UTF-8 with a byte-order mark, so Excel reads names and grades as written; returns the number of rows."""
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow(columns)
        for row in rows:
            out.writerow([safe_cell(row[c]) for c in columns])
            count += 1
    return count


def _folder_name(request: Request, subject: Person | None) -> str:
    """Named after the period (and a person by their directory number): never a case or a person's name."""
    period = f"{request.start.isoformat()}-{request.end.isoformat()}"
    return f"qabot-export-person-{subject.id}-{period}" if subject else f"qabot-export-{period}"


def _person(db: Session, ref: str) -> Person | None:
    """By Slack id or email; a leaver too (a subject-access request often comes from one)."""
    column = Person.email if "@" in ref else Person.slack_user_id
    return db.scalar(select(Person).where(column == (ref.lower() if "@" in ref else ref)))


def _day(option: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ExportError(f"{option} must be a date such as 2027-01-31, got {value!r}") from None


def _path(out: str | None) -> Path | None:
    return Path(out).expanduser().absolute() if out else None
