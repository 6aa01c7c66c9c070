"""End-to-end syncs against the emulator into real DuckDB files."""

from __future__ import annotations

import httpx
import pytest

from conftest import API_KEY, DATASET, query, scalar, sync_options
from mistral_workflows.sync import run_sync


def _api_runs(emu) -> list[dict]:
    runs, token = [], None
    with httpx.Client(base_url=emu.url, headers={"Authorization": f"Bearer {API_KEY}"}) as http:
        while True:
            params = {"page_size": 1000}
            if token:
                params["next_page_token"] = token
            page = http.get("/v1/workflows/runs", params=params).json()
            runs.extend(page["executions"])
            token = page["next_page_token"]
            if not token:
                return runs


def _api_history_length(emu, run_id: str) -> int:
    with httpx.Client(base_url=emu.url, headers={"Authorization": f"Bearer {API_KEY}"}) as http:
        return len(http.get(f"/v1/workflows/runs/{run_id}/history").json()["events"])


def test_sync_loads_every_run_and_event(emulator, db_path):
    api_runs = _api_runs(emulator)
    expected_events = sum(_api_history_length(emulator, run["run_id"]) for run in api_runs)

    summary = run_sync(sync_options(emulator, db_path))

    assert scalar(db_path, f"select count(*) from {DATASET}.runs") == len(api_runs)
    assert scalar(db_path, f"select count(*) from {DATASET}.run_events") == expected_events
    assert summary.counts.new_runs == len(api_runs)
    assert summary.counts.events == expected_events
    assert summary.requests["detail"] == len(api_runs)
    assert summary.requests["history"] == len(api_runs)


def test_sync_stores_exact_run_values(emulator, db_path):
    api_run = _api_runs(emulator)[0]
    with httpx.Client(base_url=emulator.url, headers={"Authorization": f"Bearer {API_KEY}"}) as http:
        detail = http.get(f"/v1/workflows/runs/{api_run['run_id']}").json()

    run_sync(sync_options(emulator, db_path))

    row = query(
        db_path,
        f"""select workflow_name, execution_id, status, total_duration_ms, root_execution_id,
                   strftime(start_time at time zone 'UTC', '%Y-%m-%dT%H:%M:%S.%f')
            from {DATASET}.runs where run_id = ?""",
        [api_run["run_id"]],
    )[0]
    assert row[0] == detail["workflow_name"]
    assert row[1] == detail["execution_id"]
    assert row[2] == detail["status"]
    assert row[3] == detail["total_duration_ms"]
    assert row[4] == detail["root_execution_id"]
    assert row[5] == detail["start_time"].replace("Z", "").ljust(26, "0")[:26]


def test_columns_have_declared_types(emulator, db_path):
    run_sync(sync_options(emulator, db_path))

    run_types = dict(query(db_path, f"select column_name, data_type from information_schema.columns where table_schema = '{DATASET}' and table_name = 'runs'"))
    event_types = dict(query(db_path, f"select column_name, data_type from information_schema.columns where table_schema = '{DATASET}' and table_name = 'run_events'"))
    assert run_types["start_time"] == "TIMESTAMP WITH TIME ZONE"
    assert run_types["total_duration_ms"] == "BIGINT"
    assert run_types["result"] == "JSON"
    assert run_types["status"] == "VARCHAR"
    assert event_types["event_id"] == "BIGINT"
    assert event_types["event_time"] == "TIMESTAMP WITH TIME ZONE"
    assert event_types["attributes"] == "JSON"
    tables = {row[0] for row in query(db_path, f"select table_name from information_schema.tables where table_schema = '{DATASET}'")}
    assert not [name for name in tables if name.startswith("runs__") or name.startswith("run_events__")]
    assert not [name for name in list(run_types) + list(event_types) if "__v_" in name]


def test_second_sync_duplicates_nothing(emulator, db_path):
    options = sync_options(emulator, db_path)
    run_sync(options)
    runs_before = scalar(db_path, f"select count(*) from {DATASET}.runs")
    events_before = scalar(db_path, f"select count(*) from {DATASET}.run_events")

    second = run_sync(sync_options(emulator, db_path))

    assert scalar(db_path, f"select count(*) from {DATASET}.runs") == runs_before
    assert scalar(db_path, f"select count(*) from {DATASET}.run_events") == events_before
    assert scalar(db_path, f"select count(*) - count(distinct run_id) from {DATASET}.runs") == 0
    assert scalar(db_path, f"select count(*) from (select run_id, event_id from {DATASET}.run_events group by all having count(*) > 1)") == 0
    assert second.counts.new_runs == 0
    assert second.requests["detail"] == 0


def test_views_exist_after_sync(emulator, db_path):
    run_sync(sync_options(emulator, db_path))

    enriched = scalar(db_path, f"select count(*) from {DATASET}.runs_enriched")
    events_by_view = scalar(db_path, f"select sum(event_count) from {DATASET}.runs_enriched")
    assert enriched == scalar(db_path, f"select count(*) from {DATASET}.runs")
    assert events_by_view == scalar(db_path, f"select count(*) from {DATASET}.run_events")
    assert scalar(db_path, f"select sum(runs) from {DATASET}.workflow_daily_stats") == enriched
    assert scalar(db_path, f"select count(*) from {DATASET}.sync_log") == 1


