"""Retention (DESIGN.md, Data protection; the QAF's standard 7): each kind of record is deleted or anonymised once
it is past the period configured for it (bot.config.Retention), and never while open work still needs it.

- Request claims (idempotency keys) are deleted: Slack retries within minutes and a request's signature is
  refused after five, so an old claim guards against nothing.
- A delivered notification keeps its row (its key is what makes it happen once, its channel and ts what lets it
  be updated) but its content, a copy of names, case ids and typed text, is emptied, unless the message may still
  be updated because the work it is about is open.
- A month's case list rows are deleted once the month is past its period, except the rows of cases audited that
  month (they explain the draw) until their audit is anonymised; a case left with no list row, audit or
  restriction is deleted.
- A closed audit's typed text (the form's written answers and rationales, the self-assessment's reflections, the
  family's feedback, moderation and dispute rationales, action descriptions and notes, extension and nomination
  reasons, escalation notes) is replaced with a marker; grades, choices, counts, dates and people stay, so the
  quarterly report and exports still add up. Its case's case-system ID is replaced too once no audit, list or
  restriction needs it.
- The trail is kept longest, as the inspector's evidence, then deleted, except what is about open work.
Each run is recorded on the trail with its counts, never with what it removed."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import String, cast, delete, func, select, update
from sqlalchemy.orm import Session

from bot import months
from bot.calendar import Calendar, now
from bot.config import Settings
from bot.workflow import disputes, escalation, thematic, trail
from bot.workflow.forms import load_form
from store.models import (
    Action,
    ActionExtension,
    Audit,
    Case,
    CaseAccess,
    CaseListEntry,
    Dispute,
    Escalation,
    EscalationStep,
    Event,
    EventsPurge,
    IdempotencyKey,
    LoopCheck,
    Moderation,
    Nomination,
    OutboxMessage,
    PathwayTask,
    Theme,
    TopTen,
)

MARKER = "[removed under the retention policy]"
RUN = "retention.run"
# Once a night, in the quiet hours before anyone works: the first tick in this window runs it.
WINDOW = (time(2, 0), time(6, 0))
# An audit is finished in one of these; anything else is open work.
SETTLED = ("moderated", "complete", "declined", "cancelled")
# Family feedback's typed fields ("how" it was obtained is a choice, kept).
FEEDBACK_TEXT = ("reason", "child_voice", "family_view")
CHUNK = 500
# What each count is, for the command's output and the README.
KINDS = {
    "request_claims_deleted": "request claims deleted",
    "notifications_emptied": "delivered notifications emptied of their content",
    "case_list_rows_deleted": "case list rows deleted",
    "cases_deleted": "cases deleted (on no list, never audited)",
    "audits_anonymised": "closed audits anonymised (typed text replaced; grades and dates kept)",
    "cases_anonymised": "case-system IDs replaced",
    "events_deleted": "trail events deleted",
}
# Outbox keys that name an audit first: "allocation:{audit id}:…".
AUDIT_KEYS = ("allocation", "accept", "audit", "meeting", "self_assessment", "family_feedback", "good_practice")


@dataclass
class Plan:
    """What a run would do, by record: worked out before anything changes, so a dry run shows it exactly."""

    moment: datetime
    request_keys: list[str] = field(default_factory=list)
    notifications: list[int] = field(default_factory=list)
    case_list_rows: list[int] = field(default_factory=list)
    cases_deleted: list[int] = field(default_factory=list)
    audits: list[int] = field(default_factory=list)
    cases_anonymised: list[int] = field(default_factory=list)
    events: list[int] = field(default_factory=list)
    events_before: datetime | None = None

    def counts(self) -> dict[str, int]:
        return {
            "request_claims_deleted": len(self.request_keys),
            "notifications_emptied": len(self.notifications),
            "case_list_rows_deleted": len(self.case_list_rows),
            "cases_deleted": len(self.cases_deleted),
            "audits_anonymised": len(self.audits),
            "cases_anonymised": len(self.cases_anonymised),
            "events_deleted": len(self.events),
        }


def years_before(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


def sweep(db: Session, cal: Calendar, settings: Settings) -> int:
    """The nightly job: the first tick in the window runs it, later ones that night find it done."""
    local = cal.local(now())
    if not WINDOW[0] <= local.time() < WINDOW[1]:
        return 0
    tonight = cal.at(local.date(), WINDOW[0])
    if db.scalar(select(Event.id).where(Event.kind == RUN, Event.at >= tonight).limit(1)) is not None:
        return 0
    return sum(run(db, cal, settings, via="clock").values())


def run(db: Session, cal: Calendar, settings: Settings, *, via: str, dry_run: bool = False) -> dict[str, int]:
    """Delete and anonymise what is past its period; a dry run only counts it. Returns the counts by kind."""
    found = plan(db, cal, settings)
    if not dry_run:
        apply(db, found)
        periods = settings.retention
        trail.record(db, RUN, via=via, **found.counts(), periods=asdict(periods))
    return found.counts()


def lines(counts: dict[str, int], dry_run: bool) -> list[str]:
    head = "Retention, dry run (nothing changed): would be" if dry_run else "Retention run:"
    return [head] + [f"  {KINDS[kind]}: {count}" for kind, count in counts.items()]


# --- what is open ---------------------------------------------------------------------------------------------


@dataclass
class Open:
    """The work still going on: none of it, nor what it needs, is touched."""

    audits: set[int]
    themes: set[int]
    escalations: set[int]
    restricted_cases: set[int]


def open_work(db: Session) -> Open:
    audits = set(db.scalars(select(Audit.id).where(Audit.status.not_in(SETTLED))))
    audits |= set(db.scalars(select(Action.audit_id).where(Action.status != "signed_off")))
    audits |= set(db.scalars(select(Moderation.audit_id).where(Moderation.status == "pending")))
    audits |= set(db.scalars(select(Dispute.audit_id).where(Dispute.status.in_(disputes.OPEN))))
    audits |= set(db.scalars(select(PathwayTask.audit_id).where(PathwayTask.status == "pending")))
    audits |= set(db.scalars(select(Nomination.audit_id).where(Nomination.status == "queued")))
    themes = set(db.scalars(select(Theme.id).where(Theme.status != "closed")))
    audits |= set(db.scalars(select(Audit.id).where(Audit.theme_id.in_(themes))))
    escalations = set()
    for row in db.execute(
        select(Escalation.id, Escalation.subject_type, Escalation.subject_id).where(
            Escalation.status.in_(escalation.OPEN)
        )
    ):
        escalations.add(row.id)
        audit_id = _audit_of(db, row.subject_type, row.subject_id)
        if audit_id is not None:
            audits.add(audit_id)
    # A case audited again, or due a re-audit (the Inadequate cycle), keeps all its audits whole.
    cases = set(db.scalars(select(Audit.case_id).where(Audit.id.in_(audits))))
    cases |= set(db.scalars(select(Case.id).where(Case.reaudit_due.is_not(None))))
    audits |= set(db.scalars(select(Audit.id).where(Audit.case_id.in_(cases))))
    restricted = set(db.scalars(select(Case.id).where(Case.restricted.is_(True))))
    return Open(audits=audits, themes=themes, escalations=escalations, restricted_cases=restricted)


def _audit_of(db: Session, subject_type: str, subject_id: int) -> int | None:
    model = {
        Action.__tablename__: Action,
        Moderation.__tablename__: Moderation,
        PathwayTask.__tablename__: PathwayTask,
    }.get(subject_type)
    if subject_type == Audit.__tablename__:
        return subject_id
    if model is None:  # a loop check: its theme is open until both checks are recorded
        return None
    return db.scalar(select(model.audit_id).where(model.id == subject_id))


# --- the plan ---------------------------------------------------------------------------------------------------


def plan(db: Session, cal: Calendar, settings: Settings) -> Plan:
    periods = settings.retention
    moment = now()
    found = Plan(moment=moment)
    busy = open_work(db)

    found.request_keys = list(
        db.scalars(
            select(IdempotencyKey.key).where(IdempotencyKey.claimed_at < moment - timedelta(days=periods.request_days))
        )
    )
    found.notifications = _notifications(db, busy, moment - timedelta(days=periods.outbox_days))
    found.audits = _audits(db, busy, years_before(moment, periods.audit_text_years))
    _case_lists(db, cal, found, periods.case_list_months)
    found.events_before = years_before(moment, periods.events_years)
    found.events = _events(db, busy, found.events_before)
    return found


def _notifications(db: Session, busy: Open, before: datetime) -> list[int]:
    rows = db.execute(
        select(OutboxMessage.id, OutboxMessage.key).where(
            OutboxMessage.status == "sent",
            OutboxMessage.sent_at < before,
            cast(OutboxMessage.context, String) != "{}",
        )
    ).all()
    if not rows:
        return []
    lookups = _Lookups(db, busy)
    return [row.id for row in rows if not lookups.still_needed(row.key)]


class _Lookups:
    """Whether a delivered message may still be updated (its buttons replaced by a decision) because the work its
    key names is open: the update is drawn from the message's stored content."""

    def __init__(self, db: Session, busy: Open):
        self.db, self.busy = db, busy
        self._maps: dict[Any, dict[int, Any]] = {}
        # A digest is updated when an item it listed is decided or snoozed: the trail names the digests that
        # listed each audit's and theme's items.
        listed = {(Audit.__tablename__, i) for i in busy.audits} | {(Theme.__tablename__, i) for i in busy.themes}
        self.digests = {
            (event.detail or {}).get("key")
            for event in db.scalars(select(Event).where(Event.kind == "reminder.sent"))
            if (event.subject_type, event.subject_id) in listed
        }

    def _map(self, column_from, column_to) -> dict[int, Any]:
        key = (column_from, column_to)
        if key not in self._maps:
            self._maps[key] = dict(self.db.execute(select(column_from, column_to)).all())
        return self._maps[key]

    def _sessions(self) -> set[int]:
        """Group moderation meetings with an audit still open: their messages are updated as each is moderated."""
        audits = self._map(Moderation.id, Moderation.audit_id)
        return {
            session
            for moderation, session in self._map(Moderation.id, Moderation.session_id).items()
            if session is not None and self._audit_open(audits.get(moderation))
        }

    def _audit_open(self, audit_id: Any) -> bool:
        return audit_id in self.busy.audits

    def still_needed(self, key: str) -> bool:
        if key.startswith("digest:"):
            # An update's key is the digest's own key and why: "digest:{person}:{day}:{why}".
            return ":".join(key.split(":")[:3]) in self.digests
        prefix, _, rest = key.partition(":")
        head = rest.split(":", 1)[0]
        if not head.isdigit():
            return False
        ident = int(head)
        if prefix in AUDIT_KEYS or prefix == "inadequate":
            return self._audit_open(ident)
        if prefix == "action":
            return self._audit_open(self._map(Action.id, Action.audit_id).get(ident))
        if prefix == "action_extension":
            action = self._map(ActionExtension.id, ActionExtension.action_id).get(ident)
            return self._audit_open(self._map(Action.id, Action.audit_id).get(action))
        if prefix == "moderation":
            return self._audit_open(self._map(Moderation.id, Moderation.audit_id).get(ident))
        if prefix == "moderation-session":
            return ident in self._sessions()
        if prefix == "dispute":
            return self._audit_open(self._map(Dispute.id, Dispute.audit_id).get(ident))
        if prefix in ("escalation", "safeguarding"):
            if ident in self.busy.escalations:
                return True
            subject = self._map(Escalation.id, Escalation.subject_type).get(ident)
            subject_id = self._map(Escalation.id, Escalation.subject_id).get(ident)
            return subject is not None and self._audit_open(_audit_of(self.db, subject, subject_id))
        if prefix == "theme":
            return ident in self.busy.themes
        if prefix == "loop":
            return self._map(LoopCheck.id, LoopCheck.theme_id).get(ident) in self.busy.themes
        if prefix == "topten":
            return self._map(TopTen.id, TopTen.status).get(ident) != "posted"
        # Month-start prompts, reports, highlights, exports, allocation summaries: never updated. A new kind of
        # message that is updated later (enqueue_update) must be named above, or its content would go too soon.
        return False


