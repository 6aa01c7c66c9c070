"""Odd but possible API input is stored verbatim or rejected clearly, never corrupting data."""

from __future__ import annotations

import base64
import json
import uuid

import orjson
import pytest

from conftest import DATASET, query, scalar, sync_options
from mistral_workflows.sync import run_sync


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _payload(value) -> dict:
    return {"metadata": {"encoding": _b64("json/plain")}, "data": _b64(json.dumps(value))}


def _run(start="2026-11-20T10:00:00Z", **fields) -> dict:
    run_id = str(uuid.uuid4())
    run = {
        "workflow_name": "odd-workflow",
        "execution_id": run_id,
        "run_id": run_id,
        "root_execution_id": run_id,
        "parent_execution_id": None,
        "status": "COMPLETED",
        "start_time": start,
        "end_time": "2026-11-20T10:00:05Z",
        "total_duration_ms": 5000,
        "result": None,
    }
    run.update(fields)
    return run


def _event(event_id, event_type="EVENT_TYPE_ACTIVITY_TASK_SCHEDULED", time="2026-11-20T10:00:01Z", **attributes) -> dict:
    key = {
        "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED": "workflowExecutionStartedEventAttributes",
        "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED": "workflowExecutionCompletedEventAttributes",
        "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED": "activityTaskScheduledEventAttributes",
    }.get(event_type, "someNewThingEventAttributes")
    return {"eventId": event_id, "eventTime": time, "eventType": event_type, key: attributes}


def _closed_history(*middle) -> dict:
    return {"events": [
        _event("1", "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED", workflowType={"name": "odd-workflow"}),
        *middle,
        _event(str(len(middle) + 2), "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED", time="2026-11-20T10:00:05Z"),
    ]}


def _sync(emulator, db_path, **overrides):
    return run_sync(sync_options(emulator, db_path, page_size=1000, **overrides))


def test_unknown_status_and_event_type_kept_verbatim(emulator, db_path):
    run = _run(status="PAUSED_BY_OPERATOR")
    emulator.put_run(run, _closed_history(_event("2", "EVENT_TYPE_WORKFLOW_EXECUTION_PAUSED_NEW")))

    _sync(emulator, db_path)

    assert scalar(db_path, f"select status from {DATASET}.runs where run_id = ?", [run["run_id"]]) == "PAUSED_BY_OPERATOR"
    types = [row[0] for row in query(db_path, f"select event_type from {DATASET}.run_events where run_id = ? order by event_id", [run["run_id"]])]
    assert types == ["WORKFLOW_EXECUTION_STARTED", "EVENT_TYPE_WORKFLOW_EXECUTION_PAUSED_NEW", "WORKFLOW_EXECUTION_COMPLETED"]


def test_null_status_and_missing_optional_fields(emulator, db_path):
    run = _run(status=None, end_time=None)
    for optional in ("total_duration_ms", "parent_execution_id", "result"):
        run.pop(optional)
    emulator.put_run(run, {"events": [_event("1", "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED")]})

    summary = _sync(emulator, db_path)

    row = query(db_path, f"select status, end_time, total_duration_ms, result from {DATASET}.runs where run_id = ?", [run["run_id"]])
    assert row == [(None, None, None, None)]
    assert summary.counts.open_after >= 1


def test_times_with_offsets_and_fractions_mixed(emulator, db_path):
    starts = {
        "2026-11-20T10:00:00Z": "2026-11-20 10:00:00.000000",
        "2026-11-20T12:00:00.5+02:00": "2026-11-20 10:00:00.500000",
        "2026-11-20T05:30:00.123456789-04:30": "2026-11-20 10:00:00.123456",
        "2026-11-20T10:00:00.123+00:00": "2026-11-20 10:00:00.123000",
    }
    ids = {}
    for text in starts:
        run = _run(start=text)
        ids[run["run_id"]] = starts[text]
        emulator.put_run(run, _closed_history(_event("2", time=text)))

    _sync(emulator, db_path)

    for run_id, expected in ids.items():
        stored = scalar(db_path, f"select strftime(start_time at time zone 'UTC', '%Y-%m-%d %H:%M:%S.%f') from {DATASET}.runs where run_id = ?", [run_id])
        assert stored == expected
        event_time = scalar(db_path, f"select strftime(event_time at time zone 'UTC', '%Y-%m-%d %H:%M:%S.%f') from {DATASET}.run_events where run_id = ? and event_id = 2", [run_id])
        assert event_time == stored


