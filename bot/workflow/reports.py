"""The quarterly QA report (QAF Key Area Three, "Quarterly Quality Assurance Reports"): the quarter's figures,
built around the framework's three questions, posted to the QA team channel with a CSV and a chart.

1. What do we know about the quality of practice? Audits completed against allocated, grades by domain and by
   service, and how far moderators agreed with auditors (share of grades changed, Cohen's kappa).
2. Is the child's voice and lived experience evident within practice? The audit form's own answer to it.
3. Does the data show we are embedding practice? Actions done on time, escalations, the themes of learning.

Aggregates only: no QA reference, case reference or person's name is in the figures. A quarter's audits are
those allocated in its three months (collaborative audits; thematic audits report on their own). Grades are as
they stand: a decided dispute's grade, else the moderated one, else the auditor's while moderation is awaited.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import months, outbox
from bot.calendar import Calendar, now
from bot.config import Settings
from bot.workflow import escalation, trail
from bot.workflow.directory import QA_TEAM, by_slack_id
from bot.workflow.forms import load_form
from bot.workflow.good_practice import DECIDED
from bot.workflow.outcome import Outcome, refused
from store.models import (
    Action,
    Audit,
    Case,
    Dispute,
    Escalation,
    Highlight,
    Moderation,
    OutboxMessage,
    Person,
    Service,
    Team,
)

TEMPLATE = "quarterly_report"
KIND = "collaborative"
CLOSED = ("declined", "cancelled")
DONE = ("done", "signed_off")
VOICE = ("yes", "partly", "no")  # the collaborative form's answers to "Is the child's voice ... evident?"
VOICE_QUESTION = "child_voice"
NO_SERVICE = "No service recorded"
POSTED_AT = time(9, 0)  # the scheduled report goes out on the quarter's first working day after, from 09:00
_QUARTER = re.compile(r"(\d{4})Q([1-4])\Z")


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        found = _QUARTER.match(text.strip().upper())
        if not found:
            # Not echoed: whatever was typed (a phone number, a name) must not come back in a message.
            raise ValueError("a quarter looks like 2027Q1 (the year, Q, then 1 to 4)")
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def of(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"

    @property
    def months(self) -> tuple[str, ...]:
        first = f"{self.year:04d}-{3 * self.number - 2:02d}"
        return tuple(months.shift(first, n) for n in range(3))

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    def shift(self, quarters: int) -> Quarter:
        index = self.year * 4 + self.number - 1 + quarters
        return Quarter(index // 4, index % 4 + 1)

    @property
    def words(self) -> str:
        """'January to March 2027'."""
        first, last = (date(self.year, int(m[5:]), 1) for m in (self.months[0], self.months[-1]))
        return f"{first:%B} to {last:%B %Y}"


@dataclass(frozen=True, order=True)
class Month:
    """One month reported on its own, e.g. a month's report in the demo: what a Quarter offers, for one month."""

    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Month:
        if not months.is_month(text.strip()):
            raise ValueError("a month looks like 2027-01")
        year, number = text.strip().split("-")
        return cls(int(year), int(number))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.number:02d}"

    @property
    def months(self) -> tuple[str, ...]:
        return (str(self),)

    @property
    def start(self) -> date:
        return date(self.year, self.number, 1)

    def shift(self, count: int) -> Month:
        return Month.parse(months.shift(str(self), count))

    @property
    def words(self) -> str:
        return months.words(str(self))


Period = Quarter | Month


def last_complete(day: date) -> Quarter:
    """The quarter before the one `day` is in: what `/qa report` reports when no quarter is named."""
    return Quarter.of(day).shift(-1)


def choose(text: str | None, today: date) -> Period:
    """The quarter (or month, YYYY-MM) asked for, the last complete quarter when none is named; ValueError says
    what is wrong. The period in progress may be reported (its figures so far), one still to come may not."""
    if not (text or "").strip():
        return last_complete(today)
    quarter = Month.parse(text) if months.is_month(text.strip()) else Quarter.parse(text)
    if quarter.start > today:
        raise ValueError(f"{quarter} has not started yet")
    return quarter


def kappa(pairs: Iterable[tuple[str, str]], categories: Sequence[str]) -> float | None:
    """Cohen's unweighted kappa between two raters' categorical ratings of the same items; None when there are
    none. kappa = (po - pe) / (1 - pe): po the share of items they agree on, pe the agreement expected by chance
    (the sum over categories of the product of each rater's share in it). When both raters put every item in
    one category pe is 1 and kappa undefined: they agreed on everything, so it is 1."""
    pairs = list(pairs)
    n = len(pairs)
    if n == 0:
        return None
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    observed = sum(a == b for a, b in pairs) / n
    expected = sum(first[c] * second[c] for c in categories) / (n * n)
    if expected == 1:
        return 1.0
    return (observed - expected) / (1 - expected)


def _counts(grades: Iterable[str | None], scale: Sequence[str]) -> list[int]:
    tally = Counter(grades)
    return [tally[code] for code in scale]


