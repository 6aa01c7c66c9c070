"""Shared fixtures: an emulator on 127.0.0.1, sync options pointing at it, table readers."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest

os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"

from mistral_workflows.emulator import Emulator  # noqa: E402
from mistral_workflows.settings import SyncOptions  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_HISTORIES = REPO_ROOT.parent / "shared" / "fixtures" / "temporal-histories"
API_KEY = "test-key-5f3a9c"
FIXED_NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
DATASET = "mistral_workflows"


@pytest.fixture
def emulator():
    """A small synthetic account on a fixed clock."""
    with Emulator(api_key=API_KEY, runs=60, seed=3, now=FIXED_NOW) as emu:
        yield emu


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "runs.duckdb"


def sync_options(emu: Emulator, db_path: Path, **overrides) -> SyncOptions:
    """Options for a fast test sync: tiny backoff so retries cost milliseconds."""
    settings = dict(
        api_key=API_KEY,
        base_url=emu.url,
        duckdb_path=db_path,
        page_size=25,
        initial_backoff_s=0.01,
        max_backoff_s=0.05,
        timeout_s=5.0,
    )
    settings.update(overrides)
    return SyncOptions(**settings)


def query(db_path: Path, sql: str, params=None) -> list[tuple]:
    """Run one query on a read-only connection and read it to the end."""
    connection = duckdb.connect(str(db_path), read_only=True)
    try:
        return connection.execute(sql, params or []).fetchall()
    finally:
        connection.close()


def scalar(db_path: Path, sql: str, params=None):
    return query(db_path, sql, params)[0][0]


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `mistral-runs` in a subprocess, as cron would."""
    full_env = {key: value for key, value in os.environ.items() if key != "MISTRAL_API_KEY"}
    full_env["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "mistral_workflows.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
    )


def shared_histories_or_skip() -> Path:
    if not SHARED_HISTORIES.is_dir():
        pytest.skip(f"real Temporal histories not found at {SHARED_HISTORIES} (a checkout outside the team)")
    return SHARED_HISTORIES