def test_ids_as_strings_or_numbers_in_any_order(emulator, db_path):
    run = _run()
    events = [
        _event(10, "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"),
        _event("9"),
        _event(1, "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"),
        _event("2", scheduledEventId="1", taskId="9007199254740993"),
    ]
    events[1]["taskId"] = "9223372036854775807"
    emulator.put_run(run, {"events": events})

    _sync(emulator, db_path)

    rows = query(db_path, f"select event_id, task_id from {DATASET}.run_events where run_id = ? order by event_id", [run["run_id"]])
    assert [row[0] for row in rows] == [1, 2, 9, 10]
    assert rows[2][1] == 9223372036854775807


def test_duplicate_events_keep_one_row(emulator, db_path):
    run = _run()
    history = _closed_history(_event("2"), _event("3"))
    history["events"].insert(2, _event("2"))
    emulator.put_run(run, history)

    _sync(emulator, db_path)
    emulator.reset_requests()
    second = _sync(emulator, db_path)

    assert scalar(db_path, f"select count(*) from {DATASET}.run_events where run_id = ?", [run["run_id"]]) == 4
    assert second.counts.changed_runs == 0


def test_empty_history_loads_run_without_events(emulator, db_path):
    run = _run()
    emulator.put_run(run, {"events": []})

    _sync(emulator, db_path)

    assert scalar(db_path, f"select count(*) from {DATASET}.runs where run_id = ?", [run["run_id"]]) == 1
    assert scalar(db_path, f"select count(*) from {DATASET}.run_events where run_id = ?", [run["run_id"]]) == 0
    assert scalar(db_path, f"select event_count from {DATASET}.runs_enriched where run_id = ?", [run["run_id"]]) == 0


def test_history_served_newest_first(emulator, db_path):
    run = _run()
    history = _closed_history(_event("2"), _event("3"))
    history["events"].reverse()
    emulator.put_run(run, history)

    _sync(emulator, db_path)

    ids = [row[0] for row in query(db_path, f"select event_id from {DATASET}.run_events where run_id = ? order by event_id", [run["run_id"]])]
    assert ids == [1, 2, 3, 4]
    assert scalar(db_path, f"select event_type from {DATASET}.run_events where run_id = ? and event_id = 4", [run["run_id"]]) == "WORKFLOW_EXECUTION_COMPLETED"


def test_payloads_encoded_decoded_and_invalid(emulator, db_path):
    run = _run()
    emulator.put_run(run, _closed_history(
        _event("2", input={"payloads": [_payload({"prompt": "hello"})]}),
        _event("3", input={"payloads": ["already decoded"]}),
        _event("4", input={"payloads": [{"metadata": {"encoding": _b64("json/plain")}, "data": "%%% not base64 %%%"}]}),
    ))

    _sync(emulator, db_path)

    rows = dict(query(db_path, f"select event_id, attributes from {DATASET}.run_events where run_id = ?", [run["run_id"]]))
    errors = dict(query(db_path, f"select event_id, payload_error from {DATASET}.run_events where run_id = ?", [run["run_id"]]))
    assert json.loads(rows[2])["input"]["payloads"] == [{"prompt": "hello"}]
    assert json.loads(rows[3])["input"]["payloads"] == ["already decoded"]
    assert "%%% not base64 %%%" in rows[4]
    assert errors[2] is None
    assert errors[3] is None
    assert errors[4] is not None


def test_attribute_type_changes_keep_declared_columns(emulator, db_path):
    first, second = _run(), _run()
    emulator.put_run(first, _closed_history(_event("2", attempt=3, activityId="a-1", custom={"x": 1})))
    emulator.put_run(second, _closed_history(_event("2", attempt="4", activityId=17, custom=["list", 2])))

    _sync(emulator, db_path)

    columns = [row[0] for row in query(db_path, f"select column_name from information_schema.columns where table_schema = '{DATASET}' and table_name = 'run_events'")]
    assert not [name for name in columns if "__v_" in name]
    values = query(db_path, f"select activity_id from {DATASET}.run_events where run_id in (?, ?) and event_id = 2 order by activity_id", [first["run_id"], second["run_id"]])
    assert values == [("17",), ("a-1",)]