def figures(db: Session, cal: Calendar, quarter: Period) -> dict[str, Any]:
    """The quarter's (or a month's) figures, as the report message, CSV and chart show them (JSON-safe, for the
    outbox)."""
    form = load_form(KIND)
    scale = list(form.scale.codes)
    overall_id = form.overall.id if form.overall else None
    quarter_months = list(quarter.months)
    start = cal.at(quarter.start, time(0))
    end = cal.at(quarter.shift(1).start, time(0))

    in_quarter = select(Audit.id).where(Audit.kind == KIND, Audit.month.in_(quarter_months))
    rows = db.execute(
        select(Audit, Service.name)
        .join(Case, Case.id == Audit.case_id)
        .outerjoin(Team, Team.id == Case.team_id)
        .outerjoin(Service, Service.id == Team.service_id)
        .where(Audit.id.in_(in_quarter))
        .order_by(Audit.id)
    ).all()
    # Each audit's latest recorded moderation, and the latest decision on a dispute of it.
    moderation_of: dict[int, Moderation] = {}
    for moderation in db.scalars(
        select(Moderation)
        .where(Moderation.audit_id.in_(in_quarter), Moderation.status == "done")
        .order_by(Moderation.id)
    ):
        moderation_of[moderation.audit_id] = moderation
    disputed: dict[int, str] = {}
    for dispute in db.scalars(
        select(Dispute)
        .where(Dispute.audit_id.in_(in_quarter), Dispute.status.in_(DECIDED))
        .order_by(Dispute.decided_at, Dispute.id)
    ):
        if dispute.new_grade:
            disputed[dispute.moderation_id] = dispute.new_grade

    allocated, completed = Counter(), Counter()
    overall_by_month: dict[str, list[str | None]] = {m: [] for m in quarter_months}
    by_domain: dict[str, list[str | None]] = {q.id: [] for q in form.domains}
    by_service: dict[str, list[str | None]] = {}
    voice = Counter()
    pairs: list[tuple[str, str]] = []
    moderated = grades_moderated = grades_changed = overall_changed = 0
    for audit, service in rows:
        if audit.status in CLOSED:
            continue
        allocated[audit.month] += 1
        if audit.submitted_at is None:
            continue
        completed[audit.month] += 1
        moderation = moderation_of.get(audit.id)
        changes = moderation.changes if moderation else {}
        standing = audit.overall_grade
        if moderation is not None:
            standing = disputed.get(moderation.id) or moderation.grade or standing
            moderated += 1
            grades_moderated += len(form.domains) + (1 if overall_id else 0)
            grades_changed += len(changes)
            overall_changed += overall_id in changes
            if audit.overall_grade and moderation.grade:
                pairs.append((audit.overall_grade, moderation.grade))
        overall_by_month[audit.month].append(standing)
        by_service.setdefault(service or NO_SERVICE, []).append(standing)
        for q in form.domains:
            given = (audit.grades.get(q.id) or {}).get("grade")
            by_domain[q.id].append((changes.get(q.id) or {}).get("to") or given)
        answer = (audit.answers or {}).get(VOICE_QUESTION)
        if answer in VOICE:
            voice[answer] += 1

    value = kappa(pairs, scale)
    all_overall = [g for grades in overall_by_month.values() for g in grades]
    return {
        "quarter": str(quarter),
        # A period still running is reported as far as it has gone, and says so.
        "period": quarter.words + (" (so far)" if end > now() else ""),
        "as_of": now(),
        "scale": scale,
        "audits": {
            "allocated": sum(allocated.values()),
            "completed": sum(completed.values()),
            "months": [
                {"label": months.words(m), "allocated": allocated[m], "completed": completed[m]} for m in quarter_months
            ],
        },
        "grades": {
            "overall": _counts(all_overall, scale),
            "months": [
                {"label": months.words(m), "counts": _counts(overall_by_month[m], scale)} for m in quarter_months
            ],
            "domains": [{"label": q.label, "counts": _counts(by_domain[q.id], scale)} for q in form.domains],
            "services": [{"label": name, "counts": _counts(by_service[name], scale)} for name in sorted(by_service)],
        },
        "moderation": {
            "audits": moderated,
            "grades": grades_moderated,
            "changed": grades_changed,
            "overall_changed": overall_changed,
            "kappa": None if value is None else round(value, 3),
            "kappa_n": len(pairs),
        },
        "voice": {"answered": sum(voice.values()), **{answer: voice[answer] for answer in VOICE}},
        "actions": _actions(db, start, end),
        "escalations": _escalations(db, start, end),
        "themes": _themes(db, start, end),
    }