def _audits(db: Session, busy: Open, before: datetime) -> list[int]:
    """Closed audits whose last activity on the trail (or allocation, if none) is before the cut-off."""
    last = dict(
        db.execute(
            select(Event.subject_id, func.max(Event.at))
            .where(Event.subject_type == Audit.__tablename__)
            .group_by(Event.subject_id)
        ).all()
    )
    rows = db.execute(
        select(Audit.id, Audit.allocated_at).where(Audit.anonymised_at.is_(None), Audit.status.in_(SETTLED))
    ).all()
    return sorted(
        row.id
        for row in rows
        if row.id not in busy.audits and max(row.allocated_at, last.get(row.id) or row.allocated_at) < before
    )


def _case_lists(db: Session, cal: Calendar, found: Plan, keep_months: int) -> None:
    """A month's list rows past the period go, except a case's row in a month it was audited, kept until that
    audit is anonymised. Then each case with no list row left: deleted if never audited, its case-system ID
    replaced once every audit of it is anonymised; a restricted case, or one due a re-audit, is left alone."""
    oldest_kept = months.shift(months.of(cal.local(found.moment)), -keep_months)
    anonymised = set(found.audits)
    audited = {
        (row.case_id, row.month)
        for row in db.execute(select(Audit.id, Audit.case_id, Audit.month, Audit.anonymised_at))
        if row.anonymised_at is None and row.id not in anonymised
    }
    entries = db.execute(select(CaseListEntry.id, CaseListEntry.case_id, CaseListEntry.month)).all()
    found.case_list_rows = sorted(
        row.id for row in entries if row.month < oldest_kept and (row.case_id, row.month) not in audited
    )
    going = set(found.case_list_rows)
    listed = {row.case_id for row in entries if row.id not in going}
    audits_of: dict[int, list[bool]] = {}
    for row in db.execute(select(Audit.id, Audit.case_id, Audit.anonymised_at)):
        audits_of.setdefault(row.case_id, []).append(row.anonymised_at is not None or row.id in anonymised)
    cases = db.execute(
        select(Case.id).where(Case.anonymised_at.is_(None), Case.restricted.is_(False), Case.reaudit_due.is_(None))
    ).scalars()
    for case_id in cases:
        if case_id in listed:
            continue
        done = audits_of.get(case_id)
        if done is None:
            found.cases_deleted.append(case_id)
        elif all(done):
            found.cases_anonymised.append(case_id)


