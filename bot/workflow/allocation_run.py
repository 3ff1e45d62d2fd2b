"""The month's allocation: draw a sample from the imported case list, let the QA team review it, then
allocate an auditor to each case and tell everyone concerned."""

from __future__ import annotations

import random
import secrets
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session, contains_eager

from bot import months, outbox
from bot.calendar import Calendar, now
from bot.config import Settings
from bot.framework import Framework
from bot.workflow import allocation, auditors, caselist, trail
from bot.workflow.directory import QA_TEAM, by_slack_id
from bot.workflow.outcome import Outcome, refused
from store.models import CATEGORIES, AllocationRun, Audit, Case, CaseListEntry, Event, Person

CLOSED = ("declined", "cancelled")
# The month's collaborative cycle: a thematic audit of a case (thematic.py) neither takes its place in the sample
# nor keeps it out.
CYCLE = Audit.kind != "thematic"


@dataclass
class Plan:
    """Who would audit what. `held_back` maps a case id to why it cannot be allocated; `already` a case that has
    an open audit this month (allocated since the draft was drawn) to that audit's QA reference."""

    assignments: dict[int, Person] = field(default_factory=dict)
    held_back: dict[int, str] = field(default_factory=dict)
    already: dict[int, str] = field(default_factory=dict)
    audits: list[Audit] = field(default_factory=list)


def draw(db: Session, month: str, fw: Framework, *, seed: int | None = None, by: Person | None = None) -> AllocationRun:
    """Sample the month's list: per-team quota spread across categories, recently audited cases left out,
    re-audits due always in. Seeded and recorded, so the same draw can be explained and repeated."""
    seed = secrets.randbelow(2**31) if seed is None else seed
    rng = random.Random(seed)
    recent_from = months.shift(month, -(fw.recently_audited_months - 1))
    recently = set(
        db.scalars(
            select(Audit.case_id).where(
                Audit.month >= recent_from, Audit.month <= month, Audit.status.not_in(CLOSED), CYCLE
            )
        )
    )
    # A re-audit the clock has already allocated this month is not drawn again.
    allocated = select(Audit.case_id).where(Audit.month == month, Audit.status.not_in(CLOSED), CYCLE)
    reaudits = list(
        db.scalars(select(Case).where(Case.reaudit_due == month, Case.id.not_in(allocated)).order_by(Case.case_ref))
    )
    listed = db.scalars(
        select(CaseListEntry)
        .join(CaseListEntry.case)
        .where(CaseListEntry.month == month)
        .options(contains_eager(CaseListEntry.case))
        .order_by(Case.case_ref)
    ).all()

    # A team the directory does not know is still its own team on the list: it gets its own quota. Within a
    # team, the cases that can be allocated come first; one that would be held back (its worker is not in the
    # staff directory) is drawn only when nothing else on the team's list is left.
    by_team: dict[str, tuple[dict, dict]] = defaultdict(lambda: (defaultdict(list), defaultdict(list)))
    for entry in listed:
        if entry.case_id not in recently and entry.case.reaudit_due != month:
            ready, unready = by_team[_team_name(entry)]
            (ready if _has_practitioner(entry) else unready)[entry.category].append(entry.case_id)
    drawn = [c.id for c in reaudits]
    held_back_drawn = 0
    for team in sorted(by_team):
        taken = 0
        for unready, buckets in zip((False, True), by_team[team], strict=True):
            for bucket in buckets.values():
                rng.shuffle(bucket)
            # Round-robin over the categories (most serious first) so a team's sample is not all one kind.
            order = [c for c in CATEGORIES if c in buckets]
            while taken < fw.team_quota and any(buckets[c] for c in order):
                for category in order:
                    if buckets[category] and taken < fw.team_quota:
                        drawn.append(buckets[category].pop())
                        taken += 1
                        held_back_drawn += unready

    for old in db.scalars(select(AllocationRun).where(AllocationRun.month == month, AllocationRun.status == "draft")):
        old.status = "superseded"
    run = AllocationRun(
        month=month,
        status="draft",
        seed=seed,
        parameters={
            "team_quota": fw.team_quota,
            "recently_audited_months": fw.recently_audited_months,
            "listed": len(listed),
            "left_out_recently_audited": len({e.case_id for e in listed if e.case.reaudit_due != month} & recently),
            "reaudits": len(reaudits),
            "held_back_drawn": held_back_drawn,
        },
        drawn=drawn,
        selected=list(drawn),
        created_at=now(),
        created_by_id=by.id if by else None,
    )
    db.add(run)
    db.flush()
    trail.record(db, "allocation.drawn", actor=by, subject=run, month=month, seed=seed, cases=len(drawn))
    return run


