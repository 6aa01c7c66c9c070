"""How `create_views` creates the views: order, binding to the dataset, missing tables."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from analytics_fixtures import (
    DAY_ONE,
    LAST_SYNCED_AT,
    _activity_closed,
    _activity_scheduled,
    _activity_started,
    _event_row,
    _started,
    at,
    create_loaded_tables,
    insert_rows,
    load_scenario,
    qualified_name,
    scenario_events,
    scenario_runs,
)
from mistral_workflows import views

REPOSITORY_SQL_DIR = Path(__file__).resolve().parents[1] / "sql"


def count_rows(connection: duckdb.DuckDBPyConnection, relation: str) -> int:
    return connection.execute(f"select count(*) from {relation}").fetchall()[0][0]


def test_sql_dir_is_repository_folder():
    assert views.sql_dir().resolve() == REPOSITORY_SQL_DIR


def test_view_names_cover_every_file():
    files = sorted(path.stem for path in REPOSITORY_SQL_DIR.glob("*.sql"))

    assert sorted(views.view_names()) == files


def test_view_names_in_dependency_order():
    order = views.view_names()

    for name in order:
        for dependency in views._referenced_views(views.read_view_sql(name), order):
            assert order.index(dependency) < order.index(name), f"{name} is listed before {dependency}"
    assert order.index("runs_enriched") < order.index("workflow_daily_stats")
    assert order.index("activity_executions") < order.index("run_failures")


def test_create_views_returns_every_view():
    connection = duckdb.connect()

    names = load_scenario(connection, "wf_test")

    assert names == views.view_names()
    created = connection.execute(
        "select view_name from duckdb_views() where schema_name = 'wf_test' and not internal"
    ).fetchall()
    assert sorted(row[0] for row in created) == sorted(names)


def test_create_views_twice_keeps_results():
    connection = duckdb.connect()
    load_scenario(connection, "wf_test")
    before = {name: count_rows(connection, f"wf_test.{name}") for name in views.view_names()}

    views.create_views(connection, "wf_test")

    after = {name: count_rows(connection, f"wf_test.{name}") for name in views.view_names()}
    assert after == before
    assert before["runs_enriched"] == 16


def test_views_compile_without_events():
    connection = duckdb.connect()
    create_loaded_tables(connection, "wf_empty")
    insert_rows(connection, "wf_empty", "runs", scenario_runs())

    views.create_views(connection, "wf_empty")

    event_counts = connection.execute("select distinct event_count from wf_empty.runs_enriched").fetchall()
    assert event_counts == [(0,)]
    assert count_rows(connection, "wf_empty.activity_executions") == 0
    assert count_rows(connection, "wf_empty.workflow_task_health") == 0
    assert count_rows(connection, "wf_empty.run_failures") == 5
    assert count_rows(connection, "wf_empty.execution_trees") == 12


def test_views_compile_on_empty_tables():
    connection = duckdb.connect()
    create_loaded_tables(connection, "wf_empty")

    names = views.create_views(connection, "wf_empty")

    for name in names:
        expected = 1 if name in ("analytics_settings", "latest_sync") else 0
        assert count_rows(connection, f"wf_empty.{name}") == expected, name


def test_missing_sync_log_created_empty():
    connection = duckdb.connect()
    create_loaded_tables(connection, "wf_test")
    insert_rows(connection, "wf_test", "runs", scenario_runs())

    views.create_views(connection, "wf_test")

    columns = connection.execute(
        "select column_name from information_schema.columns "
        "where table_schema = 'wf_test' and table_name = 'sync_log' order by ordinal_position"
    ).fetchall()
    assert [row[0] for row in columns] == [name for name, _ in views.SYNC_LOG_COLUMNS]
    assert count_rows(connection, "wf_test.sync_log") == 0


def test_as_of_falls_back_to_synced_at():
    connection = duckdb.connect()
    create_loaded_tables(connection, "wf_test")
    runs = scenario_runs()
    runs[3]["synced_at"] = LAST_SYNCED_AT
    insert_rows(connection, "wf_test", "runs", runs)
    views.create_views(connection, "wf_test")

    as_of = connection.execute("select distinct as_of from wf_test.open_runs").fetchall()

    assert as_of == [(LAST_SYNCED_AT,)]


def test_missing_runs_table_skips_views(caplog):
    connection = duckdb.connect()
    connection.execute("create schema wf_new").fetchall()

    with caplog.at_level(logging.WARNING, logger="mistral_workflows.views"):
        names = views.create_views(connection, "wf_new")

    assert names == []
    assert "has no table runs, run_events" in caplog.text
    assert connection.execute("select count(*) from duckdb_views() where schema_name = 'wf_new'").fetchall() == [(0,)]


def test_views_read_their_own_dataset():
    """Two datasets in one file: each view must read the tables beside it, whatever the search path."""
    connection = duckdb.connect()
    load_scenario(connection, "wf_full")
    create_loaded_tables(connection, "wf_small")
    insert_rows(connection, "wf_small", "runs", scenario_runs()[:2])
    views.create_views(connection, "wf_small")

    connection.execute("set search_path = 'wf_small'").fetchall()
    full_runs = count_rows(connection, "wf_full.workflow_stats")
    full_events = connection.execute("select sum(event_count) from wf_full.runs_enriched").fetchall()[0][0]
    connection.execute("set search_path = 'wf_full'").fetchall()
    small_runs = count_rows(connection, "wf_small.runs_enriched")

    assert full_runs == 6
    assert full_events == len(scenario_events())
    assert small_runs == 2


def test_dataset_named_like_database_file(tmp_path):
    """`mistral_workflows.runs` is ambiguous in mistral_workflows.duckdb, but the views must still work."""
    path = tmp_path / "mistral_workflows.duckdb"
    connection = duckdb.connect(str(path))
    load_scenario(connection, "mistral_workflows")
    connection.close()

    reader = duckdb.connect(str(path), read_only=True)
    relation = "mistral_workflows.mistral_workflows.runs_enriched"
    assert count_rows(reader, relation) == 16
    reader.close()

    attached = duckdb.connect()
    attached.execute(f"attach '{path}' as archive (read_only)").fetchall()
    assert count_rows(attached, "archive.mistral_workflows.open_runs") == 3
    attached.close()


def test_dataset_name_needing_quotes():
    connection = duckdb.connect()

    names = load_scenario(connection, 'Runs "Archive" 2025')

    assert len(names) == len(views.view_names())
    assert count_rows(connection, qualified_name(connection, 'Runs "Archive" 2025', "run_failures")) == 5


def test_broken_view_names_its_file(tmp_path, monkeypatch):
    (tmp_path / "broken_view.sql").write_text("-- One row per nothing.\nselect no_such_column from runs\n")
    monkeypatch.setattr(views, "sql_dir", lambda: tmp_path)
    connection = duckdb.connect()
    create_loaded_tables(connection, "wf_test")

    with pytest.raises(views.ViewDefinitionError, match="broken_view"):
        views.create_views(connection, "wf_test")


def test_view_cycle_rejected(tmp_path, monkeypatch):
    (tmp_path / "first_view.sql").write_text("-- One row.\nselect * from second_view\n")
    (tmp_path / "second_view.sql").write_text("-- One row.\nselect * from first_view\n")
    monkeypatch.setattr(views, "sql_dir", lambda: tmp_path)

    with pytest.raises(views.ViewDefinitionError, match="cycle"):
        views.view_names()


def test_latencies_are_elapsed_milliseconds():
    """A 0.2 ms queue wait that crosses a millisecond boundary is 0 ms, and a 4.278 ms run is 4 ms."""
    connection = duckdb.connect()
    create_loaded_tables(connection, "wf_ms")
    run = next(row for row in scenario_runs() if row["run_id"] == "run-completed")
    insert_rows(connection, "wf_ms", "runs", [run])
    scheduled_at = at(DAY_ONE, "08:00:01.999900")
    history = [
        _started(at(DAY_ONE, "08:00:00"), "document-summarizer"),
        _activity_scheduled(scheduled_at, "call_llm", "1"),
        _activity_started(scheduled_at + timedelta(microseconds=200), scheduled_event_id=2, attempt=1),
        _activity_closed(scheduled_at + timedelta(microseconds=4_478), "ACTIVITY_TASK_COMPLETED", 2, 3),
    ]
    events = [_event_row("run-completed", event_id, *event) for event_id, event in enumerate(history, start=1)]
    insert_rows(connection, "wf_ms", "run_events", events)

    views.create_views(connection, "wf_ms")

    latencies = connection.execute(
        "select schedule_to_start_ms, start_to_close_ms from wf_ms.activity_executions"
    ).fetchall()
    assert latencies == [(0, 4)]
