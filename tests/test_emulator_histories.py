"""Serving history files, long synthetic histories, and the `emulator` command."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import orjson
import pytest
from click.testing import CliRunner

from mistral_workflows.emulator import Emulator
from mistral_workflows.emulator.cli import emulator_command

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "temporal-histories"
KEY = "test-key"

# Status derived from each fixture's last event, and its event count.
EXPECTED_FILES = {
    "go-cadence-legacy-list.json": ("RUNNING", 22),
    "go-canceled.json": ("CANCELED", 12),
    "go-child-workflow-update.json": ("COMPLETED", 24),
    "go-continue-as-new.json": ("CONTINUED_AS_NEW", 5),
    "go-sample-int-event-ids.json": ("COMPLETED", 11),
    "py-agent-customer-service-canceled.json": ("CANCELED", 65),
    "py-agent-hello.json": ("COMPLETED", 11),
    "py-agent-tools.json": ("COMPLETED", 23),
    "py-open-activity-cancellation.json": ("RUNNING", 48),
    "py-replayer-complete-pascalcase.json": ("COMPLETED", 11),
    "ts-random-replay.json": ("COMPLETED", 65),
}

needs_fixtures = pytest.mark.skipif(
    not FIXTURES.is_dir(), reason=f"shared Temporal history fixtures not found at {FIXTURES}",
)


@pytest.fixture(scope="module")
def file_emu():
    if not FIXTURES.is_dir():
        pytest.skip(f"shared Temporal history fixtures not found at {FIXTURES}")
    with Emulator(api_key=KEY, histories_dir=FIXTURES) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def file_client(file_emu):
    with httpx.Client(base_url=file_emu.url, headers={"Authorization": f"Bearer {KEY}"}) as http:
        yield http


@pytest.fixture(scope="module")
def served_files(file_client):
    """Map each fixture file name to its list item, matched through the served history bytes."""
    runs = file_client.get("/v1/workflows/runs", params={"page_size": 100}).json()["executions"]
    by_bytes = {path.read_bytes(): path.name for path in FIXTURES.glob("*.json")}
    served = {}
    for run in runs:
        body = file_client.get(f"/v1/workflows/runs/{run['run_id']}/history").content
        served[by_bytes[body]] = run
    return served


@needs_fixtures
def test_every_history_file_served_verbatim(served_files):
    assert set(served_files) == set(EXPECTED_FILES)


@needs_fixtures
@pytest.mark.parametrize("file_name", sorted(EXPECTED_FILES))
def test_history_file_derived_run(served_files, file_client, file_name):
    run = served_files[file_name]
    status, event_count = EXPECTED_FILES[file_name]
    document = orjson.loads((FIXTURES / file_name).read_bytes())
    events = document["events"] if isinstance(document, dict) else document
    detail = file_client.get(f"/v1/workflows/runs/{run['run_id']}").json()

    assert run["status"] == status
    assert len(events) == event_count
    assert uuid.UUID(run["run_id"]) == uuid.UUID(detail["run_id"])
    assert run["workflow_name"]
    assert (run["end_time"] is None) == (status == "RUNNING")
    assert (run["total_duration_ms"] is None) == (status == "RUNNING")
    assert {key: detail[key] for key in run} == run


@needs_fixtures
def test_history_file_run_ids_stable(served_files):
    with Emulator(api_key=KEY, histories_dir=FIXTURES) as again:
        assert sorted(again.run_ids()) == sorted(run["run_id"] for run in served_files.values())


@needs_fixtures
def test_history_file_decoded_payloads(served_files, file_client):
    run_id = served_files["py-agent-hello.json"]["run_id"]

    events = file_client.get(f"/v1/workflows/runs/{run_id}/history", params={"decode_payloads": "true"}).json()["events"]
    started = events[0]["workflowExecutionStartedEventAttributes"]

    assert started["input"]["payloads"] == ["Tell me about recursion in programming."]
    assert len(events) == 11
    assert served_files["py-agent-hello.json"]["execution_id"] == started["workflowId"]


@needs_fixtures
def test_history_file_workflow_id_as_execution_id(served_files):
    assert served_files["py-agent-tools.json"]["execution_id"].startswith("tools-workflow-")
    sample = served_files["go-sample-int-event-ids.json"]
    assert sample["execution_id"] == sample["run_id"]


@needs_fixtures
def test_bad_history_files_skipped_with_warning(tmp_path, caplog):
    (tmp_path / "good.json").write_bytes((FIXTURES / "go-continue-as-new.json").read_bytes())
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "not-history.json").write_text('{"hello": "world"}')
    (tmp_path / "notes.txt").write_text("ignored, not a .json file")

    with caplog.at_level(logging.WARNING, logger="mistral_workflows.emulator"):
        emulator = Emulator(api_key=KEY, histories_dir=tmp_path)

    warned = " ".join(record.getMessage() for record in caplog.records if record.levelno == logging.WARNING)
    assert len(emulator.run_ids()) == 1
    assert "broken.json" in warned
    assert "not-history.json" in warned
    assert "notes.txt" not in warned


def test_sixty_thousand_event_history():
    with Emulator(api_key=KEY, runs=1, events_per_run=60_000, seed=7) as emulator:
        run_id = emulator.run_ids()[0]
        with httpx.Client(base_url=emulator.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60) as http:
            run = http.get(f"/v1/workflows/runs/{run_id}").json()
            events = http.get(f"/v1/workflows/runs/{run_id}/history").json()["events"]

    assert run["end_time"] is not None
    assert len(events) == 60_000
    assert events[0]["eventId"] == "1"
    assert events[-1]["eventId"] == "60000"
    assert events[-1]["eventType"].startswith("EVENT_TYPE_WORKFLOW_EXECUTION_")


def test_events_per_run_average():
    with Emulator(api_key=KEY, runs=60, events_per_run=40, seed=2) as emulator:
        with httpx.Client(base_url=emulator.url, headers={"Authorization": f"Bearer {KEY}"}) as http:
            closed = [run for run in http.get("/v1/workflows/runs", params={"page_size": 100}).json()["executions"]
                      if run["end_time"] is not None]
            lengths = [len(http.get(f"/v1/workflows/runs/{run['run_id']}/history").json()["events"]) for run in closed]

    assert len(closed) >= 50
    assert 34 <= sum(lengths) / len(lengths) <= 46
    assert max(lengths) > min(lengths)


def test_cli_help_names_units():
    result = CliRunner().invoke(emulator_command, ["--help"])

    assert result.exit_code == 0
    for option in ("--port", "--api-key", "--runs", "--seed", "--events-per-run", "--histories", "--latency-ms",
                   "--now", "--legacy-api"):
        assert option in result.output
    assert "milliseconds" in result.output
    assert "ISO 8601" in result.output
    assert "--host" not in result.output


def test_cli_rejects_bad_now():
    result = CliRunner().invoke(emulator_command, ["--now", "tomorrow-ish", "--port", "0"])

    assert result.exit_code == 2
    assert "ISO 8601" in result.output


def test_cli_serves_until_interrupted():
    code = "from mistral_workflows.emulator.cli import emulator_command; emulator_command()"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "--port", "0", "--runs", "12", "--api-key", "cli-key", "--now", "2025-10-01T12:00:00Z"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        line = process.stdout.readline().strip()
        url = line.split(" at ")[1].split(" ")[0]
        response = httpx.get(f"{url}/v1/workflows/runs", headers={"Authorization": "Bearer cli-key"})
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()

    assert line.startswith("Serving the Mistral Workflows API emulator at http://127.0.0.1:")
    assert line.endswith("(12 runs, api key: cli-key)")
    assert response.status_code == 200
    assert len(response.json()["executions"]) == 12
    assert process.returncode == 0
    assert "Traceback" not in stderr


def test_history_file_newest_first_derives_closed_run(tmp_path):
    events = [
        {"eventId": "1", "eventTime": "2026-11-20T10:00:00Z", "eventType": "WorkflowExecutionStarted",
         "workflowExecutionStartedEventAttributes": {"workflowType": {"name": "reversed"}}},
        {"eventId": "2", "eventTime": "2026-11-20T10:00:01Z", "eventType": "WorkflowTaskScheduled",
         "workflowTaskScheduledEventAttributes": {}},
        {"eventId": "3", "eventTime": "2026-11-20T10:00:07Z", "eventType": "WorkflowExecutionCompleted",
         "workflowExecutionCompletedEventAttributes": {}},
    ]
    (tmp_path / "reversed.json").write_bytes(orjson.dumps({"events": events[::-1]}))

    with Emulator(api_key=KEY, histories_dir=tmp_path) as emulator:
        run_id = emulator.run_ids()[0]
        headers = {"Authorization": f"Bearer {KEY}"}
        detail = httpx.get(f"{emulator.url}/v1/workflows/runs/{run_id}", headers=headers).json()
        history = httpx.get(f"{emulator.url}/v1/workflows/runs/{run_id}/history", headers=headers).json()

    assert detail["status"] == "COMPLETED"
    assert detail["total_duration_ms"] == 7000
    assert detail["workflow_name"] == "reversed"
    assert [event["eventId"] for event in history["events"]] == ["3", "2", "1"]
