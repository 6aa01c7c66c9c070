"""The `mistral-runs` command as cron runs it: exit codes, one-line errors, logs, secrets."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import duckdb
import filelock
import pytest

from conftest import API_KEY, DATASET, run_cli, scalar
from mistral_workflows.errors import (
    EXIT_API,
    EXIT_AUTH,
    EXIT_DATABASE_BUSY,
    EXIT_SYNC_RUNNING,
    EXIT_USAGE,
)
from mistral_workflows.settings import SyncOptions


def _sync(emu, db_path: Path, *extra: str, key: str | None = API_KEY, cwd: Path | None = None):
    env = {"MISTRAL_API_KEY": key} if key is not None else {}
    return run_cli("sync", "--base-url", emu.url, "--duckdb", str(db_path), *extra, env=env, cwd=cwd)


def _assert_one_line_error(result, *fragments: str) -> None:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize("command", ["sync", "demo", "emulator", "report"])
def test_help_explains_command(command):
    result = run_cli(command, "--help")

    assert result.returncode == 0
    assert "Usage: mistral-runs" in result.stdout
    assert "--help" in result.stdout


def test_sync_help_lists_exit_codes_and_options():
    result = run_cli("sync", "--help")

    for option in ("--base-url", "--duckdb", "--dataset", "--full-refresh", "--page-size", "--no-history",
                   "--raw-payloads", "--no-payloads", "--lookback", "--since", "--wait", "--log-format",
                   "--max-event-bytes", "--concurrency"):
        assert option in result.stdout
    assert "Exit codes" in result.stdout


def test_sync_succeeds_and_logs_summary(emulator, tmp_path):
    result = _sync(emulator, tmp_path / "runs.duckdb")

    assert result.returncode == 0, result.stderr
    assert "Sync finished in" in result.stderr
    assert scalar(tmp_path / "runs.duckdb", f"select count(*) from {DATASET}.runs") == len(emulator.run_ids())


def test_missing_key_exits_2_without_touching_database(emulator, tmp_path):
    result = _sync(emulator, tmp_path / "runs.duckdb", key=None)

    assert result.returncode == EXIT_AUTH
    _assert_one_line_error(result, "MISTRAL_API_KEY")
    assert not (tmp_path / "runs.duckdb").exists()


def test_rejected_key_exits_2_and_leaves_data(emulator, tmp_path):
    db_path = tmp_path / "runs.duckdb"
    assert _sync(emulator, db_path).returncode == 0
    runs = scalar(db_path, f"select count(*) from {DATASET}.runs")
    emulator.add_runs(2)
    emulator.reset_requests()

    result = _sync(emulator, db_path, key="wrong-key")

    assert result.returncode == EXIT_AUTH
    _assert_one_line_error(result, "MISTRAL_API_KEY", "401")
    assert emulator.requests.get("list", 0) + emulator.requests.get("unauthorized", 0) <= 1
    assert scalar(db_path, f"select count(*) from {DATASET}.runs") == runs


def test_unreachable_api_exits_3(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_cli("sync", "--base-url", f"http://127.0.0.1:{port}", "--duckdb", str(tmp_path / "runs.duckdb"),
                     "--retries", "1", env={"MISTRAL_API_KEY": API_KEY})

    assert result.returncode == EXIT_API
    assert "cannot reach" in result.stderr
    assert "Traceback" not in result.stderr


def test_second_sync_exits_4_while_lock_held(emulator, tmp_path):
    db_path = tmp_path / "runs.duckdb"
    lock = filelock.FileLock(str(SyncOptions(api_key="", duckdb_path=db_path).lock_path))

    with lock:
        result = _sync(emulator, db_path)

    assert result.returncode == EXIT_SYNC_RUNNING
    _assert_one_line_error(result, "Another sync", "--wait")


def test_reader_holding_database_exits_5(emulator, tmp_path):
    db_path = tmp_path / "runs.duckdb"
    assert _sync(emulator, db_path).returncode == 0
    reader = duckdb.connect(str(db_path), read_only=True)
    try:
        result = _sync(emulator, db_path, "--wait", "1")
    finally:
        reader.close()

    assert result.returncode == EXIT_DATABASE_BUSY
    assert "--wait" in result.stderr
    assert "Traceback" not in result.stderr


def test_usage_error_exits_64():
    result = run_cli("sync", "--page-size", "0")

    assert result.returncode == EXIT_USAGE
    assert "page-size" in result.stderr


def test_database_named_like_dataset_is_rejected(emulator, tmp_path):
    result = _sync(emulator, tmp_path / f"{DATASET}.duckdb")

    assert result.returncode == EXIT_USAGE
    _assert_one_line_error(result, "ambiguous")


def test_sync_same_from_any_working_directory(emulator, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    first = _sync(emulator, Path("runs.duckdb"), cwd=data)
    second = _sync(emulator, data / "runs.duckdb", cwd=elsewhere)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert "0 new" in second.stderr
    assert not (elsewhere / ".dlt").exists()
    assert not list(elsewhere.iterdir())


def test_json_logs_carry_summary(emulator, tmp_path):
    result = _sync(emulator, tmp_path / "runs.duckdb", "--log-format", "json")

    records = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    summary = [record for record in records if "summary" in record]
    assert len(summary) == 1
    assert summary[0]["summary"]["runs_new"] == len(emulator.run_ids())
    assert all({"time", "level", "message"} <= set(record) for record in records)


def test_key_never_stored_or_logged(emulator, tmp_path):
    db_path = tmp_path / "runs.duckdb"
    emulator.faults.inject("503", count=2, endpoint="history")
    result = _sync(emulator, db_path, "-v")
    bad = _sync(emulator, db_path, key=API_KEY + "-wrong")

    assert result.returncode == 0
    assert API_KEY not in result.stderr + result.stdout
    assert API_KEY not in bad.stderr + bad.stdout
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert API_KEY.encode() not in path.read_bytes(), path


def _start_sync(emu, db_path: Path, *extra: str):
    import os
    import subprocess
    import sys

    env = dict(os.environ, MISTRAL_API_KEY=API_KEY, RUNTIME__DLTHUB_TELEMETRY="false")
    return subprocess.Popen(
        [sys.executable, "-m", "mistral_workflows.cli", "sync", "--base-url", emu.url, "--duckdb", str(db_path), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def _wait_until_listing(emu, first_sync, timeout_s: float = 30) -> None:
    """Wait until the first sync sends its list request, which it sends while holding the lock.

    Reading the emulator's counter instead of trying the lock keeps the test from taking
    the lock itself at the moment the first sync requests it.
    """
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if emu.counter.snapshot()["list"] >= 1:
            return
        if first_sync.poll() is not None:
            raise AssertionError(f"the first sync ended early: {first_sync.communicate()[1]}")
        time.sleep(0.02)
    raise AssertionError("the first sync never sent its list request")


def test_first_sync_keeps_lock_and_second_exits_4(emulator, tmp_path):
    db_path = tmp_path / "runs.duckdb"
    emulator.faults.inject("slow", count=1, endpoint="list", seconds=5)
    first = _start_sync(emulator, db_path)
    _wait_until_listing(emulator, first)

    second = _sync(emulator, db_path)
    first_out, first_err = first.communicate(timeout=60)

    assert second.returncode == EXIT_SYNC_RUNNING
    assert first.returncode == 0, first_err


def test_wait_lets_second_sync_run_after_first(emulator, tmp_path):
    db_path = tmp_path / "runs.duckdb"
    emulator.faults.inject("slow", count=1, endpoint="list", seconds=2)
    first = _start_sync(emulator, db_path)
    _wait_until_listing(emulator, first)

    second = _sync(emulator, db_path, "--wait", "60")
    first.communicate(timeout=60)

    assert first.returncode == 0
    assert second.returncode == 0, second.stderr
    assert "0 new" in second.stderr


def test_lock_of_killed_sync_does_not_block(emulator, tmp_path):
    import signal

    db_path = tmp_path / "runs.duckdb"
    emulator.faults.inject("slow", count=1, endpoint="list", seconds=4)
    first = _start_sync(emulator, db_path)
    lock_path = SyncOptions(api_key="", duckdb_path=db_path).lock_path
    _wait_until_listing(emulator, first)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)

    result = _sync(emulator, db_path)

    assert lock_path.exists()
    assert result.returncode == 0, result.stderr


def test_report_to_missing_folder_is_one_line(emulator, tmp_path):
    db_path = tmp_path / "runs.duckdb"
    assert _sync(emulator, db_path).returncode == 0

    result = run_cli("report", "--duckdb", str(db_path), "--out", "/proc/no-such-folder/report.html")

    assert result.returncode == EXIT_USAGE
    assert "Traceback" not in result.stderr
    assert "Cannot write the report" in result.stderr


def test_missing_database_folder_created_with_warning(emulator, tmp_path):
    db_path = tmp_path / "new" / "nested" / "runs.duckdb"

    result = _sync(emulator, db_path)

    assert result.returncode == 0, result.stderr
    assert db_path.is_file()
    assert f"Created the folder {db_path.parent}" in result.stderr


def test_database_path_under_file_exits_64(emulator, tmp_path):
    blocking_file = tmp_path / "afile"
    blocking_file.write_text("not a folder")

    result = _sync(emulator, blocking_file / "runs.duckdb")

    assert result.returncode == EXIT_USAGE
    assert f"{blocking_file} is a file, not a folder" in result.stderr
    assert "Traceback" not in result.stderr
    assert blocking_file.read_text() == "not a folder"
