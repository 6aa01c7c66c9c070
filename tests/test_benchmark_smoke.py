"""The benchmark end to end at tiny sizes, and its row check on files that differ.

No timing is asserted: the quick run only proves that every contender runs, that
the results page lists them, and that the contenders loaded the same rows.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO_ROOT / "benchmarks"
CONTENDERS = (
    "ours: full sync",
    "ours: sync with nothing new",
    "dlt rest_api source",
    "plain sequential script",
    "floor (computed)",
)


def _load_row_checks():
    # The benchmark modules import each other by bare name, so row_checks is loaded from its file.
    spec = importlib.util.spec_from_file_location("benchmark_row_checks", BENCH_DIR / "row_checks.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # @dataclass looks the module up in sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_quick_benchmark_lists_every_contender(tmp_path):
    out = tmp_path / "results.md"
    environment = {**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"}

    completed = subprocess.run(
        [sys.executable, str(BENCH_DIR / "bench.py"), "--quick", "--skip-big", "--out", str(out)],
        cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=180,
    )

    assert completed.returncode == 0, completed.stderr[-4000:]
    page = out.read_text()
    main_section = page.split("## Scenario `main`")[1].split("## Scenario `huge`")[0]
    for contender in CONTENDERS:
        assert f"| {contender} |" in main_section, f"{contender!r} missing from the main table"
    assert page.count("Row check (rows equal)") == 2, page
    assert "ROWS DIFFER" not in page
    assert "Row checks passed in main, huge" in completed.stderr


def _write_contender_file(path: Path, runs: list[str], events: list[tuple[str, int]]) -> None:
    connection = duckdb.connect(str(path))
    try:
        connection.execute("create table runs (run_id varchar)")
        connection.execute("create table run_events (run_id varchar, event_id bigint)")
        connection.executemany("insert into runs values (?)", [(run_id,) for run_id in runs])
        connection.executemany("insert into run_events values (?, ?)", events)
    finally:
        connection.close()


def test_row_check_reports_missing_and_duplicate_events(tmp_path):
    row_checks = _load_row_checks()
    events = [("run-a", 1), ("run-a", 2), ("run-b", 1)]
    _write_contender_file(tmp_path / "reference.duckdb", ["run-a", "run-b"], events)
    _write_contender_file(tmp_path / "same.duckdb", ["run-b", "run-a"], list(reversed(events)))
    _write_contender_file(tmp_path / "short.duckdb", ["run-a", "run-b"], [("run-a", 1), ("run-a", 1), ("run-b", 1)])

    check = row_checks.compare_rows(
        row_checks.plain_tables(tmp_path / "reference.duckdb"),
        [row_checks.plain_tables(tmp_path / "same.duckdb"), row_checks.plain_tables(tmp_path / "short.duckdb")],
    )

    reference, same, short = check.comparisons
    assert reference.is_equal
    assert same.is_equal
    assert not short.is_equal
    assert short.events_missing == 1
    assert short.events_extra == 0
    assert short.duplicate_events == 1
    assert not check.passed
