"""`qabot serve`, or an outbox dispatcher, as a process living a fixed number of seconds ahead of the real clock.

    python -m tests.shifted OFFSET_SECONDS serve       # `qabot serve`, unchanged, on the shifted clock
    python -m tests.shifted OFFSET_SECONDS dispatch    # drains the outbox until SIGTERM, printing each key it sent

tests/test_multiprocess.py moves every process (and itself) by the same offset, to a working morning: messages to
people are held outside working hours, so on the real clock the test would depend on when CI runs it. One offset
for all keeps what must agree between processes in agreement: claim leases, pacing and request signatures.
The dispatcher runs the clock's own delivery job (`scheduler.jobs.DELIVERY`), as `qabot clock` does every 5 s.
"""

from __future__ import annotations

import signal
import sys
import threading
from datetime import UTC, datetime, timedelta

import psycopg  # noqa: F401 (its C extension must load against the real datetime, not freezegun's)
from freezegun import freeze_time

# Imported before the clock is moved, as under pytest: freezegun then patches what they hold.
from bot import config
from bot.cli import main as qabot
from bot.runtime import Runtime
from bot.server import serve  # noqa: F401 (what `qabot serve` imports when it runs)
from scheduler.jobs import DELIVERY


def dispatch() -> int:
    rt = Runtime.build(config.load())
    rt.database.check_migrated()
    # Pacing (one post a second per person) has its own test; here it would only make the test wait.
    rt.dispatcher.pace = timedelta(0)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.is_set():
            result = DELIVERY.run(rt)
            for key in result.keys:
                print(key, flush=True)
            if not result.sent:
                stop.wait(0.1)
    finally:
        rt.close()
    return 0


def main(argv: list[str]) -> int:
    offset, command = timedelta(seconds=float(argv[0])), argv[1]
    # tick: the shifted clock runs on at the real pace (leases expire, pacing slots pass).
    with freeze_time(datetime.now(UTC) + offset, tick=True):
        if command == "serve":
            return qabot(["serve"])
        if command == "dispatch":
            return dispatch()
    raise SystemExit(f"unknown command {command!r}: serve or dispatch")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