def test_full_refresh_reloads_everything(emulator, db_path):
    run_sync(sync_options(emulator, db_path))
    runs = scalar(db_path, f"select count(*) from {DATASET}.runs")

    summary = run_sync(sync_options(emulator, db_path, full_refresh=True))

    assert summary.counts.new_runs == runs
    assert scalar(db_path, f"select count(*) from {DATASET}.runs") == runs


def test_no_history_loads_runs_only(emulator, db_path):
    summary = run_sync(sync_options(emulator, db_path, with_history=False))

    assert scalar(db_path, f"select count(*) from {DATASET}.runs") == summary.counts.new_runs
    assert summary.requests.get("history", 0) == 0
    assert scalar(db_path, f"select count(*) from {DATASET}.run_events") == 0


def test_pipeline_folder_does_not_grow(emulator, db_path):
    options = sync_options(emulator, db_path)
    run_sync(options)
    files_after_first = sum(1 for path in options.pipelines_dir.rglob("*") if path.is_file())

    for _ in range(5):
        run_sync(sync_options(emulator, db_path))

    assert sum(1 for path in options.pipelines_dir.rglob("*") if path.is_file()) <= files_after_first


def test_each_dataset_keeps_its_own_cursor(emulator, db_path):
    run_sync(sync_options(emulator, db_path, dataset="alpha"))

    summary = run_sync(sync_options(emulator, db_path, dataset="beta"))

    assert summary.counts.new_runs == len(emulator.run_ids())
    assert scalar(db_path, "select count(*) from beta.runs") == len(emulator.run_ids())


def test_future_start_time_does_not_freeze_cursor(emulator, db_path):
    from datetime import timedelta

    future = next(run for run in _api_runs(emulator))
    future = dict(future, run_id="0f0f0f0f-0000-4000-8000-000000000001", execution_id="0f0f0f0f-0000-4000-8000-000000000001",
                  start_time="2099-01-01T00:00:00Z", end_time=None, status="RUNNING", result=None)
    emulator.put_run(future, {"events": []})
    run_sync(sync_options(emulator, db_path))
    emulator.advance(2 * 3600)
    added = emulator.add_runs(3)

    run_sync(sync_options(emulator, db_path))

    stored = {row[0] for row in query(db_path, f"select run_id from {DATASET}.runs")}
    assert set(added) <= stored


def test_chunked_sync_loads_every_run_once(emulator, db_path, monkeypatch):
    import mistral_workflows.sync as sync_module

    monkeypatch.setattr(sync_module, "CHUNK_RUNS", 7)
    api_runs = _api_runs(emulator)

    summary = run_sync(sync_options(emulator, db_path))

    loads = scalar(db_path, f"select count(*) from {DATASET}._dlt_loads")
    assert loads == -(-len(api_runs) // 7)
    assert summary.counts.new_runs == len(api_runs)
    assert scalar(db_path, f"select count(*) from {DATASET}.runs") == len(api_runs)
    assert summary.requests["list"] == 3  # 60 runs at page size 25, listed once for all chunks


def test_failed_chunk_keeps_earlier_chunks(emulator, db_path, monkeypatch):
    """A sync that fails in its second chunk keeps the first; the next sync fetches only the rest."""
    import mistral_workflows.client as client_module
    import mistral_workflows.sync as sync_module
    from mistral_workflows.errors import TransientApiError

    monkeypatch.setattr(sync_module, "CHUNK_RUNS", 10)
    run_sync(sync_options(emulator, db_path))
    emulator.advance(3600)
    added = emulator.add_runs(25)
    before = scalar(db_path, f"select count(*) from {DATASET}.runs")
    real_get_history = client_module.WorkflowsClient.get_history
    calls = {"count": 0}

    def fail_after_first_chunk(self, run_id, *, decode_payloads):
        calls["count"] += 1
        if calls["count"] > 10:
            raise TransientApiError("simulated outage after the first chunk", endpoint="history")
        return real_get_history(self, run_id, decode_payloads=decode_payloads)

    monkeypatch.setattr(client_module.WorkflowsClient, "get_history", fail_after_first_chunk)
    with pytest.raises(TransientApiError):
        run_sync(sync_options(emulator, db_path))
    after_failure = scalar(db_path, f"select count(*) from {DATASET}.runs")

    monkeypatch.setattr(client_module.WorkflowsClient, "get_history", real_get_history)
    recovery = run_sync(sync_options(emulator, db_path))

    after_recovery = scalar(db_path, f"select count(*) from {DATASET}.runs")
    placeholders = ", ".join("?" for _ in added)
    assert after_failure > before
    assert recovery.counts.new_runs == after_recovery - after_failure
    assert scalar(db_path, f"select count(*) from {DATASET}.runs where run_id in ({placeholders})", added) == len(added)