def _events(db: Session, busy: Open, before: datetime) -> list[int]:
    """Events past the trail's period, except those about open work or a restricted record."""
    keep = (
        {(Audit.__tablename__, i) for i in busy.audits}
        | {(Theme.__tablename__, i) for i in busy.themes}
        | {(Escalation.__tablename__, i) for i in busy.escalations}
        | {(Case.__tablename__, i) for i in busy.restricted_cases}
    )
    rows = db.execute(select(Event.id, Event.subject_type, Event.subject_id).where(Event.at < before)).all()
    return [row.id for row in rows if (row.subject_type, row.subject_id) not in keep]


# --- doing it ---------------------------------------------------------------------------------------------------


def _chunks(ids: list[Any]):
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def apply(db: Session, found: Plan) -> None:
    for keys in _chunks(found.request_keys):
        db.execute(delete(IdempotencyKey).where(IdempotencyKey.key.in_(keys)))
    for ids in _chunks(found.notifications):
        db.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(context={}))
    for audit_id in found.audits:
        anonymise_audit(db, db.get(Audit, audit_id), found.moment)
    for ids in _chunks(found.case_list_rows):
        db.execute(delete(CaseListEntry).where(CaseListEntry.id.in_(ids)))
    for case_id in found.cases_anonymised:
        case = db.get(Case, case_id)
        case.case_ref, case.team_name, case.worker_name = f"anonymised-{case.id}", None, None
        case.practice_dates, case.anonymised_at = {}, found.moment
    for ids in _chunks(found.cases_deleted):
        db.execute(delete(CaseAccess).where(CaseAccess.case_id.in_(ids)))
        db.execute(delete(Case).where(Case.id.in_(ids)))
    if found.events:
        # The append-only triggers let a DELETE through only below a cut-off written here, in this transaction.
        permit = EventsPurge(purge_before=found.events_before)
        db.add(permit)
        db.flush()
        for ids in _chunks(found.events):
            db.execute(delete(Event).where(Event.id.in_(ids), Event.at < found.events_before))
        db.delete(permit)
        db.flush()


