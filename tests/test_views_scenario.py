"""Each view's numbers on the hand-written scenario of `analytics_fixtures`.

Every expected value below was worked out by hand from the timelines in
`analytics_fixtures.py`. The connection runs in the Asia/Tokyo time zone so that a
view bucketing days in the session time zone instead of UTC would fail.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from analytics_fixtures import DAY_TWO, SCENARIO_DATASET, SCRIPT_MESSAGE, SYNC_STARTED_AT, at, load_scenario

DAY_ONE_DATE = date(2025, 3, 10)
DAY_TWO_DATE = date(2025, 3, 11)


@pytest.fixture(scope="module")
def connection():
    connection = duckdb.connect()
    load_scenario(connection)
    connection.execute("set timezone = 'Asia/Tokyo'").fetchall()
    connection.execute(f"use {SCENARIO_DATASET}").fetchall()
    yield connection
    connection.close()


def fetch_rows(connection: duckdb.DuckDBPyConnection, sql: str, parameters: list | None = None) -> list[dict]:
    cursor = connection.execute(sql, parameters or [])
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def rows_by(connection: duckdb.DuckDBPyConnection, view: str, *keys: str) -> dict:
    """Return the view's rows keyed by one column (or a tuple of columns)."""
    rows = fetch_rows(connection, f"select * from {view}")
    if len(keys) == 1:
        return {row[keys[0]]: row for row in rows}
    return {tuple(row[key] for key in keys): row for row in rows}


def test_runs_enriched_durations(connection):
    runs = rows_by(connection, "runs_enriched", "run_id")

    assert len(runs) == 16
    assert runs["run-completed"]["duration_s"] == 10.0  # the times win over total_duration_ms = 10250
    assert runs["run-chat-1"]["duration_s"] == 1800.0
    assert runs["run-orphan"]["duration_s"] == 60.0  # no end_time: total_duration_ms / 1000
    assert runs["run-stuck"]["duration_s"] is None
    assert runs["run-retrying"]["duration_s"] is None


def test_runs_enriched_flags(connection):
    runs = rows_by(connection, "runs_enriched", "run_id")

    assert sorted(run_id for run_id, run in runs.items() if not run["is_final"]) == [
        "run-no-events", "run-retrying", "run-stuck"
    ]
    assert sorted(run_id for run_id, run in runs.items() if run["is_failure"]) == [
        "run-embed-failed", "run-failed", "run-indexer", "run-terminated", "run-timed-out"
    ]
    assert runs["run-chat-1"]["is_success"] is None
    assert runs["run-stuck"]["is_success"] is None
    assert runs["run-canceled"]["is_success"] is False
    assert runs["run-chat-2"]["is_success"] is True
    assert sorted(run_id for run_id, run in runs.items() if not run["is_root"]) == [
        "run-chunk", "run-embed-failed", "run-embed-ok", "run-orphan"
    ]


def test_runs_enriched_start_day_is_utc(connection):
    runs = rows_by(connection, "runs_enriched", "run_id")

    assert runs["run-canceled"]["start_day"] == DAY_ONE_DATE  # 23:50 UTC, already 08:50 next day in Tokyo
    assert runs["run-stuck"]["start_day"] == DAY_TWO_DATE


def test_runs_enriched_event_summary(connection):
    runs = rows_by(connection, "runs_enriched", "run_id")

    assert runs["run-failed"]["event_count"] == 17
    assert runs["run-missing-start"]["event_count"] == 10
    assert runs["run-failed"]["closing_event_type"] == "WORKFLOW_EXECUTION_FAILED"
    assert runs["run-chat-1"]["closing_event_type"] == "WORKFLOW_EXECUTION_CONTINUED_AS_NEW"
    assert runs["run-stuck"]["last_event_type"] == "ACTIVITY_TASK_SCHEDULED"
    assert runs["run-stuck"]["last_event_time"] == at(DAY_TWO, "09:00:00")
    assert runs["run-stuck"]["closing_event_type"] is None


def test_runs_enriched_run_without_events(connection):
    runs = rows_by(connection, "runs_enriched", "run_id")

    for run_id in ("run-no-events", "run-chunk", "run-orphan"):
        assert runs[run_id]["event_count"] == 0
        assert runs[run_id]["last_event_time"] is None
        assert runs[run_id]["last_event_type"] is None
        assert runs[run_id]["closing_event_type"] is None