def _actions(db: Session, start, end) -> dict[str, int]:
    """Actions due in the quarter: done by their due date, done after it, and still open past it (as of now)."""
    moment = now()
    counts = Counter()
    for status, due_at, done_at in db.execute(
        select(Action.status, Action.due_at, Action.done_at).where(Action.due_at >= start, Action.due_at < end)
    ):
        if status in DONE and done_at is not None:
            counts["on_time" if done_at <= due_at else "late"] += 1
        elif due_at < moment:
            counts["overdue"] += 1
        else:
            counts["not_yet_due"] += 1
    return {
        "due": sum(counts.values()),
        **{key: counts[key] for key in ("on_time", "late", "overdue", "not_yet_due")},
    }


def _escalations(db: Session, start, end) -> dict[str, Any]:
    """Escalations of overdue work started in the quarter, by the highest level each reached."""
    reached = Counter()
    for chain, level in db.execute(
        select(Escalation.chain, Escalation.level).where(
            Escalation.policy.in_(escalation.DRIFT), Escalation.started_at >= start, Escalation.started_at < end
        )
    ):
        role = chain[level]["role"] if chain and level < len(chain) else None
        reached[role] += 1
    return {
        "total": sum(reached.values()),
        "levels": [{"role": role, "count": reached[role]} for role in escalation.LEVELS],
    }


def _themes(db: Session, start, end) -> list[dict[str, Any]]:
    """Learning highlights posted in the quarter, per theme (most first). Themes typed apart only by case or
    spacing are one theme, named as it was first written."""
    label: dict[str, str] = {}
    counts = Counter()
    for theme in db.scalars(
        select(Highlight.theme)
        .where(Highlight.posted_at >= start, Highlight.posted_at < end)
        .order_by(Highlight.posted_at, Highlight.id)
    ):
        words = " ".join(theme.split())
        key = words.casefold()
        label.setdefault(key, words)
        counts[key] += 1
    return [
        {"label": label[key], "count": n} for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], label[kv[0]]))
    ]


# ----- posting ------------------------------------------------------------------------------------------------


def has_audits(db: Session, quarter: Period) -> bool:
    return bool(
        db.scalar(select(func.count()).select_from(Audit).where(Audit.kind == KIND, Audit.month.in_(quarter.months)))
    )


def _key(quarter: Period) -> str:
    return f"report:{quarter}"


def _queued(db: Session, key: str) -> bool:
    return db.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key)) is not None


def post_due(db: Session, cal: Calendar, settings: Settings) -> int:
    """The scheduled report: the last complete quarter's, once, from 09:00 on the first working day after it
    ended. A quarter in which nothing was allocated (before qabot was used) has no report. 1 if queued."""
    if not settings.qa_channel:
        return 0
    local = cal.local(now())
    quarter = last_complete(local.date())
    opens = quarter.shift(1).start
    if local < cal.local(cal.at(cal.first_working_day(opens.year, opens.month), POSTED_AT)):
        return 0
    key = _key(quarter)
    if _queued(db, key) or not has_audits(db, quarter):
        return 0
    return int(_queue(db, cal, settings, quarter, key, via="schedule"))


def post(
    db: Session, cal: Calendar, settings: Settings, quarter: Period, *, via: str, actor: Person | None = None
) -> str:
    """The report on demand (the command line, `/qa report`, the demo; a quarter, or a Month): queued every time it
    is asked for, under a key of its own, and said to be a re-run when the period's report was posted before.
    Returns the outbox key."""
    again = db.scalar(select(func.count()).where(OutboxMessage.key.like(f"{_key(quarter)}%")))
    key = f"{_key(quarter)}:{again + 1}"
    _queue(db, cal, settings, quarter, key, via=via, actor=actor, again=bool(again))
    return key


def _queue(
    db: Session,
    cal: Calendar,
    settings: Settings,
    quarter: Period,
    key: str,
    *,
    via: str,
    actor: Person | None = None,
    again: bool = False,
) -> bool:
    ctx = figures(db, cal, quarter) | {"again": again}
    queued = outbox.enqueue(db, key, settings.qa_channel, TEMPLATE, ctx)
    if queued:
        trail.record(db, "report.queued", actor=actor, quarter=str(quarter), via=via, key=key)
    return queued


def ask(db: Session, cal: Calendar, settings: Settings, slack_user_id: str, text: str) -> Outcome:
    """`/qa report [2027Q1]`: the QA team's, for the quarter named or the last complete one. Others are refused
    (on the trail)."""
    person = by_slack_id(db, slack_user_id)
    if person is None or not person.roles & QA_TEAM:
        trail.record(db, "refused.report", actor=person, actor_slack_id=slack_user_id, reason="not the QA team")
        return refused("report_not_qa_team")
    try:
        quarter = choose(text, cal.local(now()).date())
    except ValueError as exc:
        return refused("report_bad_quarter", problem=str(exc))
    if not settings.qa_channel:
        return refused("report_no_channel")
    if not has_audits(db, quarter):
        return refused("report_nothing", quarter=str(quarter))
    post(db, cal, settings, quarter, via="slash command", actor=person)
    return Outcome(ok=True, detail={"quarter": str(quarter)})