def _marked(value: Any) -> Any:
    return MARKER if isinstance(value, str) and value else value


def anonymise_audit(db: Session, audit: Audit, moment: datetime) -> None:
    """Typed text to the marker; grades, choices, dates and people kept (the report and exports add up)."""
    form = thematic.form_of(audit.theme) if audit.kind == "thematic" else load_form(audit.kind)
    structured = {q.id for q in form.questions if q.kind != "text"}
    audit.answers = {k: v if k in structured else _marked(v) for k, v in (audit.answers or {}).items()}
    audit.grades = {
        k: {**v, "rationale": _marked(v.get("rationale"))} if isinstance(v, dict) else v
        for k, v in (audit.grades or {}).items()
    }
    audit.draft = {}
    if audit.self_assessment:
        domains = set(audit.self_assessment.get("domains") or ())
        answers = audit.self_assessment.get("answers") or {}
        audit.self_assessment = audit.self_assessment | {
            "answers": {k: v if k in domains else _marked(v) for k, v in answers.items()}
        }
    if audit.family_feedback:
        audit.family_feedback = audit.family_feedback | {
            k: _marked(audit.family_feedback.get(k)) for k in FEEDBACK_TEXT if k in audit.family_feedback
        }
    for moderation in db.scalars(select(Moderation).where(Moderation.audit_id == audit.id)):
        moderation.rationale = _marked(moderation.rationale)
        moderation.changes = {
            k: {**v, "rationale": _marked(v.get("rationale"))} if isinstance(v, dict) else v
            for k, v in (moderation.changes or {}).items()
        }
    for dispute in db.scalars(select(Dispute).where(Dispute.audit_id == audit.id)):
        dispute.reason, dispute.rationale = _marked(dispute.reason), _marked(dispute.rationale)
    actions = list(db.scalars(select(Action).where(Action.audit_id == audit.id)))
    for action in actions:
        action.description = MARKER
        action.done_note, action.evidence_link = _marked(action.done_note), _marked(action.evidence_link)
    action_ids = [a.id for a in actions]
    for extension in db.scalars(select(ActionExtension).where(ActionExtension.action_id.in_(action_ids))):
        extension.reason = MARKER
    for nomination in db.scalars(select(Nomination).where(Nomination.audit_id == audit.id)):
        nomination.reason = MARKER
    for task in db.scalars(select(PathwayTask).where(PathwayTask.audit_id == audit.id)):
        if task.detail.get("note"):
            task.detail = task.detail | {"note": MARKER}
    subjects = [(Audit.__tablename__, [audit.id]), (Action.__tablename__, action_ids)]
    subjects += [
        (model.__tablename__, list(db.scalars(select(model.id).where(model.audit_id == audit.id))))
        for model in (Moderation, PathwayTask)
    ]
    for subject_type, ids in subjects:
        escalations = select(Escalation.id).where(
            Escalation.subject_type == subject_type, Escalation.subject_id.in_(ids)
        )
        for step in db.scalars(select(EscalationStep).where(EscalationStep.escalation_id.in_(escalations))):
            step.note = _marked(step.note)
    audit.anonymised_at = moment
