"""`qabot import-cases`: the month's case list into the store, matched to the staff directory."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from bot import months
from bot.workflow import trail
from bot.workflow.annex_a import LISTS, CaseList, clean
from store.models import Case, Person, Team

FIELDS = ("category", "team_id", "worker_id", "team_name", "worker_name", "practice_dates", "month")
CHUNK = 2000  # case references per IN (...) query: well under every database's bound-parameter limit


@dataclass
class CaseImportReport:
    month: str
    rows: dict[int, int]
    skipped: int
    total: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    no_worker: int = 0
    unmatched_workers: dict[str, int] = field(default_factory=dict)
    ambiguous_workers: dict[str, list[str]] = field(default_factory=dict)
    unmatched_teams: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [f"Case list for {self.month}:"]
        out += [f"List {n} ({LISTS[n].title}): {_count(c, 'row')}" for n, c in sorted(self.rows.items())]
        if self.skipped:
            out.append(f"{_count(self.skipped, 'row')} had no Child Unique ID and {_was(self.skipped)} skipped.")
        out.append(f"{_count(self.total, 'case')} in all (a child on several lists counts once, as the most serious).")
        if self.total and not (self.created or self.updated):
            out.append("Nothing changed: this month's list was already imported.")
        else:
            out.append(f"{_count(self.created, 'new case')}, {self.updated} updated, {self.unchanged} unchanged.")
        if self.no_worker:
            out.append(f"{_count(self.no_worker, 'case')} {_has(self.no_worker)} no allocated worker in the list.")
        if self.unmatched_workers:
            n = sum(self.unmatched_workers.values())
            out.append(
                f"{_count(n, 'case')} {_has(n)} a worker who matches nobody in the staff directory: "
                + _named(self.unmatched_workers)
                + "."
            )
        if self.ambiguous_workers:
            names = "; ".join(f"'{k}' ({', '.join(v)})" for k, v in sorted(self.ambiguous_workers.items()))
            out.append(f"Worker names shared by several active people, so no worker was set: {names}.")
        if self.unmatched_teams:
            n = sum(self.unmatched_teams.values())
            out.append(
                f"{_count(n, 'case')} {_has(n)} a team that matches no team in the directory: "
                + _named(self.unmatched_teams)
                + "."
            )
        return out


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _was(n: int) -> str:
    return "was" if n == 1 else "were"


def _has(n: int) -> str:
    return "has" if n == 1 else "have"


def _named(counts: dict[str, int]) -> str:
    return ", ".join(f"'{name}' ({n})" for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def validate_month(month: str) -> None:
    if not isinstance(month, str) or not months.is_month(month):
        raise ValueError(f"month must be YYYY-MM, e.g. 2027-01 (got {month!r})")


def _matcher(pairs: Iterable[tuple[str, Any]]) -> dict[str, list[Any]]:
    """Directory entries by name, matched case-insensitively with whitespace (NBSP included) collapsed."""
    found: dict[str, list[Any]] = defaultdict(list)
    for name, value in pairs:
        if key := clean(name):
            found[key.casefold()].append(value)
    return found


def import_cases(db: Session, case_list: CaseList, month: str) -> CaseImportReport:
    """Create or update the Case rows in `case_list` for `month`. Cases not in the list are left alone."""
    validate_month(month)
    report = CaseImportReport(month, dict(case_list.rows), case_list.skipped, len(case_list.cases))
    # The directory is small: load it once and match in memory, not one query per row.
    teams = _matcher(db.execute(select(Team.name, Team.id)))
    active = select(Person.name, Person.id, Person.email).where(Person.active.is_(True))
    people = _matcher((name, (pid, email)) for name, pid, email in db.execute(active))
    refs = list(case_list.cases)
    existing: dict[str, tuple[Any, ...]] = {}
    for start in range(0, len(refs), CHUNK):
        query = select(
            Case.case_ref,
            Case.id,
            Case.category,
            Case.team_id,
            Case.worker_id,
            Case.team_name,
            Case.worker_name,
            Case.practice_dates,
            Case.month,
        ).where(Case.case_ref.in_(refs[start : start + CHUNK]))
        existing.update((ref, rest) for ref, *rest in db.execute(query))
    # Report a name in the first spelling met, however its other rows space or capitalise it.
    spelling: dict[tuple[str, str], str] = {}
    unmatched_workers: Counter[str] = Counter()
    unmatched_teams: Counter[str] = Counter()
    inserts, updates = [], []
    for record in case_list.cases.values():
        team_id = worker_id = None
        if record.team:
            key = record.team.casefold()
            matches = teams.get(key, [])
            if len(matches) == 1:
                team_id = matches[0]
            else:
                unmatched_teams[spelling.setdefault(("team", key), record.team)] += 1
        if not record.worker:
            report.no_worker += 1
        else:
            key = record.worker.casefold()
            matches = people.get(key, [])
            if len(matches) == 1:
                worker_id = matches[0][0]
            elif matches:
                name = spelling.setdefault(("worker", key), record.worker)
                report.ambiguous_workers[name] = sorted(email for _, email in matches)
            else:
                unmatched_workers[spelling.setdefault(("worker", key), record.worker)] += 1
        values = (record.category, team_id, worker_id, record.team, record.worker, record.dates, month)
        old = existing.get(record.case_ref)
        if old is None:
            inserts.append({"case_ref": record.case_ref, "restricted": False, **dict(zip(FIELDS, values, strict=True))})
        elif tuple(old[1:]) != values:
            updates.append({"id": old[0], **dict(zip(FIELDS, values, strict=True))})
        else:
            report.unchanged += 1
    if inserts:
        db.execute(insert(Case), inserts)
    if updates:
        db.execute(update(Case), updates)
    report.created, report.updated = len(inserts), len(updates)
    report.unmatched_workers, report.unmatched_teams = dict(unmatched_workers), dict(unmatched_teams)
    # One event per import that changed something; counts and staff names only, no case references.
    if inserts or updates:
        trail.record(
            db,
            "caselist.imported",
            month=month,
            rows={str(n): c for n, c in report.rows.items()},
            skipped=report.skipped,
            total=report.total,
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
            no_worker=report.no_worker,
            unmatched_workers=report.unmatched_workers,
            ambiguous_workers=report.ambiguous_workers,
            unmatched_teams=report.unmatched_teams,
        )
    return report
