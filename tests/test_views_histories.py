"""Sanity checks of the views after real syncs: the shared Temporal histories and a synthetic account.

These data sets are too large to work out every number by hand. The checks here are
invariants that any correct view keeps: totals match the loaded tables, links between
events point forward in the history, and closing events agree with the run status.
The hand-written scenario checks the exact numbers instead.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from conftest import API_KEY, DATASET, FIXED_NOW, shared_histories_or_skip, sync_options
from mistral_workflows.emulator import Emulator
from mistral_workflows.report import write_report
from mistral_workflows.sync import run_sync


@pytest.fixture(scope="module")
def histories_db(tmp_path_factory) -> Path:
    """A database synced from the shared folder of real Temporal histories, one run per file."""
    histories = shared_histories_or_skip()
    db_path = tmp_path_factory.mktemp("histories") / "runs.duckdb"
    with Emulator(api_key=API_KEY, histories_dir=histories) as emulator:
        run_sync(sync_options(emulator, db_path))
    return db_path


@pytest.fixture(scope="module")
def synthetic_db(tmp_path_factory) -> Path:
    """A database synced from the emulator's synthetic account of 60 runs."""
    db_path = tmp_path_factory.mktemp("synthetic") / "runs.duckdb"
    with Emulator(api_key=API_KEY, runs=60, seed=3, now=FIXED_NOW) as emulator:
        run_sync(sync_options(emulator, db_path))
    return db_path


@pytest.fixture(params=["histories_db", "synthetic_db"])
def synced(request) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(str(request.getfixturevalue(request.param)), read_only=True)
    connection.execute(f"use {DATASET}").fetchall()
    yield connection
    connection.close()


def scalar(connection: duckdb.DuckDBPyConnection, sql: str):
    return connection.execute(sql).fetchall()[0][0]


def test_runs_enriched_matches_tables(synced):
    assert scalar(synced, "select count(*) from runs_enriched") == scalar(synced, "select count(*) from runs")
    assert scalar(synced, "select sum(event_count) from runs_enriched") == scalar(
        synced, "select count(*) from run_events"
    )


def test_closing_event_matches_status(synced):
    mismatched = synced.execute(
        """
        select run_id, status, closing_event_type
        from runs_enriched
        where event_count > 0
            and closing_event_type is distinct from
                case when is_final then 'WORKFLOW_EXECUTION_' || status end
        """
    ).fetchall()

    assert mismatched == []


def test_daily_counts_add_up(synced):
    totals = synced.execute(
        """
        select
            sum(runs),
            sum(count_completed + count_failed + count_canceled + count_terminated
                + count_timed_out + count_continued_as_new + count_running)
        from workflow_daily_stats
        """
    ).fetchall()[0]

    assert totals[0] == scalar(synced, "select count(*) from runs")
    assert totals[1] == totals[0]


def test_success_rates_are_fractions(synced):
    out_of_range = scalar(
        synced, "select count(*) from workflow_daily_stats where success_rate < 0 or success_rate > 1"
    )

    assert out_of_range == 0
    assert scalar(synced, "select count(*) from workflow_stats where success_rate is not null") > 0


def test_activity_executions_one_per_scheduled_event(synced):
    scheduled = scalar(synced, "select count(*) from run_events where event_type = 'ACTIVITY_TASK_SCHEDULED'")

    assert scalar(synced, "select count(*) from activity_executions") == scheduled
    assert scalar(synced, "select count(distinct (run_id, scheduled_event_id)) from activity_executions") == scheduled


def test_activity_links_point_forward(synced):
    backwards = synced.execute(
        """
        select run_id, scheduled_event_id, started_event_id, closed_event_id
        from activity_executions
        where started_event_id <= scheduled_event_id
            or closed_event_id <= coalesce(started_event_id, scheduled_event_id)
            or schedule_to_start_ms < 0
            or start_to_close_ms < 0
        """
    ).fetchall()

    assert backwards == []


def test_activity_outcomes_follow_run_state(synced):
    wrong = synced.execute(
        """
        select executions.run_id, executions.outcome, runs.status
        from activity_executions as executions
        inner join runs_enriched as runs on runs.run_id = executions.run_id
        where (executions.outcome = 'open' and runs.is_final)
            or (executions.outcome = 'abandoned' and not runs.is_final)
            or executions.outcome not in ('completed', 'failed', 'timed_out', 'canceled', 'open', 'abandoned')
        """
    ).fetchall()

    assert wrong == []


def test_activity_stats_totals(synced):
    totals = synced.execute(
        "select sum(executions), sum(failures), sum(retried_executions) from activity_stats"
    ).fetchall()[0]
    expected = synced.execute(
        """
        select
            count(*),
            count(*) filter (where outcome in ('failed', 'timed_out')),
            count(*) filter (where attempt > 1)
        from activity_executions
        """
    ).fetchall()[0]

    assert totals == expected


def test_run_failures_cover_failed_runs(synced):
    failed = scalar(synced, "select count(*) from runs where status in ('FAILED', 'TIMED_OUT', 'TERMINATED')")

    assert scalar(synced, "select count(*) from run_failures") == failed
    assert scalar(synced, "select count(*) from run_failures where status = 'FAILED' and failure_message is null") == 0


def test_open_runs_measured_from_latest_sync(synced):
    open_count = scalar(synced, "select count(*) from runs_enriched where not is_final")
    other_as_of = scalar(
        synced,
        "select count(*) from open_runs where as_of is distinct from (select max(started_at) from sync_log)",
    )

    assert scalar(synced, "select count(*) from open_runs") == open_count
    assert other_as_of == 0


def test_execution_trees_hold_every_run(synced):
    assert scalar(synced, "select sum(runs_in_tree) from execution_trees") == scalar(synced, "select count(*) from runs")
    assert scalar(
        synced,
        "select count(*) from execution_trees "
        "where count_completed + count_failed + count_running + count_other <> runs_in_tree",
    ) == 0


def test_real_histories_outcomes(histories_db):
    """The shared files hold 25 activity executions; only the still-open run leaves one open."""
    connection = duckdb.connect(str(histories_db), read_only=True)
    connection.execute(f"use {DATASET}").fetchall()
    outcomes = dict(connection.execute("select outcome, count(*) from activity_executions group by outcome").fetchall())
    open_runs = connection.execute("select workflow_name from open_runs order by workflow_name").fetchall()
    task_failures = scalar(connection, "select sum(workflow_task_failures) from workflow_task_health")
    connection.close()

    assert outcomes == {"completed": 24, "open": 1}
    assert open_runs == [("QuickActivityWorkflow",), ("go.uber.org/cadence/test/replaytests.Workflow",)]
    assert task_failures == 1  # the TypeScript history has one failed workflow task


def test_report_on_real_histories(histories_db, tmp_path):
    numbers = write_report(histories_db, tmp_path / "report.html")

    assert numbers["runs"] == 11
    assert numbers["open_runs"] == 2
    assert numbers["failed_runs"] == 0
    assert (tmp_path / "report.html").stat().st_size > 10_000
