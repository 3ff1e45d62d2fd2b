"""`qabot import-cases`: the month's case list into the store, matched to the staff directory."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from bot import months
from bot.workflow import trail
from bot.workflow.annex_a import LISTS, RANK, CaseList, CaseRecord, clean
from store import bulk
from store.models import Case, CaseListEntry, Person, Team

FIELDS = ("category", "team_id", "worker_id", "team_name", "worker_name", "practice_dates")
LIST_OF = {spec.category: number for number, spec in LISTS.items()}
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
            changes = f"{self.created} added to this month's list, {self.updated} updated"
            out.append(f"{changes}, {self.unchanged} unchanged.")
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
    """Put the cases in `case_list` on `month`'s list. Other months' lists, and cases not in the file, are left
    alone; a case's own details follow the latest month that lists it."""
    validate_month(month)
    report = CaseImportReport(month, dict(case_list.rows), case_list.skipped, len(case_list.cases))
    # The directory is small: load it once and match in memory, not one query per row.
    teams = _matcher(db.execute(select(Team.name, Team.id)))
    active = select(Person.name, Person.id, Person.email).where(Person.active.is_(True))
    people = _matcher((name, (pid, email)) for name, pid, email in db.execute(active))
    refs = list(case_list.cases)
    # case_ref -> (case id, the case's latest month, this month's entry id or None, that entry's details)
    existing: dict[str, tuple[Any, ...]] = {}
    on_month = (CaseListEntry.case_id == Case.id) & (CaseListEntry.month == month)
    for start in range(0, len(refs), CHUNK):
        query = (
            select(Case.case_ref, Case.id, Case.month, CaseListEntry.id, *(getattr(CaseListEntry, f) for f in FIELDS))
            .outerjoin(CaseListEntry, on_month)
            .where(Case.case_ref.in_(refs[start : start + CHUNK]))
        )
        existing.update((ref, rest) for ref, *rest in db.execute(query))
    # Report a name in the first spelling met, however its other rows space or capitalise it.
    spelling: dict[tuple[str, str], str] = {}
    unmatched_workers: Counter[str] = Counter()
    unmatched_teams: Counter[str] = Counter()
    new_cases: dict[str, dict[str, Any]] = {}
    new_entries, entry_updates, case_updates = [], [], []
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
        details = dict(
            zip(FIELDS, (record.category, team_id, worker_id, record.team, record.worker, record.dates), strict=True)
        )
        old = existing.get(record.case_ref)
        if old is None:
            new_cases[record.case_ref] = details
            continue
        case_id, latest, entry_id, *listed = old
        if entry_id is None:
            new_entries.append({"case_id": case_id, "month": month, **details})
        elif tuple(listed) == tuple(details.values()) or _on_a_more_serious_list(listed[0], record, case_list):
            report.unchanged += 1
            continue
        else:
            entry_updates.append({"id": entry_id, **details})
        if latest is None or latest <= month:
            case_updates.append({"id": case_id, "month": month, **details})
    if new_cases:
        rows = [{"case_ref": ref, "restricted": False, "month": month, **d} for ref, d in new_cases.items()]
        for case_id, ref in db.execute(insert(Case).returning(Case.id, Case.case_ref), rows):
            new_entries.append({"case_id": case_id, "month": month, **new_cases[ref]})
    bulk.insert_rows(db, CaseListEntry, new_entries)
    bulk.update_rows(db, CaseListEntry, entry_updates)
    bulk.update_rows(db, Case, case_updates)
    report.created, report.updated = len(new_entries), len(entry_updates)
    report.unmatched_workers, report.unmatched_teams = dict(unmatched_workers), dict(unmatched_teams)
    # One event per import that changed something; counts and staff names only, no case references.
    if new_entries or entry_updates:
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


def _on_a_more_serious_list(category: str, record: CaseRecord, case_list: CaseList) -> bool:
    """The month's list has the case on a more serious list that this file does not carry (a CSV of one list):
    as with several lists in one workbook, the most serious stays."""
    listed_on = LIST_OF[category]
    return RANK[category] < RANK[record.category] and listed_on not in case_list.rows


def listed(db: Session, month: str, cases: Iterable[Case]) -> dict[int, Case | CaseListEntry]:
    """Each case as `month`'s list gives it (category, team, worker); a case not on that list (a re-audit) as
    the latest list that had it."""
    cases = list(cases)
    entries = {
        e.case_id: e
        for e in db.scalars(
            select(CaseListEntry).where(CaseListEntry.month == month, CaseListEntry.case_id.in_([c.id for c in cases]))
        )
    }
    return {c.id: entries.get(c.id, c) for c in cases}


def has_case_list(db: Session, month: str) -> bool:
    return bool(on_the_list(db, month))


def on_the_list(db: Session, month: str) -> int:
    return db.scalar(select(func.count()).select_from(CaseListEntry).where(CaseListEntry.month == month)) or 0
