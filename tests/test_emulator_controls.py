"""The emulator's clock and data controls, its request counter and its admin endpoints."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest

from mistral_workflows.emulator import Emulator, RunNotOpenError

NOW = datetime(2025, 10, 1, 12, 0, tzinfo=timezone.utc)
KEY = "test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture()
def emu():
    with Emulator(api_key=KEY, runs=200, seed=3, now=NOW) as emulator:
        yield emulator


@pytest.fixture()
def client(emu):
    with httpx.Client(base_url=emu.url, headers=AUTH) as http:
        yield http


def get_run(client: httpx.Client, run_id: str) -> dict:
    response = client.get(f"/v1/workflows/runs/{run_id}")
    assert response.status_code == 200, response.text
    return response.json()


def get_events(client: httpx.Client, run_id: str) -> list[dict]:
    response = client.get(f"/v1/workflows/runs/{run_id}/history", params={"decode_payloads": "true"})
    assert response.status_code == 200, response.text
    return response.json()["events"]


def open_runs(client: httpx.Client) -> list[dict]:
    body = client.get("/v1/workflows/runs", params={"page_size": 1000, "status": ["RUNNING", "RETRYING_AFTER_ERROR"]})
    return body.json()["executions"]


def test_clock_fixed_until_advanced(emu):
    assert emu.now() == NOW

    emu.advance(90.5)

    assert emu.now() == NOW + timedelta(seconds=90.5)
    with pytest.raises(ValueError):
        emu.advance(-1)


def test_real_time_clock_moves():
    emulator = Emulator(runs=1, seed=1)
    first = emulator.now()
    real_now = datetime.now(timezone.utc)

    assert abs(first - real_now) < timedelta(seconds=5)
    emulator.advance(3600)
    assert emulator.now() - first >= timedelta(hours=1)


def test_advance_finishes_open_runs_and_grows_histories(emu, client):
    before = open_runs(client)
    lengths_before = {run["run_id"]: len(get_events(client, run["run_id"])) for run in before}

    emu.advance(3600)

    after = {run["run_id"]: get_run(client, run["run_id"]) for run in before}
    finished = [run for run in after.values() if run["end_time"] is not None]
    assert before
    assert finished
    for run in finished:
        events = get_events(client, run["run_id"])
        assert events[-1]["eventType"].startswith("EVENT_TYPE_WORKFLOW_EXECUTION_")
        assert len(events) > lengths_before[run["run_id"]]
        assert run["status"] not in ("RUNNING", "RETRYING_AFTER_ERROR")
        assert run["total_duration_ms"] is not None


def test_some_runs_never_finish(emu, client):
    emu.advance(30 * 24 * 3600)

    stuck = open_runs(client)

    assert stuck
    assert all(datetime.fromisoformat(run["start_time"]) < NOW - timedelta(hours=1) for run in stuck)


def test_advance_reveals_planned_runs(emu):
    visible_before = len(emu.run_ids())

    emu.advance(4 * 3600)

    assert visible_before == 200
    assert len(emu.run_ids()) == 200 + 200 // 20


def test_add_runs_start_now_and_finish_later(emu, client):
    run_ids = emu.add_runs(3)

    runs = [get_run(client, run_id) for run_id in run_ids]
    assert len(set(run_ids)) == 3
    assert set(run_ids) <= set(emu.run_ids())
    assert all(run["status"] == "RUNNING" for run in runs)
    assert all(datetime.fromisoformat(run["start_time"]) == NOW for run in runs)
    assert all(get_events(client, run_id)[0]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED" for run_id in run_ids)

    emu.advance(3 * 24 * 3600)
    assert all(get_run(client, run_id)["end_time"] is not None for run_id in run_ids)


def test_append_events_grows_open_history(emu, client):
    run_id = emu.add_runs(1)[0]
    before = get_events(client, run_id)

    emu.append_events(run_id, 7)

    after = get_events(client, run_id)
    added = after[len(before):]
    assert len(after) == len(before) + 7
    assert [event["eventType"] for event in added[:3]] == [
        "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED", "EVENT_TYPE_ACTIVITY_TASK_STARTED", "EVENT_TYPE_ACTIVITY_TASK_COMPLETED",
    ]
    assert added[1]["activityTaskStartedEventAttributes"]["scheduledEventId"] == added[0]["eventId"]
    assert [event["eventId"] for event in after] == [str(number) for number in range(1, len(after) + 1)]


def test_append_events_rejects_closed_run(emu, client):
    closed = client.get("/v1/workflows/runs", params={"status": "COMPLETED", "page_size": 1}).json()["executions"][0]

    with pytest.raises(RunNotOpenError):
        emu.append_events(closed["run_id"], 3)
    with pytest.raises(RunNotOpenError):
        emu.finish_run(closed["run_id"])


def test_finish_run_closes_now(emu, client):
    completed_id, failed_id = emu.add_runs(2)
    emu.advance(1)
    emu.append_events(completed_id, 3)

    emu.finish_run(completed_id)
    emu.finish_run(failed_id, status="FAILED")

    completed = get_run(client, completed_id)
    failed = get_run(client, failed_id)
    events = get_events(client, completed_id)
    assert completed["status"] == "COMPLETED"
    assert completed["end_time"] == "2025-10-01T12:00:01.000Z"
    assert completed["total_duration_ms"] == 1000
    assert events[-1]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"
    assert events[-1]["workflowExecutionCompletedEventAttributes"]["result"]["payloads"][0] == completed["result"]
    assert events[-2]["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_COMPLETED"
    assert failed["status"] == "FAILED"
    assert get_events(client, failed_id)[-1]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_FAILED"

    emu.advance(7 * 24 * 3600)
    assert get_run(client, completed_id) == completed
    assert get_events(client, completed_id) == events
    with pytest.raises(ValueError):
        emu.finish_run(emu.add_runs(1)[0], status="SLEEPING")


def test_put_run_served_verbatim(emu, client):
    run = {
        "workflow_name": None,
        "execution_id": "9b2f7c1e-0000-4000-8000-00000000abcd",
        "root_execution_id": "9b2f7c1e-0000-4000-8000-00000000abcd",
        "status": "PAUSED_BY_ALIENS",
        "start_time": "2025-09-30T23:59:59.123456789+05:30",
        "end_time": None,
        "total_duration_ms": "not a number",
        "result": {"nested": [1, 2, 3]},
        "extra_field": True,
    }
    history = [{"eventId": 1, "timestamp": 1574707009824799000, "eventType": "WorkflowExecutionStarted"}]

    emu.put_run(run, history)

    listed = client.get("/v1/workflows/runs", params={"page_size": 1000}).json()["executions"]
    item = next(entry for entry in listed if entry["execution_id"] == run["execution_id"])
    assert get_run(client, run["execution_id"]) == run
    assert item == {key: value for key, value in run.items() if key != "result"}
    assert client.get(f"/v1/workflows/runs/{run['execution_id']}/history").json() == history
    assert client.get("/v1/workflows/runs", params={"status": "RUNNING"}).status_code == 200


def test_put_run_replaces_synthetic_run(emu, client):
    run_id = emu.run_ids()[0]
    replacement = dict(get_run(client, run_id), status="FAILED", result=None)

    emu.put_run(replacement, {"events": []})

    assert get_run(client, run_id)["status"] == "FAILED"
    assert get_events(client, run_id) == []
    assert len(emu.run_ids()) == 200


def test_request_counter_by_endpoint(emu, client):
    run_id = emu.run_ids()[0]
    emu.reset_requests()

    client.get("/v1/workflows/runs")
    client.get(f"/v1/workflows/runs/{run_id}")
    client.get(f"/v1/workflows/runs/{run_id}")
    client.get(f"/v1/workflows/runs/{run_id}/history")
    httpx.get(f"{emu.url}/v1/workflows/runs")
    httpx.get(f"{emu.url}/_emulator/requests")

    assert emu.requests == {"list": 1, "detail": 2, "history": 1, "unauthorized": 1, "admin": 1, "other": 0}
    emu.reset_requests()
    assert sum(emu.requests.values()) == 0


def test_admin_endpoints(emu, client):
    admin = httpx.Client(base_url=emu.url)
    client.get("/v1/workflows/runs")

    counts = admin.get("/_emulator/requests").json()
    reset = admin.post("/_emulator/reset-requests").json()
    now = admin.get("/_emulator/now").json()
    advanced = admin.post("/_emulator/advance", params={"seconds": 60}).json()
    added = admin.post("/_emulator/add-runs", params={"count": 2}).json()
    injected = admin.post("/_emulator/faults", json={"kind": "503", "count": 2, "endpoint": "list"})
    first, second, third = (client.get("/v1/workflows/runs").status_code for _ in range(3))
    random_faults = admin.post("/_emulator/faults", json={"probability": 1.0, "kinds": ["500"]})
    during = client.get(f"/v1/workflows/runs/{added['run_ids'][0]}").status_code
    cleared = admin.delete("/_emulator/faults")
    after = client.get(f"/v1/workflows/runs/{added['run_ids'][0]}").status_code
    bad = admin.post("/_emulator/faults", json={"kind": "418"})
    missing = admin.post("/_emulator/advance")

    assert counts["list"] == 1
    assert reset["requests"]["list"] == 0
    assert now["now"] == "2025-10-01T12:00:00Z"
    assert advanced["now"] == "2025-10-01T12:01:00Z"
    assert len(added["run_ids"]) == 2
    assert set(added["run_ids"]) <= set(emu.run_ids())
    assert injected.status_code == 200
    assert (first, second, third) == (503, 503, 200)
    assert random_faults.status_code == 200
    assert during == 500
    assert cleared.status_code == 200
    assert after == 200
    assert bad.status_code == 422
    assert missing.status_code == 422
    assert emu.requests["list"] == 3
    assert emu.requests["detail"] == 2
    assert emu.requests["admin"] == 9
    admin.close()


def test_offset_pagination_shifts_when_runs_are_added(emu, client):
    first = client.get("/v1/workflows/runs", params={"page_size": 10}).json()

    emu.add_runs(2)

    second = client.get("/v1/workflows/runs", params={"page_size": 10, "next_page_token": first["next_page_token"]}).json()
    first_ids = [run["run_id"] for run in first["executions"]]
    second_ids = [run["run_id"] for run in second["executions"]]
    assert second_ids[:2] == first_ids[-2:]


def test_stop_closes_keep_alive_connections():
    emulator = Emulator(api_key=KEY, runs=2, now=NOW)
    url = emulator.start()
    with httpx.Client(base_url=url, headers=AUTH) as http:
        assert http.get("/v1/workflows/runs").status_code == 200

        emulator.stop()

        with pytest.raises(httpx.TransportError):
            http.get("/v1/workflows/runs")
    assert emulator.url is None