def test_oversize_event_stored_truncated_with_marker(emulator, db_path):
    run = _run()
    emulator.put_run(run, _closed_history(_event("2", activityType={"name": "big"}, note="x" * 20_000)))

    _sync(emulator, db_path, max_event_bytes=4096)

    attributes, truncated, activity_type = query(db_path, f"select attributes, is_truncated, activity_type from {DATASET}.run_events where run_id = ? and event_id = 2", [run["run_id"]])[0]
    marker = json.loads(attributes)
    assert truncated is True
    assert marker["_truncated"] is True
    assert marker["_original_bytes"] > 20_000
    assert len(attributes.encode()) <= 4096 + 200
    assert activity_type == "big"


def test_result_of_any_json_type_is_stored(emulator, db_path):
    runs = [_run(result=value) for value in ({"answer": 42}, ["a", 1], "plain text", 3.5, True)]
    for run in runs:
        emulator.put_run(run, _closed_history())

    _sync(emulator, db_path)

    for run in runs:
        stored = scalar(db_path, f"select result from {DATASET}.runs where run_id = ?", [run["run_id"]])
        assert orjson.loads(stored) == run["result"]


def test_no_payloads_stores_no_result_or_payload_data(emulator, db_path):
    secret = "customer-ssn-123-45-6789"
    run = _run(result={"summary": secret})
    emulator.put_run(run, _closed_history(_event("2", input={"payloads": [_payload({"text": secret})]})))

    _sync(emulator, db_path, drop_payloads=True)

    assert scalar(db_path, f"select count(*) from {DATASET}.runs where result is not null") == 0
    assert scalar(db_path, f"select count(*) from {DATASET}.run_events where attributes::varchar like ?", [f"%{secret}%"]) == 0
    assert scalar(db_path, f"select count(*) from {DATASET}.run_events where attributes::varchar like ?", [f"%{_b64(json.dumps({'text': secret}))[:20]}%"]) == 0
    assert scalar(db_path, f"select count(*) from {DATASET}.run_events where run_id = ?", [run["run_id"]]) == 3
    assert secret.encode() not in db_path.read_bytes()


def test_unreadable_start_time_skips_run_and_keeps_others(emulator, db_path):
    bad = _run(start="yesterday-ish")
    emulator.put_run(bad, _closed_history())

    summary = _sync(emulator, db_path)

    assert summary.counts.missing_runs == 1
    assert scalar(db_path, f"select count(*) from {DATASET}.runs where run_id = ?", [bad["run_id"]]) == 0
    assert scalar(db_path, f"select count(*) from {DATASET}.runs") == len(emulator.run_ids()) - 1


def test_unreadable_history_keeps_run_row_and_retries(emulator, db_path):
    bad = _run()
    emulator.put_run(bad, {"events": {"not": "a list"}})

    first = _sync(emulator, db_path)

    assert first.counts.missing_runs == 1
    assert scalar(db_path, f"select status from {DATASET}.runs where run_id = ?", [bad["run_id"]]) == "COMPLETED"
    assert scalar(db_path, f"select count(*) from {DATASET}.run_events where run_id = ?", [bad["run_id"]]) == 0
    assert scalar(db_path, f"select count(*) from {DATASET}.runs") == len(emulator.run_ids())

    for _ in range(11):
        assert _sync(emulator, db_path).counts.missing_runs == 1
    emulator.put_run(bad, _closed_history())
    emulator.reset_requests()
    recovered = _sync(emulator, db_path)

    assert recovered.counts.missing_runs == 0
    assert emulator.requests["history"] >= 1
    assert scalar(db_path, f"select count(*) from {DATASET}.run_events where run_id = ?", [bad["run_id"]]) == 2


def test_open_run_with_unreadable_history_stays_open(emulator, db_path):
    run = _run(status="RUNNING", end_time=None)
    opening = {"events": [_event("1", "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED", workflowType={"name": "odd-workflow"})]}
    emulator.put_run(run, opening)
    _sync(emulator, db_path)
    growing = {"events": [*opening["events"], _event("2"), _event("bad-id")]}
    emulator.put_run(run, growing)

    for _ in range(12):
        skipped = _sync(emulator, db_path)
        assert skipped.counts.missing_runs == 1
    emulator.put_run(dict(run, status="COMPLETED", end_time="2026-11-20T10:00:05Z"), _closed_history(_event("2")))
    recovered = _sync(emulator, db_path)

    assert recovered.counts.missing_runs == 0
    assert recovered.counts.changed_runs == 1
    assert scalar(db_path, f"select status from {DATASET}.runs where run_id = ?", [run["run_id"]]) == "COMPLETED"
    assert scalar(db_path, f"select count(*) from {DATASET}.run_events where run_id = ?", [run["run_id"]]) == 3


