"""The synthetic dataset as served: determinism, status mix, links between runs, and agreement of list, detail and history."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import httpx
import orjson
import pytest

from emulator_helpers import list_all, parse_time
from mistral_workflows.emulator import Emulator

NOW = datetime(2025, 10, 1, 12, 0, tzinfo=timezone.utc)
KEY = "test-key"
FINAL_EVENT_STATUS = {
    "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED": "COMPLETED",
    "EVENT_TYPE_WORKFLOW_EXECUTION_FAILED": "FAILED",
    "EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED": "CANCELED",
    "EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED": "TERMINATED",
    "EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT": "TIMED_OUT",
    "EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW": "CONTINUED_AS_NEW",
}


@pytest.fixture(scope="module")
def emu():
    with Emulator(api_key=KEY, runs=300, seed=7, now=NOW) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def client(emu):
    with httpx.Client(base_url=emu.url, headers={"Authorization": f"Bearer {KEY}"}) as http:
        yield http


@pytest.fixture(scope="module")
def all_runs(client):
    return list_all(client)


def test_same_seed_same_bytes(all_runs):
    bodies = []
    for seed in (11, 11, 12):
        with Emulator(api_key=KEY, runs=40, seed=seed, now=NOW) as emulator:
            with httpx.Client(base_url=emulator.url, headers={"Authorization": f"Bearer {KEY}"}) as http:
                listing = http.get("/v1/workflows/runs", params={"page_size": 1000}).content
                first = orjson.loads(listing)["executions"][5]["run_id"]
                history = http.get(f"/v1/workflows/runs/{first}/history").content
                bodies.append((listing, history))

    assert bodies[0] == bodies[1]
    assert bodies[0][0] != bodies[2][0]


def test_list_detail_history_agree(client, all_runs):
    for run in all_runs:
        detail = client.get(f"/v1/workflows/runs/{run['run_id']}").json()
        events = client.get(f"/v1/workflows/runs/{run['run_id']}/history", params={"decode_payloads": True}).json()["events"]

        assert {key: detail[key] for key in run} == run
        assert [event["eventId"] for event in events] == [str(number) for number in range(1, len(events) + 1)]
        assert events[0]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"
        assert parse_time(events[0]["eventTime"]) == parse_time(run["start_time"])
        times = [parse_time(event["eventTime"]) for event in events]
        assert times == sorted(times)

        last = events[-1]
        if run["end_time"] is None:
            assert last["eventType"] not in FINAL_EVENT_STATUS
            assert run["total_duration_ms"] is None
            continue
        assert FINAL_EVENT_STATUS[last["eventType"]] == run["status"]
        assert parse_time(last["eventTime"]) == parse_time(run["end_time"])
        duration = parse_time(run["end_time"]) - parse_time(run["start_time"])
        assert run["total_duration_ms"] == duration // timedelta(milliseconds=1)
        if run["status"] == "COMPLETED":
            completed = last["workflowExecutionCompletedEventAttributes"]
            assert completed["result"]["payloads"][0] == detail["result"]
        else:
            assert detail["result"] is None


def test_decode_payloads_on_and_off(client, all_runs):
    run_id = all_runs[10]["run_id"]

    encoded = client.get(f"/v1/workflows/runs/{run_id}/history").json()["events"][0]
    decoded = client.get(f"/v1/workflows/runs/{run_id}/history", params={"decode_payloads": "true"}).json()["events"][0]

    payload = encoded["workflowExecutionStartedEventAttributes"]["input"]["payloads"][0]
    assert base64.b64decode(payload["metadata"]["encoding"]) == b"json/plain"
    value = orjson.loads(base64.b64decode(payload["data"]))
    assert decoded["workflowExecutionStartedEventAttributes"]["input"]["payloads"] == [value]
    assert value["workflow"] == all_runs[10]["workflow_name"]


def test_dataset_mix_and_links(all_runs):
    statuses = {run["status"] for run in all_runs}
    by_execution = {}
    for run in all_runs:
        by_execution.setdefault(run["execution_id"], []).append(run)
    children = [run for run in all_runs if run["parent_execution_id"]]
    roots = [run for run in all_runs if not run["parent_execution_id"]]
    continued = [run for run in all_runs if run["status"] == "CONTINUED_AS_NEW"]
    newest = max(parse_time(run["start_time"]) for run in all_runs)
    oldest = min(parse_time(run["start_time"]) for run in all_runs)

    assert {"COMPLETED", "FAILED", "CANCELED", "TERMINATED", "TIMED_OUT", "CONTINUED_AS_NEW", "RUNNING"} <= statuses
    assert 0.05 <= sum(run["status"] == "FAILED" for run in all_runs) / len(all_runs) <= 0.2
    assert all(run["root_execution_id"] == run["execution_id"] for run in roots)
    assert children
    assert all(child["parent_execution_id"] in by_execution for child in children)
    assert all(len(by_execution[run["execution_id"]]) >= 2 for run in continued)
    assert NOW - newest < timedelta(minutes=15)
    assert timedelta(days=10) < NOW - oldest <= timedelta(days=14)


def test_failed_history_carries_failure(client, all_runs):
    failed = next(run for run in all_runs if run["status"] == "FAILED")
    events = client.get(f"/v1/workflows/runs/{failed['run_id']}/history").json()["events"]
    types = [event["eventType"] for event in events]

    activity_failure = events[types.index("EVENT_TYPE_ACTIVITY_TASK_FAILED")]["activityTaskFailedEventAttributes"]
    workflow_failure = events[-1]["workflowExecutionFailedEventAttributes"]["failure"]
    assert activity_failure["failure"]["message"]
    assert activity_failure["failure"]["applicationFailureInfo"]["type"]
    assert workflow_failure["message"]
    assert workflow_failure["applicationFailureInfo"]["type"]


def test_parent_history_matches_children(client, all_runs):
    runs_by_execution = {run["execution_id"]: run for run in all_runs if not run["parent_execution_id"]}
    children = [run for run in all_runs if run["parent_execution_id"] and run["end_time"]]

    for child in children:
        parent = runs_by_execution[child["parent_execution_id"]]
        events = client.get(f"/v1/workflows/runs/{parent['run_id']}/history").json()["events"]
        started = [event for event in events if event["eventType"] == "EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED"
                   and event["childWorkflowExecutionStartedEventAttributes"]["workflowExecution"]["runId"] == child["run_id"]]
        completed = [event for event in events if event["eventType"] == "EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED"
                     and event["childWorkflowExecutionCompletedEventAttributes"]["workflowExecution"]["runId"] == child["run_id"]]

        assert len(started) == 1
        assert len(completed) == 1
        assert parse_time(started[0]["eventTime"]) >= parse_time(child["start_time"])
        assert parse_time(completed[0]["eventTime"]) >= parse_time(child["end_time"])
        if parent["end_time"] is not None:
            assert parse_time(completed[0]["eventTime"]) <= parse_time(parent["end_time"])
    assert children


def test_continue_as_new_links_runs(client, all_runs):
    continued = [run for run in all_runs if run["status"] == "CONTINUED_AS_NEW"]

    for run in continued:
        closing = client.get(f"/v1/workflows/runs/{run['run_id']}/history").json()["events"][-1]
        next_run_id = closing["workflowExecutionContinuedAsNewEventAttributes"]["newExecutionRunId"]
        next_run = client.get(f"/v1/workflows/runs/{next_run_id}").json()
        next_started = client.get(f"/v1/workflows/runs/{next_run_id}/history").json()["events"][0]

        assert next_run["execution_id"] == run["execution_id"]
        assert parse_time(next_run["start_time"]) > parse_time(run["end_time"])
        assert next_started["workflowExecutionStartedEventAttributes"]["continuedExecutionRunId"] == run["run_id"]
    assert continued