def test_workflow_daily_stats_counts(connection):
    stats = rows_by(connection, "workflow_daily_stats", "workflow_name", "start_day")

    assert len(stats) == 8
    summarizer_day_two = stats[("document-summarizer", DAY_TWO_DATE)]
    assert summarizer_day_two["runs"] == 3
    assert summarizer_day_two["count_completed"] == 1
    assert summarizer_day_two["count_terminated"] == 1
    assert summarizer_day_two["count_running"] == 1
    agent_day_one = stats[("support-agent", DAY_ONE_DATE)]
    assert agent_day_one["count_timed_out"] == 1
    assert agent_day_one["count_canceled"] == 1
    assert stats[("chat-session", DAY_ONE_DATE)]["count_continued_as_new"] == 1
    assert stats[("support-agent", DAY_TWO_DATE)]["count_running"] == 2


def test_workflow_daily_stats_counts_add_up(connection):
    stats = fetch_rows(connection, "select * from workflow_daily_stats")

    for row in stats:
        by_status = sum(row[name] for name in row if name.startswith("count_"))
        assert by_status == row["runs"], row


def test_workflow_daily_stats_success_rate(connection):
    stats = rows_by(connection, "workflow_daily_stats", "workflow_name", "start_day")

    assert stats[("document-summarizer", DAY_ONE_DATE)]["success_rate"] == 0.5
    assert stats[("document-summarizer", DAY_TWO_DATE)]["success_rate"] == 0.5  # the open run is left out
    assert stats[("support-agent", DAY_ONE_DATE)]["success_rate"] == 0.0
    assert stats[("support-agent", DAY_TWO_DATE)]["success_rate"] is None  # no final run
    assert stats[("chat-session", DAY_ONE_DATE)]["success_rate"] == 1.0  # continue-as-new is left out
    assert stats[("embed-batch", DAY_TWO_DATE)]["success_rate"] == pytest.approx(2 / 3)


def test_workflow_daily_stats_percentiles(connection):
    stats = rows_by(connection, "workflow_daily_stats", "workflow_name", "start_day")

    summarizer_day_one = stats[("document-summarizer", DAY_ONE_DATE)]
    assert summarizer_day_one["p50_duration_s"] == pytest.approx(35.0)
    assert summarizer_day_one["p95_duration_s"] == pytest.approx(57.5)
    summarizer_day_two = stats[("document-summarizer", DAY_TWO_DATE)]
    assert summarizer_day_two["p50_duration_s"] == pytest.approx(360.0)
    assert summarizer_day_two["p95_duration_s"] == pytest.approx(576.0)
    assert stats[("embed-batch", DAY_TWO_DATE)]["p95_duration_s"] == pytest.approx(228.0)
    assert stats[("support-agent", DAY_TWO_DATE)]["p50_duration_s"] is None


def test_workflow_stats_totals(connection):
    stats = rows_by(connection, "workflow_stats", "workflow_name")

    summarizer = stats["document-summarizer"]
    assert summarizer["runs"] == 5
    assert summarizer["success_rate"] == 0.5
    assert summarizer["p50_duration_s"] == pytest.approx(90.0)
    assert summarizer["p95_duration_s"] == pytest.approx(528.0)
    assert stats["support-agent"]["runs"] == 4
    assert stats["support-agent"]["count_running"] == 2
    assert sum(row["runs"] for row in stats.values()) == 16


def test_activity_executions_outcomes(connection):
    executions = rows_by(connection, "activity_executions", "run_id", "activity_type")

    assert len(executions) == 10
    assert executions[("run-completed", "call_llm")]["outcome"] == "completed"
    assert executions[("run-failed", "download_file")]["outcome"] == "failed"
    assert executions[("run-failed", "parse_pdf")]["outcome"] == "failed"
    assert executions[("run-timed-out", "call_llm")]["outcome"] == "timed_out"
    assert executions[("run-canceled", "run_tool")]["outcome"] == "canceled"
    assert executions[("run-terminated", "send_email")]["outcome"] == "abandoned"
    assert executions[("run-stuck", "call_llm")]["outcome"] == "open"
    assert executions[("run-retrying", "run_tool")]["outcome"] == "open"


