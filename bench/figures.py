"""What the benchmarks measure with and report: the scale of a run, a row of the results table, percentiles, SQL
statements counted, and the machine they ran on."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event

from store import Database


@dataclass(frozen=True)
class Scale:
    cases: int = 10_000
    actions: int = 100_000
    due: int = 1_000
    requests: int = 300
    warmup: int = 30
    repeats: int = 3
    import_rows: int = 10_000
    home_items: tuple[int, int] = (10, 200)


FULL = Scale()
TINY = Scale(cases=200, actions=1_500, due=20, requests=12, warmup=3, repeats=1, import_rows=300, home_items=(3, 12))


@dataclass
class Row:
    """One line of the results table."""

    name: str
    measured: str
    baseline: str
    ratio: float | None
    target: str
    passed: bool | None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Results:
    database: str
    scale: dict[str, Any]
    started: str
    machine: str
    rows: list[Row] = field(default_factory=list)

    def table(self) -> str:
        head = ("benchmark", "qabot", "baseline", "ratio", "target", "")
        lines = [head] + [
            (
                r.name,
                r.measured,
                r.baseline,
                "" if r.ratio is None else f"{r.ratio:.2f}x",
                r.target,
                "" if r.passed is None else "PASS" if r.passed else "MISS",
            )
            for r in self.rows
        ]
        widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
        out = [" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines]
        out.insert(1, "-+-".join("-" * w for w in widths))
        return "\n".join(out)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def percentile(samples: list[float], p: float) -> float:
    """The p-th percentile (0-100), interpolated between the closest ranks."""
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def machine() -> str:
    cpus = os.cpu_count()
    model = ""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        model = next(line.split(":", 1)[1].strip() for line in lines if "model name" in line)
    except (OSError, StopIteration):
        pass
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return f"{model or 'unknown CPU'}, {cpus} cores{load}, Python {sys.version.split()[0]}"


@contextmanager
def counted(database: Database) -> Iterator[list[str]]:
    """Every SQL statement sent to the database while the block runs."""
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(database.engine, "before_cursor_execute", seen)