def plan(db: Session, run: AllocationRun, fw: Framework) -> Plan:
    """Give each selected case an auditor outside the practitioner's team and line, least-loaded first, up to
    the monthly maximum. Deterministic for a run (its seed breaks ties)."""
    pool = auditors.available(db, run.seed)
    load = auditors.monthly_load(db, run.month)
    result = Plan(already=allocated_as(db, run.month, run.selected))
    for case, as_listed in _cases(db, run.selected, run.month):
        # One open collaborative audit of a case a month: never a second, whatever the draft says.
        if case.id in result.already:
            continue
        if not _has_practitioner(as_listed):
            result.held_back[case.id] = (
                "worker_left" if as_listed.worker else "worker_not_matched" if as_listed.worker_name else "no_worker"
            )
            continue
        auditor = auditors.pick(pool, load, as_listed.worker, as_listed, fw.auditor_monthly_max)
        if auditor is None:
            result.held_back[case.id] = "no_auditor"
            continue
        result.assignments[case.id] = auditor
    return result


def _has_practitioner(as_listed: Case | CaseListEntry) -> bool:
    return as_listed.worker is not None and as_listed.worker.active


def _team_name(as_listed: Case | CaseListEntry) -> str:
    return as_listed.team.name if as_listed.team else as_listed.team_name or "No team recorded"


def _cases(db: Session, ids: list[int], month: str) -> list[tuple[Case, Case | CaseListEntry]]:
    """The cases, each with what the month's list says of it, by team."""
    cases = db.scalars(select(Case).where(Case.id.in_(ids))).all()
    listed = caselist.listed(db, month, cases)
    pairs = [(case, listed[case.id]) for case in cases]
    return sorted(pairs, key=lambda pair: (_team_name(pair[1]), pair[0].case_ref))


def _on_the_list(month: str):
    return select(CaseListEntry.case_id).where(CaseListEntry.month == month)


def cases_by_ref(db: Session, refs: list[str], month: str) -> list[Case]:
    return list(db.scalars(select(Case).where(Case.case_ref.in_(refs), Case.id.in_(_on_the_list(month)))))


def allocated_as(db: Session, month: str, case_ids: list[int]) -> dict[int, str]:
    """The cases among `case_ids` with an open collaborative audit in `month`, each with its QA reference.
    A later month's re-audit and a thematic audit are other audits, so do not count."""
    rows = db.execute(
        select(Audit.case_id, Audit.qa_ref).where(
            Audit.case_id.in_(case_ids), Audit.month == month, Audit.status.not_in(CLOSED), CYCLE
        )
    )
    return {case_id: qa_ref for case_id, qa_ref in rows}


def allocated(db: Session, month: str) -> list[Audit]:
    """The month's open collaborative audits, by QA reference."""
    return list(
        db.scalars(select(Audit).where(Audit.month == month, Audit.status.not_in(CLOSED), CYCLE).order_by(Audit.qa_ref))
    )


def already_by_ref(db: Session, month: str, refs: list[str]) -> dict[str, str]:
    """Of the case-system ids `refs`, those already allocated in `month`: case id -> the audit's QA reference."""
    cases = cases_by_ref(db, refs, month)
    qa_refs = allocated_as(db, month, [c.id for c in cases])
    return {c.case_ref: qa_refs[c.id] for c in sorted(cases, key=lambda c: c.case_ref) if c.id in qa_refs}


def held_back(db: Session, month: str) -> list[int]:
    """Cases the QA team confirmed for the month that still have no audit (held back, or added since)."""
    confirmed = db.scalars(
        select(AllocationRun.selected).where(AllocationRun.month == month, AllocationRun.status == "confirmed")
    )
    wanted = {case_id for selected in confirmed for case_id in selected}
    audited = set(db.scalars(select(Audit.case_id).where(Audit.month == month, CYCLE)))
    return sorted(wanted - audited)


def top_up(db: Session, month: str, case_ids: list[int], *, by: Person | None = None) -> AllocationRun:
    """A further draft for a month already allocated: the held-back cases (once the directory or the auditors'
    capacity is fixed), or cases the QA team adds."""
    for old in db.scalars(select(AllocationRun).where(AllocationRun.month == month, AllocationRun.status == "draft")):
        old.status = "superseded"
    run = AllocationRun(
        month=month,
        status="draft",
        seed=secrets.randbelow(2**31),
        parameters={
            "top_up": True,
            "listed": len(case_ids),
            "left_out_recently_audited": 0,
            "recently_audited_months": 0,
            "reaudits": 0,
            "team_quota": 0,
        },
        drawn=list(case_ids),
        selected=list(case_ids),
        created_at=now(),
        created_by_id=by.id if by else None,
    )
    db.add(run)
    db.flush()
    trail.record(db, "allocation.top_up_drawn", actor=by, subject=run, month=month, cases=len(case_ids))
    return run


