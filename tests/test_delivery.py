"""Every notification exactly once, in order per person, through a whole simulated month (tests/month.py) while
Slack fails 30 % of calls, and while the process delivering them is killed with SIGKILL 20 times.

Each month is compared with a reference run of the same steps without faults or kills: the same notifications
reach Slack (counted by the outbox key every post carries in its message metadata), each once, in the order they
were queued for each person or channel, and the store ends in the same state."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot.runtime import Runtime
from bot.sandbox.server import Call, SlackStandIn
from store.models import Base, OutboxMessage
from tests import month
from tests.conftest import PG_URL, QA_CHANNEL, empty_postgres
from tests.test_processes import _env

FAULT_RATE = 0.3
KILLS = 20


class _Clock:
    """Slack's clock for the stand-in: the simulated moment of the step being run."""

    def __init__(self) -> None:
        self.at = 0.0

    def __call__(self) -> float:
        return self.at


def _standin(wall) -> SlackStandIn:
    standin = SlackStandIn(wall=wall).start()
    standin.add_channel(QA_CHANNEL, "qa-team")
    standin.invite_bot(QA_CHANNEL)
    return standin


def _runtime(settings, standin: SlackStandIn, timeout: float = 5) -> Runtime:
    rt = Runtime.build(replace(settings, slack_api_url=standin.api_url), timeout=timeout)
    rt.dispatcher.pace = timedelta(0)  # pacing has its own test; here it would only lengthen the month
    return rt


def _play(rt: Runtime, clock: _Clock) -> None:
    for step in month.steps():
        clock.at = step.at.timestamp()
        month.run(rt, step)


def _pristine(database_url: str, tmp_path: Path):
    """A function that puts the test's database back as it is now (migrated, empty), for a second run."""
    if PG_URL:
        return empty_postgres
    path = Path(database_url.removeprefix("sqlite:///"))
    shutil.copy(path, tmp_path / "pristine.sqlite3")
    return lambda: shutil.copy(tmp_path / "pristine.sqlite3", path)


def _month(rt: Runtime, standin: SlackStandIn) -> dict:
    """What a run left: the store's state, each key's posts in Slack, and the order in Slack and in the queue."""
    return {
        "state": month.state(rt.database),
        "posts": month.posts(standin),
        "slack_order": month.slack_order(standin),
        "queued_order": month.queued_order(rt.database),
    }


_REFERENCE: dict[str, dict] = {}


def _reference(settings, database_url, tmp_path) -> dict:
    """The month without faults or kills: played once per session (it is the same for both tests)."""
    if "month" in _REFERENCE:
        return _REFERENCE["month"]
    empty = _pristine(database_url, tmp_path)
    clock = _Clock()
    standin = _standin(clock)
    rt = _runtime(settings, standin)
    try:
        month.prepare(rt.database, standin)
        _play(rt, clock)
        reference = _month(rt, standin)
    finally:
        rt.close()
        standin.stop()
    empty()
    assert reference["state"]["outbox"].keys() == {"sent"}
    assert set(reference["posts"].values()) == {1} and len(reference["posts"]) >= 50
    assert reference["slack_order"] == reference["queued_order"]
    _REFERENCE["month"] = reference
    return reference


def _assert_same_month(run: dict, reference: dict) -> None:
    assert run["state"] == reference["state"]  # every status, the trail's events by kind, the outbox all sent
    twice = {key: n for key, n in run["posts"].items() if n > 1}
    assert not twice, f"posted more than once: {twice}"
    assert run["posts"].keys() == reference["posts"].keys()
    assert run["queued_order"] == reference["queued_order"]
    assert run["slack_order"] == run["queued_order"]  # in order per person and channel


