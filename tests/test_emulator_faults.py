"""Every fault kind the emulator injects, as a client sees it over HTTP."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import httpx
import orjson
import pytest

from mistral_workflows.emulator import Emulator

NOW = datetime(2025, 10, 1, 12, 0, tzinfo=timezone.utc)
KEY = "test-key"


@pytest.fixture(scope="module")
def emu():
    with Emulator(api_key=KEY, runs=25, seed=5, now=NOW) as emulator:
        yield emulator


@pytest.fixture()
def client(emu):
    emu.faults.clear()
    emu.reset_requests()
    with httpx.Client(base_url=emu.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=5) as http:
        yield http
    emu.faults.clear()


@pytest.fixture()
def run_id(emu):
    return emu.run_ids()[0]


@pytest.mark.parametrize("kind", ["500", "502", "503", "504"])
def test_server_error_statuses(emu, client, kind):
    emu.faults.inject(kind, count=2)

    statuses = [client.get("/v1/workflows/runs").status_code for _ in range(3)]

    assert statuses == [int(kind), int(kind), 200]
    assert emu.requests["list"] == 3
    assert emu.faults.served[kind] == 2


@pytest.mark.parametrize("retry_after, header", [
    ("2", "2"),
    ("0", "0"),
    ("Wed, 01 Oct 2025 12:00:05 GMT", "Wed, 01 Oct 2025 12:00:05 GMT"),
    (None, None),
])
def test_rate_limit_retry_after(emu, client, retry_after, header):
    emu.faults.inject("429", retry_after=retry_after)

    response = client.get("/v1/workflows/runs")

    assert response.status_code == 429
    assert response.headers.get("Retry-After") == header


def test_drop_closes_connection(emu, client):
    emu.faults.inject("drop")

    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/v1/workflows/runs")
    assert client.get("/v1/workflows/runs").status_code == 200


def test_slow_outlasts_client_timeout(emu, client):
    emu.faults.inject("slow", seconds=0.6)
    started = time.monotonic()

    with pytest.raises(httpx.ReadTimeout):
        client.get("/v1/workflows/runs", timeout=0.2)

    assert client.get("/v1/workflows/runs").status_code == 200
    assert time.monotonic() - started < 3


def test_slow_then_answers_normally(emu, client):
    emu.faults.inject("slow", seconds=0.3)
    started = time.monotonic()

    response = client.get("/v1/workflows/runs")

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3
    assert len(response.json()["executions"]) == 25


def test_html_page_with_status_200(emu, client):
    emu.faults.inject("html200")

    response = client.get("/v1/workflows/runs")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(response.content)


def test_truncated_json_body(emu, client, run_id):
    full = client.get(f"/v1/workflows/runs/{run_id}/history").content
    emu.faults.inject("truncated_json", endpoint="history")

    response = client.get(f"/v1/workflows/runs/{run_id}/history")

    assert response.status_code == 200
    assert response.content == full[: len(full) // 2]
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(response.content)


def test_not_found_for_existing_run(emu, client, run_id):
    emu.faults.inject("404", endpoint="detail")

    assert client.get("/v1/workflows/runs").status_code == 200
    assert client.get(f"/v1/workflows/runs/{run_id}").status_code == 404
    assert client.get(f"/v1/workflows/runs/{run_id}").status_code == 200


def test_fault_waits_for_its_endpoint(emu, client, run_id):
    emu.faults.inject("503", endpoint="history")

    assert client.get("/v1/workflows/runs").status_code == 200
    assert client.get(f"/v1/workflows/runs/{run_id}").status_code == 200
    assert client.get(f"/v1/workflows/runs/{run_id}/history").status_code == 503
    assert emu.faults.pending == 0


def test_empty_last_page_after_last_page(emu, client):
    emu.faults.inject("empty_last_page")

    first = client.get("/v1/workflows/runs", params={"page_size": 20}).json()
    last = client.get("/v1/workflows/runs", params={"page_size": 20, "next_page_token": first["next_page_token"]}).json()
    empty = client.get("/v1/workflows/runs", params={"page_size": 20, "next_page_token": last["next_page_token"]}).json()

    assert len(first["executions"]) == 20
    assert len(last["executions"]) == 5
    assert last["next_page_token"] is not None
    assert empty["executions"] == []
    assert empty["next_page_token"] is not None


def test_repeat_token_hands_out_old_token(emu, client):
    emu.faults.inject("repeat_token")

    first = client.get("/v1/workflows/runs", params={"page_size": 5}).json()
    second = client.get("/v1/workflows/runs", params={"page_size": 5, "next_page_token": first["next_page_token"]}).json()
    third = client.get("/v1/workflows/runs", params={"page_size": 5, "next_page_token": second["next_page_token"]}).json()

    assert second["next_page_token"] == first["next_page_token"]
    assert [run["run_id"] for run in third["executions"]] == [run["run_id"] for run in second["executions"]]
    assert third["next_page_token"] != first["next_page_token"]


def test_random_faults_seeded_and_transient(emu, client):
    outcomes = []
    for _ in range(2):
        emu.faults.set_probability(0.5, seed=42)
        statuses = []
        for _ in range(40):
            try:
                statuses.append(client.get("/v1/workflows/runs", params={"page_size": 1}).status_code)
            except httpx.RemoteProtocolError:
                statuses.append("drop")
        outcomes.append(statuses)

    assert outcomes[0] == outcomes[1]
    assert 8 <= sum(status != 200 for status in outcomes[0]) <= 32
    assert set(outcomes[0]) <= {200, 429, 500, 502, 503, 504, "drop"}


def test_probability_limits(emu, client):
    emu.faults.set_probability(1.0, kinds=["502"], endpoint="list")
    assert client.get("/v1/workflows/runs").status_code == 502

    emu.faults.set_probability(0.0)
    assert all(client.get("/v1/workflows/runs").status_code == 200 for _ in range(10))

    with pytest.raises(ValueError):
        emu.faults.set_probability(1.5)


@pytest.mark.parametrize("arguments", [
    {"kind": "418"},
    {"kind": "503", "count": 0},
    {"kind": "503", "endpoint": "runs"},
    {"kind": "404", "endpoint": "list"},
])
def test_invalid_injection_rejected(emu, arguments):
    with pytest.raises(ValueError):
        emu.faults.inject(**arguments)
