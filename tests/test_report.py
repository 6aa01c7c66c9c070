"""The HTML report on the hand-written scenario: sections, numbers, escaping, no external reference."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

import mistral_workflows.report_data as report_data
from analytics_fixtures import (
    SCENARIO_DATASET,
    SCRIPT_MESSAGE,
    build_scenario_database,
    create_loaded_tables,
    insert_rows,
    scenario_runs,
)
from mistral_workflows.errors import DatabaseBusy
from mistral_workflows.report import SECTION_IDS, ReportError, write_report
from mistral_workflows.report_html import format_duration
from mistral_workflows.views import create_views

# Opens the database for writing, as a running sync does, until the test kills it.
HOLD_FOR_WRITING = (
    "import sys, time, duckdb\n"
    "connection = duckdb.connect(sys.argv[1])\n"
    "print('holding', flush=True)\n"
    "time.sleep(60)\n"
)


@pytest.fixture(scope="module")
def scenario_path(tmp_path_factory) -> Path:
    return build_scenario_database(tmp_path_factory.mktemp("report") / "scenario.duckdb")


@pytest.fixture(scope="module")
def written_report(scenario_path, tmp_path_factory) -> tuple[dict, str]:
    out_path = tmp_path_factory.mktemp("report_out") / "nested" / "report.html"
    numbers = write_report(scenario_path, out_path, dataset=SCENARIO_DATASET)
    return numbers, out_path.read_text(encoding="utf-8")


def query(path: Path, sql: str) -> list[tuple]:
    connection = duckdb.connect(str(path), read_only=True)
    try:
        connection.execute(f"use {SCENARIO_DATASET}").fetchall()
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def test_report_has_every_section(written_report):
    _, page = written_report

    found = re.findall(r'<section id="([a-z-]+)"', page)

    assert found == SECTION_IDS
    assert page.count("data:image/png;base64,") == 3


def test_report_totals_match_views(written_report, scenario_path):
    numbers, _ = written_report

    assert numbers["runs"] == query(scenario_path, "select count(*) from runs_enriched")[0][0]
    assert numbers["runs"] == 16
    assert numbers["workflows"] == 6
    assert numbers["failed_runs"] == query(scenario_path, "select count(*) from run_failures")[0][0]
    assert numbers["failed_runs"] == 5
    assert numbers["open_runs"] == query(scenario_path, "select count(*) from open_runs")[0][0]
    assert numbers["open_runs"] == 3
    assert numbers["stuck_runs"] == query(scenario_path, "select count(*) from open_runs where is_stuck")[0][0]
    assert numbers["stuck_runs"] == 1
    assert numbers["days"] == 2
    assert numbers["as_of"] == "2025-03-11T12:00:00+00:00"
    assert sum(numbers["runs_by_status"].values()) == 16


def test_report_success_rates_match_views(written_report, scenario_path):
    numbers, _ = written_report

    expected = dict(query(scenario_path, "select workflow_name, success_rate from workflow_stats"))

    assert numbers["success_rate_by_workflow"] == expected
    assert numbers["success_rate_by_workflow"]["document-summarizer"] == 0.5


def test_report_failing_activities_match_views(written_report, scenario_path):
    numbers, _ = written_report

    expected = query(
        scenario_path,
        "select workflow_name, activity_type, failures from activity_stats where failures > 0 "
        "order by failures desc, failure_rate desc, workflow_name, activity_type",
    )

    listed = [(row["workflow_name"], row["activity_type"], row["failures"]) for row in numbers["top_failing_activities"]]
    assert listed == expected
    assert len(listed) == 4


def test_report_shows_numbers_in_page(written_report):
    _, page = written_report

    assert "<strong>16</strong>runs" in page
    assert "<strong>1</strong>stuck" in page
    assert "50.0 %" in page  # success rate of document-summarizer
    assert "run-stuck" in page


def test_report_has_no_external_reference(written_report):
    _, page = written_report

    references = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]*)""", page, flags=re.IGNORECASE)

    assert references, "the charts must be embedded with src attributes"
    assert [reference for reference in references if "http" in reference.lower()] == []
    assert all(reference.startswith("data:image/png;base64,") for reference in references)
    assert "<link" not in page
    assert "@import" not in page
    assert "url(" not in page


def test_report_escapes_failure_message(written_report):
    _, page = written_report

    assert "<script" not in page
    assert "PDF is encrypted &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert SCRIPT_MESSAGE not in page


def test_report_escapes_workflow_name(tmp_path):
    path = tmp_path / "names.duckdb"
    connection = duckdb.connect(str(path))
    create_loaded_tables(connection, SCENARIO_DATASET)
    run = scenario_runs()[0] | {"workflow_name": '<img src="http://evil.example/x.png"> & co'}
    insert_rows(connection, SCENARIO_DATASET, "runs", [run])
    create_views(connection, SCENARIO_DATASET)
    connection.close()

    write_report(path, tmp_path / "report.html", dataset=SCENARIO_DATASET)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")

    assert "&lt;img src=&quot;http://evil.example/x.png&quot;&gt; &amp; co" in page
    assert '<img src="http' not in page


