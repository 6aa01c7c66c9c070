"""The sync plan: which listed runs are new, and what the change state remembers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from mistral_workflows.change_capture import (
    MAX_MISSING_ATTEMPTS,
    ChangeState,
    OpenRun,
    listing_window_start,
    plan_listed_runs,
)
from mistral_workflows.fetch import _history_moved, _open_run_after

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def _item(run_id: str, minutes_ago: int, status: str = "COMPLETED") -> dict:
    start = (NOW - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")
    return {"run_id": run_id, "execution_id": "exec-" + run_id, "status": status, "start_time": start}


def test_run_listed_twice_is_planned_once():
    pages = [[_item("a", 5), _item("b", 4)], [_item("b", 4, "RUNNING"), _item("c", 3)]]

    plan = plan_listed_runs(pages, ChangeState({}), window_start=None)

    assert [run.key for run in plan.new_runs] == ["a", "b", "c"]
    assert plan.duplicates == 1
    assert plan.listed == 4


def test_runs_before_window_are_filtered_client_side():
    pages = [[_item("old", 300), _item("new", 10)]]

    plan = plan_listed_runs(pages, ChangeState({}), window_start=NOW - timedelta(hours=1))

    assert [run.key for run in plan.new_runs] == ["new"]
    assert plan.outside_window == 1
    assert plan.newest_start == NOW - timedelta(minutes=10)


def test_known_runs_are_not_new():
    state = ChangeState({})
    state.mark_final("done", NOW - timedelta(minutes=20))
    state.mark_open("open", OpenRun(status="RUNNING", event_count=5, last_event_id=5))

    plan = plan_listed_runs([[_item("done", 20), _item("open", 15, "COMPLETED"), _item("fresh", 1)]], state, None)

    assert [run.key for run in plan.new_runs] == ["fresh"]
    assert plan.listed_status == {"open": "COMPLETED"}
    assert set(plan.open_runs) == {"open"}


def test_items_without_ids_are_skipped():
    plan = plan_listed_runs([[{"status": "RUNNING"}, "not an object", _item("ok", 1)]], ChangeState({}), None)

    assert [run.key for run in plan.new_runs] == ["ok"]


def test_window_starts_at_cursor_minus_lookback():
    assert listing_window_start(None, timedelta(hours=1), None) is None
    assert listing_window_start(NOW, timedelta(hours=1), None) == NOW - timedelta(hours=1)
    assert listing_window_start(NOW, timedelta(hours=1), NOW - timedelta(days=30)) == NOW - timedelta(days=30)


def test_cursor_only_moves_forward():
    state = ChangeState({})
    state.advance_cursor(NOW)
    state.advance_cursor(NOW - timedelta(days=1))

    assert state.cursor == NOW


def test_recent_final_pruned_outside_window():
    state = ChangeState({})
    state.mark_final("old", NOW - timedelta(hours=5))
    state.mark_final("recent", NOW - timedelta(minutes=5))

    state.prune_recent_final(NOW - timedelta(hours=1))

    assert not state.is_recent_final("old")
    assert state.is_recent_final("recent")


def test_missing_run_given_up_after_max_attempts():
    state = ChangeState({})
    for _ in range(MAX_MISSING_ATTEMPTS - 1):
        state.mark_missing("gone", NOW)
    assert state.missing_runs() == ["gone"]

    state.mark_missing("gone", NOW)

    assert state.missing_runs() == []


def test_history_moved_on_growth_or_status():
    previous = OpenRun(status="RUNNING", event_count=3, last_event_id=3)

    assert not _history_moved([{}, {}, {}], previous, "RUNNING")
    assert _history_moved([{}, {}, {}, {}], previous, "RUNNING")
    assert _history_moved([{}, {}, {}], previous, "COMPLETED")


def _rows(*event_types: str) -> list[dict]:
    return [{"event_id": index + 1, "event_type": event_type} for index, event_type in enumerate(event_types)]


def test_run_done_when_final_and_closed():
    events = _rows("WORKFLOW_EXECUTION_STARTED", "WORKFLOW_EXECUTION_COMPLETED")

    assert _open_run_after("COMPLETED", events, events, previous=None) is None


def test_final_status_without_closing_event_stays_open():
    events = _rows("WORKFLOW_EXECUTION_STARTED")

    open_run = _open_run_after("COMPLETED", events, events, previous=None)

    assert open_run == OpenRun(status="COMPLETED", event_count=1, last_event_id=1, closed_seen=False)


def test_closed_history_open_detail_stays_open():
    events = _rows("WORKFLOW_EXECUTION_STARTED", "WORKFLOW_EXECUTION_FAILED")

    first = _open_run_after("RUNNING", events, events, previous=None)

    assert first.closed_seen is True
    assert not _history_moved(events, first, "RUNNING")
    assert _open_run_after("FAILED", events, events, previous=first) is None


def test_duplicate_raw_events_do_not_look_like_growth():
    raw = [{"eventId": "1"}, {"eventId": "1"}, {"eventId": "2"}]
    events = _rows("WORKFLOW_EXECUTION_STARTED", "ACTIVITY_TASK_SCHEDULED")

    open_run = _open_run_after("RUNNING", events, raw, previous=None)

    assert open_run.event_count == 3
    assert not _history_moved(raw, open_run, "RUNNING")


def test_future_run_does_not_move_cursor():
    future = {"run_id": "f", "status": "RUNNING", "start_time": "2099-01-01T00:00:00Z"}

    plan = plan_listed_runs([[_item("a", 30), future]], ChangeState({}), None, now=NOW)

    assert [run.key for run in plan.new_runs] == ["a", "f"]
    assert plan.newest_start == NOW - timedelta(minutes=30)
