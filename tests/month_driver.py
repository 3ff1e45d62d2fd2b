"""`python -m tests.month_driver DIR`: the clock of tests/month.py's simulated month, as a process a test can kill.

It runs the month's steps against DATABASE_URL and SLACK_API_URL from the one after the last it completed (read from
DIR/done), as `qabot clock` catches up once after a restart. Before each step it writes the step's moment to DIR/at
(the stand-in stamps messages with it, as Slack's clock would), and after it, the step's number to DIR/done."""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

from bot import config
from bot.runtime import Runtime
from tests import month


def _write(path: Path, text: str) -> None:
    """Whole or not at all: a kill between the two calls leaves the previous value."""
    part = path.with_suffix(".part")
    part.write_text(text)
    os.replace(part, path)


def main(folder: Path) -> int:
    rt = Runtime.build(config.load(), timeout=5)
    rt.dispatcher.pace = timedelta(0)  # as in the reference run: pacing has its own test
    done = folder / "done"
    first = int(done.read_text()) + 1 if done.exists() else 0
    steps = month.steps()
    for number in range(first, len(steps)):
        _write(folder / "at", str(steps[number].at.timestamp()))
        month.run(rt, steps[number])
        _write(done, str(number))
    rt.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