def test_a_month_of_slack_faults_delivers_every_notification_once_in_order(settings, database_url, tmp_path):
    reference = _reference(settings, database_url, tmp_path)

    clock = _Clock()
    standin = _standin(clock)
    # A small client timeout keeps the month short; the stand-in carries out a delayed call, then answers late.
    rt = _runtime(settings, standin, timeout=0.3)
    try:
        month.prepare(rt.database, standin)
        standin.fail_randomly(FAULT_RATE, seed=2027, statuses=(429, 500), delay=0.6)
        _play(rt, clock)
        faulted = _month(rt, standin)
        calls = standin.calls
    finally:
        rt.close()
        standin.stop()

    _assert_same_month(faulted, reference)
    faults = Counter(c.error for c in calls if c.error and c.error.startswith("injected_"))
    timed_out_posts = sum(1 for c in calls if c.method == "chat.postMessage" and c.error == "injected_delay")
    print(
        f"\n{len(calls)} calls to Slack, {sum(faults.values())} faulted ({sum(faults.values()) / len(calls):.0%}):"
        f" {faults['injected_429']} answered 429 with Retry-After, {faults['injected_500']} answered 500,"
        f" {faults['injected_delay']} timed out after Slack had carried them out ({timed_out_posts} of them posts);"
        f" {len(faulted['posts'])} notifications posted, each once, none failed"
    )
    assert all(faults[kind] >= 3 for kind in ("injected_429", "injected_500", "injected_delay"))
    assert 0.2 <= sum(faults.values()) / len(calls) <= 0.4
    assert timed_out_posts >= 3  # posts Slack carried out whose answer never came: found, not posted again


def _rewind_ids(database) -> None:
    """A transaction cut off by SIGKILL is rolled back, but the ids it drew from PostgreSQL's sequences stay drawn:
    the rows written after it (and the message keys made from an event's id) would be numbered one on from the
    reference's. Each sequence is put back after the highest id kept, as if that transaction had never begun, so the
    month can be compared key for key."""
    with database.engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            if "id" in table.c and table.c.id.primary_key:
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
                    )
                )


@pytest.mark.skipif(not PG_URL, reason="SIGKILL mid-transaction is tested on PostgreSQL (QABOT_TEST_DATABASE_URL)")
def test_a_month_of_sigkills_loses_and_repeats_nothing(settings, database_url, tmp_path):
    reference = _reference(settings, database_url, tmp_path)

    folder = tmp_path / "driver"
    folder.mkdir()
    at = folder / "at"
    standin = _standin(lambda: float(at.read_text()) if at.exists() else 0.0)
    rt = _runtime(settings, standin)
    env = _env(replace(settings, slack_api_url=standin.api_url))
    rng = random.Random(2027)
    kills: Counter[str] = Counter()
    in_a_send = threading.Event()
    driver: subprocess.Popen | None = None

    def kill_in_the_send(call: Call) -> None:
        # Slack has posted it; the driver dies before the answer reaches it.
        if call.method == "chat.postMessage" and in_a_send.is_set() and driver is not None:
            in_a_send.clear()
            os.kill(driver.pid, signal.SIGKILL)
            driver.wait()
            kills["inside a chat.postMessage"] += 1

    try:
        month.prepare(rt.database, standin)
        standin.carried_out = kill_in_the_send
        command = [sys.executable, "-m", "tests.month_driver", str(folder)]
        while True:
            spawned = time.time()
            driver = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if kills.total() < KILLS:
                if kills.total() % 2:
                    in_a_send.set()
                else:
                    # A random moment of its steps, not of its start-up: the month must outlast twenty kills however
                    # fast this machine plays it.
                    while driver.poll() is None and not (at.exists() and at.stat().st_mtime >= spawned):
                        time.sleep(0.005)
                    time.sleep(rng.uniform(0.0, 0.4))
                    if driver.poll() is None:
                        driver.send_signal(signal.SIGKILL)
                        kills["at a random moment"] += 1
            _, err = driver.communicate(timeout=300)
            in_a_send.clear()
            if driver.returncode == 0:
                break
            assert driver.returncode == -signal.SIGKILL, err
            _rewind_ids(rt.database)
        crashed = _month(rt, standin)
        with rt.database.unit_of_work() as db:
            left = db.scalars(
                select(OutboxMessage.key).where(
                    (OutboxMessage.status != "sent")
                    | OutboxMessage.claimed_until.is_not(None)
                    | OutboxMessage.unsure_since.is_not(None)
                    | OutboxMessage.ts.is_(None)
                )
            ).all()
    finally:
        rt.close()
        standin.stop()

    assert kills.total() == KILLS, kills
    assert left == []  # nothing claimed, unsure or unsent: no half-done delivery
    _assert_same_month(crashed, reference)
    print(f"\n{kills.total()} SIGKILLs ({dict(kills)}); {len(crashed['posts'])} notifications posted, each once")
