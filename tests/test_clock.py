"""The clock: `qabot tick` runs every due job once; running it twice sends nothing new."""

import logging
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_EXECUTED
from freezegun import freeze_time

from bot import cli, outbox
from bot.calendar import now
from bot.workflow import allocation
from scheduler.jobs import SWEEPS, build_scheduler, tick
from store.models import Case, Person

LONDON = ZoneInfo("Europe/London")


def _allocate_monday(rt, world):
    with freeze_time(datetime(2027, 1, 4, 9, 0, tzinfo=LONDON)), rt.database.unit_of_work() as db:
        allocation.allocate(
            db,
            rt.calendar,
            rt.settings,
            db.get(Case, world.case_id),
            db.get(Person, world.people["amira"]),
            "2027-01",
        )


def test_reminder_after_two_working_days_then_qa_after_four(rt, standin, world):
    _allocate_monday(rt, world)
    tick(rt, datetime(2027, 1, 4, 9, 0, tzinfo=LONDON))
    assert len(standin.posted("U0AUD")) == 1
    tick(rt, datetime(2027, 1, 6, 8, 59, tzinfo=LONDON))
    assert len(standin.posted("U0AUD")) == 1
    results = tick(rt, datetime(2027, 1, 6, 9, 0, tzinfo=LONDON))
    assert results["digests"] == 1  # the reminder, in the auditor's digest
    reminder = standin.posted("U0AUD")[-1]
    assert reminder.args["text"] == "Your reminders for Wednesday 6 January 2027: one thing needs you."
    assert "QA-2027-01-001" in str(reminder.args["blocks"])
    again = tick(rt, datetime(2027, 1, 6, 9, 0, tzinfo=LONDON))
    assert again["digests"] == 0 and again["outbox"].sent == 0
    assert len(standin.posted("U0AUD")) == 2
    tick(rt, datetime(2027, 1, 8, 9, 0, tzinfo=LONDON))
    prompt, told = standin.posted("C0QATEAM")
    assert "first working day of January 2027" in prompt.args["text"]
    assert "QA-2027-01-001" in told.args["text"] and "CS-100234" not in str(told.args)


def test_tick_at_runs_as_of_that_moment(rt, standin, world, cli_env, capsys):
    _allocate_monday(rt, world)
    tick(rt, datetime(2027, 1, 4, 9, 0, tzinfo=LONDON))
    assert cli.main(["tick", "--at", "2027-01-06T09:00"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"{job.name}: {1 if job.name == 'digests' else 0}" for job in SWEEPS] + [
        "outbox: 1 sent, 0 waiting, 0 failed"
    ]
    assert cli.main(["tick", "--at", "2027-01-06T09:00"]) == 0
    assert "digests: 0" in capsys.readouterr().out
    assert cli.main(["tick", "--at", "next tuesday"]) == 2


def test_a_tick_at_night_says_messages_wait_for_working_hours(rt, standin, world, cli_env, capsys):
    _allocate_monday(rt, world)
    assert cli.main(["tick", "--at", "2027-01-03T22:00"]) == 0  # the Sunday night before
    assert capsys.readouterr().out.splitlines()[-1] == (
        "outbox: 0 sent, 1 waiting, 0 failed. Messages to people go in working hours only: 1 waits until"
        " Monday 4 January 2027 at 09:00."
    )


def test_time_comes_from_one_function():
    with freeze_time("2027-03-28T00:59:00Z"):
        assert now() == datetime(2027, 3, 28, 0, 59, tzinfo=LONDON)


def test_the_clock_coalesces_and_catches_up_once(rt):
    scheduler = build_scheduler(rt)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {job.name for job in SWEEPS} | {"outbox"}
    assert {"escalations", "month-start", "allocation-not-accepted", "digests"} <= set(jobs)
    # The one escalation clock runs every minute: an unacknowledged safeguarding alert climbs on time.
    assert next(job for job in SWEEPS if job.name == "escalations").every.total_seconds() == 60
    for job in jobs.values():
        assert job.coalesce is True and job.misfire_grace_time == 3600 and job.max_instances == 1


def test_a_late_sweep_does_everything_due_at_once_and_a_rerun_sends_nothing(rt, standin, world):
    _allocate_monday(rt, world)
    tick(rt, datetime(2027, 1, 4, 9, 0, tzinfo=LONDON))
    # The clock was down all week: both the reminder and the QA team's warning are due at the first tick.
    first = tick(rt, datetime(2027, 1, 11, 9, 0, tzinfo=LONDON))
    assert first["outbox"].sent == 2
    assert "this audit is waiting for you" in str(standin.posted("U0AUD")[-1].args["blocks"])
    assert "has not been accepted" in standin.posted("C0QATEAM")[-1].args["text"]
    again = tick(rt, datetime(2027, 1, 11, 9, 0, tzinfo=LONDON))
    assert again["allocation-not-accepted"] == 0 and again["digests"] == 0 and again["outbox"].sent == 0


def test_the_clock_logs_what_it_did_and_not_each_apscheduler_run(rt, standin, caplog, monkeypatch):
    """APScheduler's executor would log two INFO lines per run (every 5 s for delivery): the clock keeps its
    warnings only, and logs a line of its own when a job did something."""
    from scheduler import jobs

    with rt.database.unit_of_work() as db:  # urgent, so it goes whatever the hour the test runs at
        outbox.enqueue(db, "alert", "U0AUD", "notice", {"text": "Now."}, urgent=True)
    built, schedulers = jobs.build_scheduler, []

    def stopping_after_one_delivery(runtime):
        scheduler = built(runtime)
        scheduler.add_listener(
            lambda event: event.job_id == "outbox" and scheduler.shutdown(wait=False), EVENT_JOB_EXECUTED
        )
        schedulers.append(scheduler)
        return scheduler

    monkeypatch.setattr(jobs, "build_scheduler", stopping_after_one_delivery)
    monkeypatch.setattr(jobs, "SWEEPS", [])  # delivery alone: what the sweeps find depends on the day the test runs
    executors = logging.getLogger("apscheduler.executors")
    level = executors.level
    executors.setLevel(logging.NOTSET)  # as a fresh process has it
    caplog.set_level(logging.INFO)
    # Should the job never run, the test fails rather than waits for ever.
    watchdog = threading.Timer(20, lambda: schedulers[0].shutdown(wait=False))
    watchdog.start()
    try:
        jobs.clock(rt)
    finally:
        watchdog.cancel()
        level_after = executors.level
        executors.setLevel(level)
    assert [c.args["channel"] for c in standin.calls if c.method == "chat.postMessage"] == ["U0AUD"]
    assert not [r for r in caplog.records if r.name.startswith("apscheduler.executors")]
    ours = [r.getMessage() for r in caplog.records if r.name == "qabot.clock"]
    assert ours[0].startswith("clock started with jobs:") and "outbox: 1 sent, 0 waiting, 0 failed" in ours
    # Only warnings and worse from the executors: a missed or failed run still shows.
    assert level_after == logging.WARNING