def test_activity_executions_retries(connection):
    executions = rows_by(connection, "activity_executions", "run_id", "activity_type")

    parse_pdf = executions[("run-failed", "parse_pdf")]
    assert parse_pdf["attempt"] == 4
    assert parse_pdf["is_retried"] is True
    assert parse_pdf["failure_message"] == SCRIPT_MESSAGE
    assert parse_pdf["failure_type"] == "ParseError"
    assert executions[("run-embed-failed", "embed_chunks")]["attempt"] == 2
    assert executions[("run-completed", "call_llm")]["is_retried"] is False
    assert executions[("run-terminated", "send_email")]["is_retried"] is None


def test_activity_executions_latencies(connection):
    executions = rows_by(connection, "activity_executions", "run_id", "activity_type")

    assert executions[("run-completed", "call_llm")]["schedule_to_start_ms"] == 500
    assert executions[("run-completed", "call_llm")]["start_to_close_ms"] == 8000
    assert executions[("run-failed", "parse_pdf")]["schedule_to_start_ms"] == 39_000
    assert executions[("run-timed-out", "call_llm")]["start_to_close_ms"] == 30_000
    assert executions[("run-retrying", "run_tool")]["schedule_to_start_ms"] == 1000
    assert executions[("run-retrying", "run_tool")]["start_to_close_ms"] is None


def test_activity_executions_missing_started_event(connection):
    execution = rows_by(connection, "activity_executions", "run_id", "activity_type")[
        ("run-missing-start", "call_llm")
    ]

    assert execution["outcome"] == "completed"
    assert execution["attempt"] is None
    assert execution["started_time"] is None
    assert execution["schedule_to_start_ms"] is None
    assert execution["start_to_close_ms"] is None
    assert execution["closed_event_id"] == 7


def test_activity_executions_link_through_started_event(connection):
    """The ACTIVITY_TASK_CANCELED event of run-canceled names only its started event."""
    execution = rows_by(connection, "activity_executions", "run_id", "activity_type")[
        ("run-canceled", "run_tool")
    ]

    assert execution["closed_event_id"] == 12
    assert execution["start_to_close_ms"] == 23_000


def test_activity_stats_failures(connection):
    stats = rows_by(connection, "activity_stats", "workflow_name", "activity_type")

    assert len(stats) == 7
    agent_llm = stats[("support-agent", "call_llm")]
    assert agent_llm["executions"] == 2
    assert agent_llm["failures"] == 1
    assert agent_llm["failure_rate"] == 1.0  # the open execution is left out
    assert stats[("support-agent", "run_tool")]["failure_rate"] == 0.0
    assert stats[("document-summarizer", "send_email")]["failure_rate"] is None
    assert stats[("document-summarizer", "parse_pdf")]["retried_executions"] == 1
    assert stats[("document-summarizer", "call_llm")]["retried_executions"] == 0
    assert stats[("document-summarizer", "parse_pdf")]["top_failure_message"] == SCRIPT_MESSAGE
    assert stats[("document-summarizer", "call_llm")]["top_failure_message"] is None


def test_activity_stats_percentiles(connection):
    stats = rows_by(connection, "activity_stats", "workflow_name", "activity_type")

    summarizer_llm = stats[("document-summarizer", "call_llm")]
    assert summarizer_llm["p50_schedule_to_start_ms"] == 500.0  # the execution without a start is left out
    assert summarizer_llm["p95_start_to_close_ms"] == 8000.0
    assert stats[("embed-batch", "embed_chunks")]["p50_start_to_close_ms"] == 120_000.0


def test_run_failures_rows(connection):
    failures = rows_by(connection, "run_failures", "run_id")

    assert sorted(failures) == ["run-embed-failed", "run-failed", "run-indexer", "run-terminated", "run-timed-out"]
    assert failures["run-failed"]["failure_message"] == "activity parse_pdf failed"
    assert failures["run-failed"]["failure_type"] == "ActivityError"
    assert failures["run-indexer"]["failure_type"] == "ChildWorkflowFailure"


def test_run_failures_termination_and_timeout(connection):
    failures = rows_by(connection, "run_failures", "run_id")

    assert failures["run-terminated"]["failure_message"] == "stopped by operator"
    assert failures["run-terminated"]["failure_type"] == "WORKFLOW_EXECUTION_TERMINATED"
    assert failures["run-timed-out"]["failure_message"] is None
    assert failures["run-timed-out"]["failure_type"] == "WORKFLOW_EXECUTION_TIMED_OUT"


