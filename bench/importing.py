"""Benchmark 3: the Annex A import of a 10,000-row workbook, its seconds and peak memory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tracemalloc
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from python_calamine import CalamineWorkbook

from bench.figures import FULL, Row, Scale
from bench.seed import TEAMS, Seeded
from bot.runtime import Runtime
from bot.workflow import annex_a, caselist
from store import Database

LIST_DATES = {
    "List 3": "Date of Referral",
    "List 4": "Continuous Assessment Start Date",
    "List 5": "Strategy discussion initiating Section 47 Enquiry Start Date",
    "List 6": "CIN Start Date",
    "List 7": "Child Protection Plan Start Date",
    "List 8": "Date Started to be Looked After",
    "List 9": "Eligibility Category",
}


def write_workbook(path: Path, rows: int, known: int) -> Path:
    """An Annex A workbook of `rows` children over Lists 3-9, with the demographic columns a council's export has
    (never read), mostly children already known (`known` case-system ids) and the directory's workers."""
    # Not write_only: that writes every string inline, where Excel (and a council's export) keeps them once, as
    # shared strings; reading inline strings costs openpyxl twice as much.
    book = Workbook()
    book.remove(book.active)
    sheets = list(LIST_DATES)
    per_sheet = {title: [] for title in sheets}
    for n in range(rows):
        ref = 700001 + n if n < known else 800001 + n
        team = n % TEAMS + 1
        worker = f"Worker {team}-{n // TEAMS % 8 + 1}"
        per_sheet[sheets[n % len(sheets)]].append((ref, team, worker, n))
    for title in sheets:
        sheet = book.create_sheet(title)
        sheet.append(
            ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age of Child (Years)", LIST_DATES[title]]
            + ["Allocated Team", "Allocated Worker"]
        )
        for ref, team, worker, n in per_sheet[title]:
            when = datetime(2026, n % 12 + 1, n % 27 + 1)
            sheet.append(
                [ref, "b) Female", "a) WBRI", datetime(2015, 1, 1), 11, when, f"Family Support {team}", worker]
            )
    book.save(path)
    return path


def _import(database: Database, path: Path, month: str) -> caselist.CaseImportReport:
    """What `qabot import-cases` does: read the whole file, then import it in one transaction."""
    case_list = annex_a.read_case_list(path)
    with database.unit_of_work() as db:
        return caselist.import_cases(db, case_list, month)


# The command, then its own peak resident memory. Not the children's ru_maxrss: that counts the pages a forked child
# shares with this (large) process before it runs the command.
COMMAND = (
    "import sys; from bot.cli import main; rc = main(); "
    "print(*(line for line in open('/proc/self/status') if line.startswith('VmHWM')), file=sys.stderr); sys.exit(rc)"
)


def bench_import(rt: Runtime, seeded: Seeded, scale: Scale, workdir: Path) -> list[Row]:
    path = write_workbook(workdir / "Annex_A.xlsx", scale.import_rows, min(seeded.cases, scale.import_rows * 9 // 10))
    # The baseline: only reading the workbook's cells with python-calamine, as the import does (every sheet, from A1).
    started = time.perf_counter()
    book = CalamineWorkbook.from_path(str(path))
    sheets = (book.get_sheet_by_name(name) for name in book.sheet_names)
    cells = sum(len(row) for sheet in sheets for row in sheet.to_python(skip_empty_area=False))
    book.close()
    read_only = time.perf_counter() - started

    started = time.perf_counter()
    report = _import(rt.database, path, "2027-03")
    spent = time.perf_counter() - started
    if report.total != scale.import_rows or report.created != scale.import_rows:
        raise AssertionError(f"the import read {report.total} children and listed {report.created}")

    tracemalloc.start()
    _import(rt.database, path, "2027-04")
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    # The command itself, in a process of its own: its peak resident memory (ru_maxrss) and wall time.
    env = os.environ | {"DATABASE_URL": rt.settings.database_url}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", COMMAND, "import-cases", str(path), "--month", "2027-05"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=workdir,
    )
    command = time.perf_counter() - started
    maxrss_kib = int(done.stderr.rsplit("VmHWM:", 1)[1].split()[0])
    target = 2.0 * scale.import_rows / FULL.import_rows
    return [
        Row(
            f"Annex A import, {scale.import_rows:,} rows",
            f"{spent:.2f} s",
            f"{read_only:.2f} s (calamine read)",
            spent / read_only,
            f"<= {target:g} s",
            spent <= target,
            {"seconds": spent, "read_seconds": read_only, "cells": cells, "command_seconds": command},
        ),
        Row(
            "Annex A import, peak memory",
            f"{traced_peak / 2**20:.1f} MiB traced",
            f"{maxrss_kib / 1024:.0f} MiB max RSS (command)",
            None,
            "reported",
            None,
            {"tracemalloc_peak_bytes": traced_peak, "command_maxrss_kib": maxrss_kib},
        ),
    ]