def test_html_history_skips_one_run_and_loads_others(emulator, db_path):
    # One request at a time, so the first run's three attempts take all three faults.
    emulator.faults.inject("html200", count=3, endpoint="history")

    summary = _sync(emulator, db_path, concurrency=1, max_attempts=3)

    assert summary.counts.missing_runs == 1
    assert scalar(db_path, f"select count(*) from {DATASET}.runs") == len(emulator.run_ids())
    assert scalar(db_path, f"select count(distinct run_id) from {DATASET}.run_events") == len(emulator.run_ids()) - 1
    assert scalar(db_path, f"select count(*) from {DATASET}.run_events where event_type like '%<html>%'") == 0
    assert scalar(db_path, f"select runs_written from {DATASET}.sync_log") == len(emulator.run_ids())


def test_shrinking_history_warns_and_keeps_events(emulator, db_path, caplog):
    run = _run(status="RUNNING", end_time=None)
    started = _event("1", "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED", workflowType={"name": "odd-workflow"})
    emulator.put_run(run, {"events": [started, _event("2"), _event("3")]})
    _sync(emulator, db_path)
    emulator.put_run(run, {"events": [started]})

    with caplog.at_level("WARNING", logger="mistral_workflows.fetch"):
        _sync(emulator, db_path)

    assert "fewer than the 3 loaded before" in caplog.text
    assert scalar(db_path, f"select count(*) from {DATASET}.run_events where run_id = ?", [run["run_id"]]) == 3


@pytest.mark.parametrize(
    "fields",
    [
        {"end_time": "0001-01-01T00:30:00+01:00"},
        {"start_time": "9999-12-31T23:30:00-01:00"},
        {"total_duration_ms": 1e300},
        {"total_duration_ms": 2**63},
    ],
    ids=["end-before-year-1-in-utc", "start-after-year-9999-in-utc", "duration-1e300", "duration-beyond-int64"],
)
def test_out_of_range_run_field_skipped(emulator, db_path, fields):
    bad = _run(**fields)
    emulator.put_run(bad, _closed_history())

    summary = _sync(emulator, db_path)

    assert summary.counts.missing_runs == 1
    assert scalar(db_path, f"select count(*) from {DATASET}.runs where run_id = ?", [bad["run_id"]]) == 0
    assert scalar(db_path, f"select count(*) from {DATASET}.runs") == len(emulator.run_ids()) - 1


def test_run_id_rejected_with_422_is_skipped(emulator, db_path):
    bad = _run()
    bad["run_id"] = bad["execution_id"] = "wf-order-42"
    emulator.put_run(bad, _closed_history())

    summary = _sync(emulator, db_path)

    assert summary.counts.missing_runs == 1
    assert scalar(db_path, f"select count(*) from {DATASET}.runs") == len(emulator.run_ids()) - 1


def test_detail_lagging_closed_history_is_refreshed(emulator, db_path):
    run = _run(status="RUNNING", end_time=None)
    started = _event("1", "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED", workflowType={"name": "odd-workflow"})
    emulator.put_run(run, {"events": [started]})
    _sync(emulator, db_path)
    emulator.put_run(run, _closed_history())

    for _ in range(3):
        _sync(emulator, db_path)
    assert scalar(db_path, f"select status from {DATASET}.runs where run_id = ?", [run["run_id"]]) == "RUNNING"
    emulator.put_run(dict(run, status="COMPLETED", end_time="2026-11-20T10:00:05Z"), _closed_history())
    caught_up = _sync(emulator, db_path)

    assert caught_up.counts.changed_runs == 1
    assert scalar(db_path, f"select status from {DATASET}.runs where run_id = ?", [run["run_id"]]) == "COMPLETED"
    assert scalar(db_path, f"select count(*) from {DATASET}.run_events where run_id = ?", [run["run_id"]]) == 2
    emulator.reset_requests()
    _sync(emulator, db_path)
    assert emulator.requests["detail"] == 0
