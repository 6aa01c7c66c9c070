"""The emulator's three API endpoints over real HTTP: auth, pagination, filters and validation."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from emulator_helpers import list_all, parse_time
from mistral_workflows.emulator import Emulator

NOW = datetime(2025, 10, 1, 12, 0, tzinfo=timezone.utc)
KEY = "test-key"


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


def test_auth_missing_or_wrong_key_is_401(emu, client):
    emu.reset_requests()

    missing = httpx.get(f"{emu.url}/v1/workflows/runs")
    wrong = httpx.get(f"{emu.url}/v1/workflows/runs", headers={"Authorization": "Bearer nope"})
    ok = client.get("/v1/workflows/runs")

    assert missing.status_code == 401
    assert "detail" in missing.json()
    assert wrong.status_code == 401
    assert ok.status_code == 200
    assert emu.requests["unauthorized"] == 2
    assert emu.requests["list"] == 1


def test_auth_disabled_without_key():
    with Emulator(api_key=None, runs=3, now=NOW) as emulator:
        response = httpx.get(f"{emulator.url}/v1/workflows/runs")
    assert response.status_code == 200
    assert len(response.json()["executions"]) == 3


def test_pagination_full_pages_each_run_once(emu, client):
    emu.reset_requests()
    pages, token = [], None
    while True:
        params = {"page_size": 7}
        if token:
            params["next_page_token"] = token
        body = client.get("/v1/workflows/runs", params=params).json()
        pages.append(body)
        token = body["next_page_token"]
        if token is None:
            break

    ids = [run["run_id"] for page in pages for run in page["executions"]]
    assert len(ids) == 300
    assert len(set(ids)) == 300
    assert set(ids) == set(emu.run_ids())
    assert [len(page["executions"]) for page in pages[:-1]] == [7] * 42
    assert len(pages[-1]["executions"]) == 300 - 42 * 7
    assert all(page["next_page_token"] for page in pages[:-1])
    assert emu.requests["list"] == 43


def test_pagination_exact_multiple_ends_with_null_token(client):
    first = client.get("/v1/workflows/runs", params={"page_size": 150}).json()
    second = client.get("/v1/workflows/runs", params={"page_size": 150, "next_page_token": first["next_page_token"]}).json()

    assert len(first["executions"]) == 150
    assert len(second["executions"]) == 150
    assert second["next_page_token"] is None


def test_default_page_size_is_50(client):
    body = client.get("/v1/workflows/runs").json()
    assert len(body["executions"]) == 50
    assert body["next_page_token"] is not None


def test_list_items_carry_no_result(all_runs):
    assert all("result" not in run and "search_keys" not in run for run in all_runs)


def test_status_filter_repeated(client, all_runs):
    selected_statuses = {"FAILED", "RUNNING"}
    filtered = list_all(client, status=sorted(selected_statuses))

    expected = [run["run_id"] for run in all_runs if run["status"] in selected_statuses]
    assert sorted(run["run_id"] for run in filtered) == sorted(expected)
    assert {run["status"] for run in filtered} == selected_statuses


def test_start_time_window_inclusive_with_offset(client, all_runs):
    starts = sorted(parse_time(run["start_time"]) for run in all_runs)
    low, high = starts[100], starts[199]
    paris = timezone(timedelta(hours=2))
    params = {
        "start_time_after": low.astimezone(paris).isoformat(),
        "start_time_before": high.isoformat().replace("+00:00", "Z"),
    }

    filtered = list_all(client, **params)

    assert len(filtered) == 100
    assert min(parse_time(run["start_time"]) for run in filtered) == low
    assert max(parse_time(run["start_time"]) for run in filtered) == high


def test_time_filter_accepts_nanoseconds(client, all_runs):
    start = parse_time(all_runs[0]["start_time"])
    text = start.strftime("%Y-%m-%dT%H:%M:%S.%f") + "999Z"

    filtered = list_all(client, start_time_after=text)

    assert [run["run_id"] for run in filtered] == [all_runs[0]["run_id"]]


def test_end_time_filter_drops_open_runs(client, all_runs):
    filtered = list_all(client, end_time_after="2000-01-01T00:00:00Z")

    closed = [run for run in all_runs if run["end_time"] is not None]
    assert len(filtered) == len(closed)
    assert len(closed) < len(all_runs)
    assert all(run["end_time"] is not None for run in filtered)


def test_sort_orders(client, all_runs):
    default = [parse_time(run["start_time"]) for run in all_runs]
    ascending = [parse_time(run["start_time"]) for run in list_all(client, order="asc")]
    by_end = list_all(client, sort_by="end_time", order="asc")
    ends = [parse_time(run["end_time"]) for run in by_end if run["end_time"]]

    assert default == sorted(default, reverse=True)
    assert ascending == sorted(default)
    assert ends == sorted(ends)
    assert len(by_end) == 300


def test_identity_filters(client, all_runs):
    sample = next(run for run in all_runs if run["parent_execution_id"])
    name = sample["workflow_name"]

    by_name = list_all(client, workflow_identifier=name)
    by_workflow_id = list_all(client, workflow_identifier=sample["workflow_id"])
    by_search = list_all(client, search=sample["run_id"][:13].upper())
    tree = list_all(client, root_execution_id=sample["root_execution_id"])
    by_user = list_all(client, user_id=sample["user_id"], deployment_name=sample["deployment_name"])

    assert len(by_name) == sum(1 for run in all_runs if run["workflow_name"] == name)
    assert {run["run_id"] for run in by_workflow_id} == {run["run_id"] for run in by_name}
    assert sample["run_id"] in {run["run_id"] for run in by_search}
    assert len(tree) >= 2
    assert {run["root_execution_id"] for run in tree} == {sample["root_execution_id"]}
    assert all(run["user_id"] == sample["user_id"] for run in by_user)
    assert sample["run_id"] in {run["run_id"] for run in by_user}


def test_search_key_filter(client, emu, all_runs):
    detail = client.get(f"/v1/workflows/runs/{all_runs[0]['run_id']}").json()
    tenant = detail["search_keys"]["tenant"]

    filtered = list_all(client, search_key=[f"tenant:{tenant}"])
    too_many = client.get("/v1/workflows/runs", params={"search_key": ["a:1", "b:2", "c:3", "d:4"]})

    assert 0 < len(filtered) < len(all_runs)
    assert all_runs[0]["run_id"] in {run["run_id"] for run in filtered}
    assert too_many.status_code == 422


def test_legacy_api_ignores_sort_and_time_filters(all_runs):
    with Emulator(api_key=KEY, runs=300, seed=7, now=NOW, legacy_api=True) as legacy:
        with httpx.Client(base_url=legacy.url, headers={"Authorization": f"Bearer {KEY}"}) as http:
            ignored = list_all(http, order="asc", sort_by="end_time", start_time_after="2100-01-01T00:00:00Z",
                               end_time_before="2000-01-01T00:00:00Z")
            failed = list_all(http, status="FAILED", start_time_after="2100-01-01T00:00:00Z")

    assert [run["run_id"] for run in ignored] == [run["run_id"] for run in all_runs]
    assert {run["status"] for run in failed} == {"FAILED"}
    assert len(failed) == sum(1 for run in all_runs if run["status"] == "FAILED")


@pytest.mark.parametrize("params, location", [
    ({"page_size": 0}, ["query", "page_size"]),
    ({"page_size": 1001}, ["query", "page_size"]),
    ({"page_size": "ten"}, ["query", "page_size"]),
    ({"next_page_token": "garbled!!"}, ["query", "next_page_token"]),
    ({"next_page_token": base64.urlsafe_b64encode(b'{"offset": -4}').decode()}, ["query", "next_page_token"]),
    ({"status": "SLEEPING"}, ["query", "status"]),
    ({"start_time_after": "yesterday"}, ["query", "start_time_after"]),
    ({"order": "sideways"}, ["query", "order"]),
])
def test_list_validation_422(client, params, location):
    response = client.get("/v1/workflows/runs", params=params)

    assert response.status_code == 422
    errors = response.json()["detail"]
    assert errors[0]["loc"] == location
    assert errors[0]["msg"]
    assert errors[0]["type"]


def test_page_size_bounds_accepted(client):
    assert len(client.get("/v1/workflows/runs", params={"page_size": 1}).json()["executions"]) == 1
    assert len(client.get("/v1/workflows/runs", params={"page_size": 1000}).json()["executions"]) == 300


@pytest.mark.parametrize("suffix", ["", "/history"])
def test_run_path_not_uuid_422(client, suffix):
    response = client.get(f"/v1/workflows/runs/not-a-uuid{suffix}")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "run_id"]


@pytest.mark.parametrize("suffix", ["", "/history"])
def test_unknown_run_404(client, suffix):
    response = client.get(f"/v1/workflows/runs/00000000-0000-4000-8000-000000000000{suffix}")

    assert response.status_code == 404
    assert "not found" in response.json()["detail"]


def test_bad_decode_flag_422(client, all_runs):
    response = client.get(f"/v1/workflows/runs/{all_runs[0]['run_id']}/history", params={"decode_payloads": "maybe"})
    assert response.status_code == 422


def test_unknown_path_404_not_counted(emu, client):
    emu.reset_requests()
    response = client.get("/v2/elsewhere")

    assert response.status_code == 404
    assert emu.requests["list"] + emu.requests["detail"] + emu.requests["history"] == 0
    assert emu.requests["other"] == 1