def test_run_failures_last_failed_activity(connection):
    failures = rows_by(connection, "run_failures", "run_id")

    failed = failures["run-failed"]
    assert failed["last_failed_activity_type"] == "parse_pdf"  # not the earlier download_file
    assert failed["last_failed_activity_attempt"] == 4
    assert failed["last_failed_activity_message"] == SCRIPT_MESSAGE
    assert failures["run-timed-out"]["last_failed_activity_outcome"] == "timed_out"
    assert failures["run-embed-failed"]["last_failed_activity_attempt"] == 2
    assert failures["run-indexer"]["last_failed_activity_type"] is None


def test_open_runs_ages(connection):
    open_runs = rows_by(connection, "open_runs", "run_id")

    assert sorted(open_runs) == ["run-no-events", "run-retrying", "run-stuck"]
    assert {row["as_of"] for row in open_runs.values()} == {SYNC_STARTED_AT}
    assert open_runs["run-stuck"]["age_s"] == 21_600.0
    assert open_runs["run-stuck"]["since_last_event_s"] == 10_800.0
    assert open_runs["run-retrying"]["since_last_event_s"] == 1199.0
    assert open_runs["run-no-events"]["age_s"] == 600.0


def test_open_runs_stuck_flag(connection):
    open_runs = rows_by(connection, "open_runs", "run_id")

    assert open_runs["run-stuck"]["is_stuck"] is True
    assert open_runs["run-retrying"]["is_stuck"] is False
    assert open_runs["run-no-events"]["is_stuck"] is None
    assert open_runs["run-no-events"]["since_last_event_s"] is None


def test_execution_trees_parent_and_children(connection):
    trees = rows_by(connection, "execution_trees", "root_execution_id")

    assert len(trees) == 12
    indexer = trees["exec-indexer"]
    assert indexer["workflow_name"] == "rag-indexer"
    assert indexer["runs_in_tree"] == 4
    assert indexer["depth"] == 3
    assert (indexer["count_completed"], indexer["count_failed"]) == (2, 2)
    assert (indexer["count_running"], indexer["count_other"]) == (0, 0)
    assert indexer["last_end_time"] == at(DAY_TWO, "08:10:00")
    assert indexer["wall_time_s"] == 600.0
    assert indexer["has_failure"] is True


def test_execution_trees_continue_as_new(connection):
    chat = rows_by(connection, "execution_trees", "root_execution_id")["exec-chat"]

    assert chat["runs_in_tree"] == 2
    assert chat["depth"] == 1
    assert chat["count_other"] == 1
    assert chat["wall_time_s"] == 2400.0
    assert chat["has_failure"] is False


def test_execution_trees_open_and_orphan(connection):
    trees = rows_by(connection, "execution_trees", "root_execution_id")

    assert trees["exec-stuck"]["count_running"] == 1
    assert trees["exec-stuck"]["last_end_time"] is None
    assert trees["exec-stuck"]["wall_time_s"] is None
    orphan = trees["exec-missing"]
    assert orphan["workflow_name"] is None
    assert orphan["depth"] is None
    assert orphan["last_end_time"] is None  # the only run has no end_time


def test_workflow_task_health(connection):
    health = rows_by(connection, "workflow_task_health", "workflow_name", "event_day")

    assert len(health) == 7
    agent_day_one = health[("support-agent", DAY_ONE_DATE)]
    assert agent_day_one["workflow_tasks"] == 6
    assert agent_day_one["workflow_task_failures"] == 1
    assert agent_day_one["failure_rate"] == pytest.approx(1 / 6)
    indexer = health[("rag-indexer", DAY_TWO_DATE)]
    assert indexer["workflow_tasks"] == 4
    assert indexer["workflow_task_timeouts"] == 1
    assert indexer["failure_rate"] == 0.25
    assert health[("document-summarizer", DAY_ONE_DATE)]["workflow_tasks"] == 5


def test_latest_sync(connection):
    latest = fetch_rows(connection, "select * from latest_sync")

    assert len(latest) == 1
    assert latest[0]["as_of"] == SYNC_STARTED_AT
    assert latest[0]["runs_written"] == 15
    assert latest[0]["requests"] == 33