def is_stale(db: Session, run: AllocationRun) -> bool:
    """A draft drawn before the month's list was (re)imported no longer samples that list."""
    imported = db.scalar(
        select(func.max(Event.at)).where(
            Event.kind == "caselist.imported", Event.detail["month"].as_string() == run.month
        )
    )
    return run.status == "draft" and imported is not None and imported > run.created_at


def confirmed(db: Session, month: str) -> AllocationRun | None:
    """The month's latest confirmed run: once there is one the month is allocated, whatever drafts follow."""
    return db.scalar(
        select(AllocationRun)
        .where(AllocationRun.month == month, AllocationRun.status == "confirmed")
        .order_by(AllocationRun.id.desc())
    )


def latest(db: Session, month: str) -> AllocationRun | None:
    return db.scalar(
        select(AllocationRun)
        .where(AllocationRun.month == month, AllocationRun.status.in_(("draft", "confirmed")))
        .order_by(AllocationRun.id.desc())
    )


def may_allocate(db: Session, slack_user_id: str | None) -> Outcome:
    """Only the QA team allocates. A refusal is on the trail."""
    person = by_slack_id(db, slack_user_id) if slack_user_id else None
    if person is None or not person.roles & QA_TEAM:
        trail.record(db, "refused.allocate", actor=person, actor_slack_id=slack_user_id, reason="not the QA team")
        return refused("not_qa_team")
    return Outcome(ok=True, detail={"person": person})


def review(db: Session, settings: Settings, slack_user_id: str, month: str) -> Outcome:
    """Open the month's draft for review (drawing one if there is none). Returns the review form's context."""
    allowed = may_allocate(db, slack_user_id)
    if not allowed.ok:
        return allowed
    run, done = latest(db, month), confirmed(db, month)
    if done is not None:
        pending = held_back(db, month)
        if not pending:
            confirmer = db.get(Person, done.confirmed_by_id) if done.confirmed_by_id else None
            return refused(
                "already_allocated",
                month=months.words(month),
                at=done.confirmed_at,
                by=confirmer.name if confirmer else "the command line",
            )
        if run.status == "confirmed":
            run = top_up(db, month, pending, by=allowed.detail["person"])
    if not caselist.has_case_list(db, month):
        return refused("no_case_list", month=months.words(month))
    # A month already allocated is only ever topped up: a new draw would sample it again.
    if run is None or (done is None and is_stale(db, run)):
        run = draw(db, month, settings.framework, by=allowed.detail["person"])
    return Outcome(ok=True, detail=review_context(db, run, settings.framework))


def review_context(db: Session, run: AllocationRun, fw: Framework) -> dict:
    proposed = plan(db, run, fw)
    teams: dict[str, list[dict]] = defaultdict(list)
    already = []
    for case, as_listed in _cases(db, run.selected, run.month):
        if case.id in proposed.already:
            already.append({"case_ref": case.case_ref, "qa_ref": proposed.already[case.id]})
            continue
        auditor = proposed.assignments.get(case.id)
        teams[_team_name(as_listed)].append(
            {
                "case_id": case.id,
                "case_ref": case.case_ref,
                "category": as_listed.category,
                "practitioner": as_listed.worker.name if as_listed.worker else None,
                "auditor": auditor.name if auditor else None,
                "held_back": proposed.held_back.get(case.id),
                "reaudit": case.reaudit_due == run.month,
            }
        )
    return {
        "run_id": run.id,
        "month": months.words(run.month),
        "seed": run.seed,
        "listed": run.parameters["listed"],
        "left_out": run.parameters["left_out_recently_audited"],
        "recent_months": run.parameters["recently_audited_months"],
        "top_up": bool(run.parameters.get("top_up")),
        "allocated": db.scalar(
            select(func.count()).select_from(Audit).where(Audit.month == run.month, Audit.status.not_in(CLOSED), CYCLE)
        ),
        "held_back_drawn": run.parameters.get("held_back_drawn", 0),
        "teams": [{"name": name, "cases": cases} for name, cases in teams.items()],
        "already": already,
    }


