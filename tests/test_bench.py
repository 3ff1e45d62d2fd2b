"""The benchmarks under bench/ run, at a tiny scale, so they cannot rot. Nothing here is timed: it checks that every
figure is a ratio of two real measurements taken in the run, that the work measured was really done (the benchmark
itself checks the sweeps acted on every item due and the clicks changed every action), and that App Home costs the
same number of SQL statements for few items as for many."""

from __future__ import annotations

import statistics
from datetime import datetime

import pytest

from bench.figures import TINY, percentile
from bench.run import main, run
from bot.calendar import now
from tests.conftest import fresh_database


@pytest.fixture(scope="module")
def results(tmp_path_factory, _template_db):
    url = fresh_database(_template_db, tmp_path_factory.mktemp("bench"))
    return run(url, TINY, say=lambda line: None)


def by_name(results, start: str):
    return next(r for r in results.rows if r.name.startswith(start))


def test_every_benchmark_reports(results):
    names = [r.name for r in results.rows]
    assert len(names) == 9
    for start in ("App Home", "reminder sweep", "escalation sweep", "ack latency, modal", "ack latency, button"):
        assert any(n.startswith(start) for n in names), start
    assert "PASS" in results.table() or "MISS" in results.table()
    # The clock the benchmark fixed for its run is released.
    assert abs((now() - datetime.now(now().tzinfo)).total_seconds()) < 60


def test_home_costs_the_same_statements_for_few_items_as_for_many(results):
    home = by_name(results, "App Home")
    small, large = TINY.home_items
    assert home.detail["actions_shown"] == {small: small, large: large}
    counts = home.detail["statements"]
    assert counts[small] > 0 and counts[small] == counts[large]
    assert home.passed is True and home.ratio == 1


def test_sweep_ratios_come_from_two_measurements(results):
    for name in ("reminder sweep", "escalation sweep"):
        row = by_name(results, name)
        sweep, query = row.detail["sweep_seconds"], row.detail["query_seconds"]
        assert len(sweep) == len(query) == TINY.repeats
        assert all(s > 0 for s in sweep + query)
        assert row.ratio == pytest.approx(statistics.median(sweep) / statistics.median(query))
        assert row.passed == (row.ratio <= 3)
        # Each sweep is followed by its writes alone, against the same query measurements.
        floor = results.rows[results.rows.index(row) + 1]
        assert floor.name.strip().startswith("the same writes by SQL alone") and floor.passed is None
        assert floor.detail["query_seconds"] is query and len(floor.detail["written_seconds"]) == TINY.repeats
        assert floor.ratio == pytest.approx(
            statistics.median(floor.detail["written_seconds"]) / statistics.median(query)
        )


def test_latency_ratios_come_from_two_measurements(results):
    for name in ("ack latency, modal", "ack latency, button"):
        row = by_name(results, name)
        ours, bare = row.detail["qabot_seconds"], row.detail["bare_seconds"]
        assert len(ours) == len(bare) == TINY.requests
        assert row.ratio == pytest.approx(percentile(ours, 99) / percentile(bare, 99))
        assert row.passed == (row.ratio <= 3)


def test_import_is_measured_with_its_memory(results):
    row = by_name(results, "Annex A import, 300")
    assert row.detail["seconds"] > 0 and row.detail["read_seconds"] > 0
    assert row.ratio == pytest.approx(row.detail["seconds"] / row.detail["read_seconds"])
    memory = by_name(results, "Annex A import, peak memory")
    assert memory.detail["tracemalloc_peak_bytes"] > 0 and memory.detail["command_maxrss_kib"] > 0


def test_percentile():
    assert percentile([3.0], 99) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert percentile(list(map(float, range(101))), 99) == 99.0


def test_the_command_refuses_a_database_that_is_not_empty(database_url, capsys):
    if not database_url.startswith("sqlite"):
        pytest.skip("the PostgreSQL test database is shared by the suite; --reset would empty it")
    with pytest.raises(SystemExit, match="is not empty"):
        main(["--database", database_url, "--tiny"])