def test_report_opens_database_read_only(scenario_path, tmp_path, monkeypatch):
    calls = []
    original_connect = duckdb.connect

    def recording_connect(*args, **kwargs):
        calls.append(kwargs)
        return original_connect(*args, **kwargs)

    monkeypatch.setattr(report_data.duckdb, "connect", recording_connect)
    write_report(scenario_path, tmp_path / "report.html", dataset=SCENARIO_DATASET)

    assert calls == [{"read_only": True}]


def test_report_on_empty_dataset(tmp_path):
    path = tmp_path / "empty.duckdb"
    connection = duckdb.connect(str(path))
    create_loaded_tables(connection, "mistral_workflows")
    create_views(connection, "mistral_workflows")
    connection.close()

    numbers = write_report(path, tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")

    assert numbers["runs"] == 0
    assert numbers["as_of"] is None
    assert numbers["success_rate_by_workflow"] == {}
    assert page.count("No data to draw.") == 3
    assert re.findall(r'<section id="([a-z-]+)"', page) == SECTION_IDS


def test_report_dataset_named_like_file(tmp_path):
    path = build_scenario_database(tmp_path / "mistral_workflows.duckdb", dataset="mistral_workflows")

    numbers = write_report(path, tmp_path / "report.html")

    assert numbers["runs"] == 16


def test_report_missing_file(tmp_path):
    with pytest.raises(ReportError, match="database file not found"):
        write_report(tmp_path / "absent.duckdb", tmp_path / "report.html")


def test_report_missing_dataset(scenario_path, tmp_path):
    with pytest.raises(ReportError, match="'other_dataset'.*run a sync first"):
        write_report(scenario_path, tmp_path / "report.html", dataset="other_dataset")


def test_report_counts_rows_beyond_open_run_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(report_data, "MAX_OPEN_RUNS", 2)
    path = tmp_path / "scenario.duckdb"
    build_scenario_database(path)

    numbers = write_report(path, tmp_path / "report.html", dataset=SCENARIO_DATASET)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")

    assert numbers["open_runs"] == 3
    assert "Showing 2 of 3 open runs" in page
    assert page.count('<tr class="stuck">') == 1



def test_report_on_database_being_written(scenario_path, tmp_path):
    """A sync holding the file open for writing gives DatabaseBusy, not a DuckDB traceback."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_FOR_WRITING, str(scenario_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(DatabaseBusy, match="another process has it open for writing"):
            write_report(scenario_path, tmp_path / "report.html", dataset=SCENARIO_DATASET)
    finally:
        holder.kill()
        holder.wait(timeout=10)

    assert not (tmp_path / "report.html").exists()


def test_report_on_file_that_is_not_duckdb(tmp_path):
    path = tmp_path / "notes.duckdb"
    path.write_text("not a database\n" * 100)

    with pytest.raises(ReportError, match="cannot open .* read-only"):
        write_report(path, tmp_path / "report.html")


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(12.34, "12.3 s"), (1199.0, "19 min 59 s"), (10_800.0, "3 h 0 min"), (1_268_993.0, "14 d 16 h"), (-90.0, "-1 min 30 s")],
)
def test_format_duration(seconds, expected):
    text = format_duration(seconds)

    assert text.replace("\u00a0", " ") == expected
    assert ("\u00a0" in text) == (abs(seconds) >= 60)


def test_report_open_runs_in_readable_units(written_report):
    _, page = written_report

    assert '<td class="number">6\u00a0h 0\u00a0min</td>' in page  # age of run-stuck
    assert '<td class="number">3\u00a0h 0\u00a0min</td>' in page  # its silence
    assert "<td>yes</td>" in page


def test_report_names_dropped_view(tmp_path):
    path = build_scenario_database(tmp_path / "scenario.duckdb")
    connection = duckdb.connect(str(path))
    connection.execute(f"drop view {SCENARIO_DATASET}.activity_stats").fetchall()
    connection.close()

    with pytest.raises(ReportError, match="is missing the views activity_stats: run a sync"):
        write_report(path, tmp_path / "report.html", dataset=SCENARIO_DATASET)
    assert not (tmp_path / "report.html").exists()


def test_report_on_dropped_events_table(tmp_path):
    path = build_scenario_database(tmp_path / "scenario.duckdb")
    connection = duckdb.connect(str(path))
    connection.execute(f"drop table {SCENARIO_DATASET}.run_events").fetchall()
    connection.close()

    with pytest.raises(ReportError, match="cannot read the views of dataset .*run_events"):
        write_report(path, tmp_path / "report.html", dataset=SCENARIO_DATASET)