def adjust(db: Session, run: AllocationRun, keep: set[int], add_refs: list[str]) -> tuple[list[str], dict[str, str]]:
    """The QA team's changes to the draft: keep only `keep` of the drawn cases, add cases by case-system id
    (from this month's list). Returns the ids that are not on the list (nothing is changed then), and the
    added ones left out as already allocated this month, each with its audit's QA reference."""
    wanted = {ref.strip() for ref in add_refs if ref.strip()}
    found = {c.case_ref: c.id for c in cases_by_ref(db, sorted(wanted), run.month)}
    unknown = sorted(wanted - set(found))
    if unknown:
        return unknown, {}
    already = already_by_ref(db, run.month, sorted(found))
    added = [i for ref, i in found.items() if i not in run.selected and ref not in already]
    run.selected = [i for i in run.selected if i in keep] + added
    return [], already


def confirm(
    db: Session, cal: Calendar, settings: Settings, run: AllocationRun, by: Person | None, *, via: str = "Slack"
) -> Plan:
    """Allocate the reviewed draft: one audit per case, the auditor asked to accept, the people on each case
    told once, the QA channel given a summary by team without case references."""
    result = plan(db, run, settings.framework)
    audits = [
        allocation.allocate(db, cal, settings, case, result.assignments[case.id], run.month, by=by)
        for case, _ in _cases(db, list(result.assignments), run.month)
    ]
    allocation.tell_people_on_the_case(db, audits, batch=f"run-{run.id}")
    result.audits = audits
    run.status, run.confirmed_at, run.confirmed_by_id = "confirmed", now(), by.id if by else None
    trail.record(
        db,
        "allocation.confirmed",
        actor=by,
        subject=run,
        month=run.month,
        via=via,
        seed=run.seed,
        allocated=len(audits),
        held_back=len(result.held_back),
    )
    per_team: dict[str, int] = defaultdict(int)
    for _, as_listed in _cases(db, [a.case_id for a in audits], run.month):
        per_team[_team_name(as_listed)] += 1
    if settings.qa_channel:
        outbox.enqueue(
            db,
            f"allocation-run:{run.id}:summary",
            settings.qa_channel,
            "allocation_summary",
            {
                "month": months.words(run.month),
                "by_name": by.name if by else None,
                "teams": [{"name": n, "count": c} for n, c in sorted(per_team.items())],
                "held_back": len(result.held_back),
            },
        )
    if by and by.slack_user_id and result.held_back:
        held = {c.id: c for c, _ in _cases(db, list(result.held_back), run.month)}
        outbox.enqueue(
            db,
            f"allocation-run:{run.id}:held-back",
            by.slack_user_id,
            "allocation_held_back",
            {
                "month": months.words(run.month),
                "items": [{"case_ref": held[i].case_ref, "reason": why} for i, why in result.held_back.items()],
            },
        )
    return result


def submit_review(
    db: Session, cal: Calendar, settings: Settings, slack_user_id: str, run_id: int, keep: set[int], add_refs: list[str]
) -> Outcome:
    """The review form was submitted: apply the QA team's changes and allocate."""
    allowed = may_allocate(db, slack_user_id)
    if not allowed.ok:
        return allowed
    run = db.get(AllocationRun, run_id)
    if run is None:  # no such draft: an edited form
        trail.record(db, "refused.allocate", actor=allowed.detail["person"], reason="unknown", run_id=run_id)
    if run is None or run.status != "draft":
        return refused("draft_replaced")
    # Checked before anything changes, so a refused form leaves the draft as it was.
    already = already_by_ref(db, run.month, [ref.strip() for ref in add_refs if ref.strip()])
    if already:
        return refused("cases_already_allocated", items=[{"case_ref": c, "qa_ref": q} for c, q in already.items()])
    unknown, _ = adjust(db, run, keep, add_refs)
    if unknown:
        return refused("unknown_cases", refs=unknown)
    confirm(db, cal, settings, run, allowed.detail["person"])
    return Outcome(ok=True)


def remind_month_start(db: Session, cal: Calendar, settings: Settings) -> int:
    """Sweep: on the first working day of the month at the reminder time, ask the QA team to import and
    confirm the case list, unless the month is already allocated. The key makes it once a month; a clock that
    was down that day catches up later in the month, and then says the month is not yet allocated."""
    local = cal.local(now())
    month = months.of(local)
    first = cal.first_working_day(local.year, local.month)
    start = cal.at(first, settings.framework.reminder_time)
    if now() < start or not settings.qa_channel:
        return 0
    if confirmed(db, month) is not None:
        return 0
    queued = outbox.enqueue(
        db,
        f"month-start:{month}",
        settings.qa_channel,
        "month_start",
        {
            "month": months.words(month),
            "code": month,
            "imported": caselist.on_the_list(db, month),
            "late": local.date() > first,
        },
    )
    return int(queued)
