"""The periodic jobs. Each is one call into a workflow sweep, which acts only on what is due by then,
so running a job twice at the same moment does nothing the second time."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session

from bot.calendar import clock_at
from bot.outbox import DrainResult
from bot.runtime import Runtime
from bot.workflow import (
    allocation,
    allocation_run,
    digests,
    escalation,
    learning,
    moderation,
    reaudits,
    reports,
    retention,
)

log = logging.getLogger("qabot.clock")


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    run: Callable[[Runtime], object]


def _sweep(work: Callable[[Session, Runtime], int]) -> Callable[[Runtime], int]:
    """A sweep runs in one transaction: what it queues is sent only if everything it changed is saved."""

    def run(rt: Runtime) -> int:
        with rt.database.unit_of_work() as db:
            return work(db, rt)

    return run


def _deliver(rt: Runtime) -> DrainResult:
    return rt.dispatcher.drain()


SWEEPS = [
    Job(
        "month-start",
        timedelta(minutes=5),
        _sweep(lambda db, rt: allocation_run.remind_month_start(db, rt.calendar, rt.settings)),
    ),
    Job(
        "allocation-not-accepted",
        timedelta(minutes=5),
        _sweep(lambda db, rt: allocation.tell_qa_unaccepted(db, rt.calendar, rt.settings)),
    ),
    Job(
        "moderation-lists",
        timedelta(minutes=5),
        _sweep(lambda db, rt: moderation.list_for_qa(db, rt.calendar, rt.settings)),
    ),
    Job(
        "reaudits",
        timedelta(minutes=5),
        _sweep(lambda db, rt: reaudits.allocate(db, rt.calendar, rt.settings)),
    ),
    # The quarterly QA report, once, from 09:00 on the first working day after each quarter.
    Job(
        "quarterly-report",
        timedelta(minutes=5),
        _sweep(lambda db, rt: reports.post_due(db, rt.calendar, rt.settings)),
    ),
    # The previous month's top ten of learning, drafted on the first working day and sent to the QA Head to approve.
    Job("top-ten", timedelta(minutes=5), _sweep(lambda db, rt: learning.sweep(db, rt.calendar, rt.settings))),
    # Each person's one digest of the day: every reminder due to them (an allocation to accept, a meeting the next
    # working day, a self-assessment, a moderation, a step of the Inadequate pathway, their actions, what awaits
    # their sign-off and the audits to discuss in supervision).
    Job("digests", timedelta(minutes=5), _sweep(lambda db, rt: digests.send_digests(db, rt.calendar, rt.settings))),
    # Every minute: the one escalation clock, and an unacknowledged safeguarding alert must climb on time.
    Job("escalations", timedelta(minutes=1), _sweep(lambda db, rt: escalation.sweep(db, rt.calendar, rt.settings))),
    Job(
        "escalation-watchdog",
        timedelta(minutes=15),
        _sweep(lambda db, rt: escalation.watchdog(db, rt.calendar, rt.settings)),
    ),
    # Once a night (02:00-06:00): delete or anonymise what is past its retention (bot/workflow/retention.py).
    Job("retention", timedelta(minutes=15), _sweep(lambda db, rt: retention.sweep(db, rt.calendar, rt.settings))),
]
DELIVERY = Job("outbox", timedelta(seconds=5), _deliver)


def tick(rt: Runtime, at: datetime | None = None) -> dict[str, object]:
    """Run every sweep once as of `at` (default: now), then deliver what is due. What `qabot tick` runs."""
    results: dict[str, object] = {}
    with clock_at(at):
        for job in SWEEPS:
            results[job.name] = job.run(rt)
        results[DELIVERY.name] = DELIVERY.run(rt)
    return results


def _guarded(rt: Runtime, job: Job) -> Callable[[], None]:
    def run() -> None:
        try:
            result = job.run(rt)
            # A line when a job did something, never for a run that found nothing due.
            if isinstance(result, DrainResult) and (result.sent or result.failed) or type(result) is int and result:
                log.info("%s: %s", job.name, result)
        except Exception:
            log.exception("job %s failed; it runs again at its next interval", job.name)

    return run


def build_scheduler(rt: Runtime) -> BlockingScheduler:
    """Jobs are a handful of intervals, never one per reminder; a restart catches up once (coalesce)."""
    scheduler = BlockingScheduler(timezone=rt.calendar.tz)
    for job in (*SWEEPS, DELIVERY):
        scheduler.add_job(
            _guarded(rt, job),
            IntervalTrigger(seconds=job.every.total_seconds()),
            id=job.name,
            name=job.name,
            next_run_time=datetime.now(rt.calendar.tz),
            coalesce=True,
            misfire_grace_time=3600,
            max_instances=1,
        )
    return scheduler


def quiet_apscheduler() -> None:
    """APScheduler logs two INFO lines per job run: every 5 s for delivery, some 35,000 lines a day. Its executors
    say only warnings (a missed or failed run); our own jobs log what they did. A level set elsewhere is kept."""
    executors = logging.getLogger("apscheduler.executors")
    if executors.level == logging.NOTSET:
        executors.setLevel(logging.WARNING)


def clock(rt: Runtime) -> None:
    """`qabot clock`: the one scheduler process (APScheduler job stores must never be shared)."""
    quiet_apscheduler()
    scheduler = build_scheduler(rt)
    log.info("clock started with jobs: %s", ", ".join(j.id for j in scheduler.get_jobs()))
    try:
        scheduler.start()
    finally:
        rt.close()
