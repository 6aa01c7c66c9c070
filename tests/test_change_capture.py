"""Change capture: open runs are re-checked, late runs caught, and request budgets hold."""

from __future__ import annotations

from datetime import timedelta

from conftest import DATASET, query, scalar, sync_options
from mistral_workflows.sync import run_sync


def _open_runs(db_path) -> int:
    return scalar(db_path, f"select count(*) from {DATASET}.runs where status in ('RUNNING', 'RETRYING_AFTER_ERROR') or status is null")


def test_no_change_sync_request_budget(emulator, db_path):
    run_sync(sync_options(emulator, db_path, page_size=1000))
    open_runs = _open_runs(db_path)
    assert open_runs > 0

    emulator.reset_requests()
    summary = run_sync(sync_options(emulator, db_path, page_size=1000))

    assert emulator.requests["list"] == 1
    assert emulator.requests["history"] == open_runs
    assert emulator.requests["detail"] == 0
    assert summary.counts.unchanged_runs == open_runs
    assert summary.counts.events == 0


def test_runs_finishing_after_clock_advance_are_refreshed(emulator, db_path):
    run_sync(sync_options(emulator, db_path, page_size=1000))
    open_before = {row[0] for row in query(db_path, f"select run_id from {DATASET}.runs where status = 'RUNNING'")}
    events_before = scalar(db_path, f"select count(*) from {DATASET}.run_events")

    emulator.advance(6 * 3600)
    emulator.reset_requests()
    summary = run_sync(sync_options(emulator, db_path, page_size=1000))

    still_open = {row[0] for row in query(db_path, f"select run_id from {DATASET}.runs where status = 'RUNNING'")}
    finished = open_before - still_open
    assert finished, "the clock advance should finish some RUNNING runs"
    for run_id in finished:
        closing = scalar(
            db_path,
            f"select count(*) from {DATASET}.run_events where run_id = ? and event_type like 'WORKFLOW_EXECUTION_%' "
            "and event_type not in ('WORKFLOW_EXECUTION_STARTED', 'WORKFLOW_EXECUTION_SIGNALED')",
            [run_id],
        )
        assert closing == 1
    assert scalar(db_path, f"select count(*) from {DATASET}.run_events") > events_before
    assert scalar(db_path, f"select count(*) from (select run_id, event_id from {DATASET}.run_events group by all having count(*) > 1)") == 0
    # a changed run costs at most two requests, an unchanged open one exactly one
    new_runs = summary.counts.new_runs
    assert emulator.requests["detail"] == summary.counts.changed_runs + new_runs
    assert emulator.requests["history"] == len(open_before) + new_runs


def test_final_runs_are_never_fetched_again(emulator, db_path):
    run_sync(sync_options(emulator, db_path, page_size=1000))
    emulator.advance(48 * 3600)
    run_sync(sync_options(emulator, db_path, page_size=1000))
    emulator.reset_requests()

    run_sync(sync_options(emulator, db_path, page_size=1000))

    still_open = _open_runs(db_path)
    assert emulator.requests["history"] == still_open
    assert emulator.requests["detail"] == 0


def test_new_runs_cost_two_requests_each(emulator, db_path):
    run_sync(sync_options(emulator, db_path, page_size=1000))
    open_runs = _open_runs(db_path)
    added = emulator.add_runs(5)
    emulator.reset_requests()

    summary = run_sync(sync_options(emulator, db_path, page_size=1000))

    assert summary.counts.new_runs == 5
    assert emulator.requests["detail"] == 5
    assert emulator.requests["history"] == 5 + open_runs
    stored = {row[0] for row in query(db_path, f"select run_id from {DATASET}.runs")}
    assert set(added) <= stored


def test_late_listed_run_inside_lookback_is_caught(emulator, db_path):
    run_sync(sync_options(emulator, db_path, page_size=1000))
    newest = scalar(db_path, f"select max(start_time) from {DATASET}.runs")
    late = _late_run(emulator, start=newest - timedelta(minutes=30))
    emulator.put_run(late["run"], late["history"])

    run_sync(sync_options(emulator, db_path, page_size=1000))

    assert scalar(db_path, f"select count(*) from {DATASET}.runs where run_id = ?", [late["run"]["run_id"]]) == 1


def test_run_older_than_lookback_needs_since(emulator, db_path):
    run_sync(sync_options(emulator, db_path, page_size=1000))
    newest = scalar(db_path, f"select max(start_time) from {DATASET}.runs")
    late = _late_run(emulator, start=newest - timedelta(hours=5))
    emulator.put_run(late["run"], late["history"])

    run_sync(sync_options(emulator, db_path, page_size=1000))
    assert scalar(db_path, f"select count(*) from {DATASET}.runs where run_id = ?", [late["run"]["run_id"]]) == 0

    run_sync(sync_options(emulator, db_path, page_size=1000, since=newest - timedelta(hours=6)))
    assert scalar(db_path, f"select count(*) from {DATASET}.runs where run_id = ?", [late["run"]["run_id"]]) == 1


def test_server_ignoring_filters_still_gives_same_tables(emulator, db_path, tmp_path):
    run_sync(sync_options(emulator, db_path, page_size=20))
    emulator.advance(3600)
    emulator.add_runs(3)
    emulator.legacy_api = True
    emulator.reset_requests()

    run_sync(sync_options(emulator, db_path, page_size=20))
    emulator.legacy_api = False
    fresh = tmp_path / "fresh.duckdb"
    run_sync(sync_options(emulator, fresh, page_size=20))

    assert _table_snapshot(db_path) == _table_snapshot(fresh)


def _table_snapshot(path):
    runs = query(path, f"select run_id, status, end_time, total_duration_ms, result from {DATASET}.runs order by run_id")
    events = query(path, f"select run_id, event_id, event_type, attributes from {DATASET}.run_events order by run_id, event_id")
    return runs, events


def _late_run(emulator, start):
    import uuid

    run_id = str(uuid.uuid4())
    start_text = start.isoformat().replace("+00:00", "Z")
    end = start + timedelta(seconds=5)
    end_text = end.isoformat().replace("+00:00", "Z")
    run = {
        "workflow_name": "late-workflow",
        "execution_id": run_id,
        "run_id": run_id,
        "root_execution_id": run_id,
        "parent_execution_id": None,
        "status": "COMPLETED",
        "start_time": start_text,
        "end_time": end_text,
        "total_duration_ms": 5000,
        "result": {"ok": True},
    }
    history = {
        "events": [
            {"eventId": "1", "eventTime": start_text, "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
             "workflowExecutionStartedEventAttributes": {"workflowType": {"name": "late-workflow"}}},
            {"eventId": "2", "eventTime": end_text, "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED",
             "workflowExecutionCompletedEventAttributes": {}},
        ]
    }
    return {"run": run, "history": history}
