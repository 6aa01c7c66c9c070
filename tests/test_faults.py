"""Transient faults are retried, fatal ones stop the sync, and nothing loaded is lost."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from conftest import DATASET, query, scalar, sync_options
from mistral_workflows.client import WorkflowsClient, RetryPolicy
from mistral_workflows.errors import ApiError, AuthError, PaginationError, TransientApiError
from mistral_workflows.sync import run_sync


def _client(emu, **retry) -> WorkflowsClient:
    policy = RetryPolicy(**{"max_attempts": 4, "initial_backoff_s": 0.01, "max_backoff_s": 0.05, **retry})
    return WorkflowsClient(emu.url, "test-key-5f3a9c", timeout_s=2.0, retry=policy)


def _first_run_id(emu) -> str:
    return emu.run_ids()[0]


@pytest.mark.parametrize("kind", ["500", "502", "503", "504", "drop", "html200", "truncated_json"])
def test_transient_fault_is_retried(emulator, kind):
    emulator.faults.inject(kind, count=2, endpoint="detail")
    with _client(emulator) as client:
        run = client.get_run(_first_run_id(emulator))

    assert run["execution_id"]
    assert client.requests["detail"] == 3
    assert client.retries == 2


def test_slow_response_times_out_and_is_retried(emulator):
    emulator.faults.inject("slow", count=1, endpoint="history", seconds=3)
    client = WorkflowsClient(emulator.url, "test-key-5f3a9c", timeout_s=0.5,
                             retry=RetryPolicy(max_attempts=3, initial_backoff_s=0.01, max_backoff_s=0.02))
    with client:
        history = client.get_history(_first_run_id(emulator), decode_payloads=True)

    assert history["events"]
    assert client.requests["history"] == 2


def test_zero_retry_after_still_waits(emulator):
    emulator.faults.inject("429", count=1, endpoint="detail", retry_after="0")
    started = time.monotonic()
    with _client(emulator, initial_backoff_s=0.2, max_backoff_s=0.2) as client:
        client.get_run(_first_run_id(emulator))

    assert time.monotonic() - started >= 0.1
    assert client.requests["detail"] == 2


def test_retry_after_seconds_is_honoured(emulator):
    emulator.faults.inject("429", count=1, endpoint="detail", retry_after="1")
    started = time.monotonic()
    with _client(emulator) as client:
        client.get_run(_first_run_id(emulator))

    assert time.monotonic() - started >= 1.0


def test_retry_after_http_date_is_honoured(emulator):
    moment = datetime.now(timezone.utc) + timedelta(seconds=2)
    emulator.faults.inject("429", count=1, endpoint="detail", retry_after=format_datetime(moment, usegmt=True))
    started = time.monotonic()
    with _client(emulator) as client:
        client.get_run(_first_run_id(emulator))

    # An HTTP date has whole seconds, so the wait is between 1 and 2 s.
    assert time.monotonic() - started >= 0.9


def test_rate_limit_lowers_concurrency(emulator):
    emulator.faults.inject("429", count=1, endpoint="detail", retry_after="0")
    with WorkflowsClient(emulator.url, "test-key-5f3a9c", concurrency=8,
                         retry=RetryPolicy(initial_backoff_s=0.01, max_backoff_s=0.02)) as client:
        client.get_run(_first_run_id(emulator))
        assert client.limit.current == 4


def test_retries_run_out_with_clear_error(emulator):
    emulator.faults.inject("503", count=10, endpoint="detail")
    with _client(emulator) as client, pytest.raises(TransientApiError, match="HTTP 503"):
        client.get_run(_first_run_id(emulator))

    assert client.requests["detail"] == 4


def test_unauthorized_is_not_retried(emulator):
    client = WorkflowsClient(emulator.url, "wrong-key", retry=RetryPolicy(initial_backoff_s=0.01))
    with client, pytest.raises(AuthError, match="MISTRAL_API_KEY"):
        list(client.list_runs({"page_size": 10}))

    assert client.requests["list"] == 1


def test_repeated_page_token_stops_listing(emulator):
    emulator.faults.inject("repeat_token", count=1, endpoint="list")
    with _client(emulator) as client, pytest.raises(PaginationError, match="again"):
        for _ in client.list_runs({"page_size": 5}):
            pass

    assert client.requests["list"] < 20


def test_empty_page_with_token_ends_listing(emulator):
    emulator.faults.inject("empty_last_page", count=1, endpoint="list")
    with _client(emulator) as client:
        listed = [run for page in client.list_runs({"page_size": 1000}) for run in page]

    assert len(listed) == len(emulator.run_ids())


def test_failed_sync_keeps_cursor_and_data(emulator, db_path):
    run_sync(sync_options(emulator, db_path, page_size=1000))
    runs_before = scalar(db_path, f"select count(*) from {DATASET}.runs")
    emulator.add_runs(3)
    emulator.faults.inject("503", count=100, endpoint="history")

    with pytest.raises(TransientApiError):
        run_sync(sync_options(emulator, db_path, page_size=1000, max_attempts=2))

    assert scalar(db_path, f"select count(*) from {DATASET}.runs") == runs_before
    emulator.faults.clear()
    summary = run_sync(sync_options(emulator, db_path, page_size=1000))
    assert summary.counts.new_runs == 3
    assert scalar(db_path, f"select count(*) from {DATASET}.runs") == runs_before + 3


def test_run_deleted_after_listing_is_skipped_and_retried(emulator, db_path):
    run_sync(sync_options(emulator, db_path, page_size=1000))
    added = emulator.add_runs(1)[0]
    emulator.faults.inject("404", count=1, endpoint="detail")

    first = run_sync(sync_options(emulator, db_path, page_size=1000))
    assert first.counts.missing_runs == 1
    assert scalar(db_path, f"select count(*) from {DATASET}.runs where run_id = ?", [added]) == 0

    # far beyond the lookback window: the run is still retried because it was remembered
    emulator.advance(5 * 3600)
    run_sync(sync_options(emulator, db_path, page_size=1000))
    assert scalar(db_path, f"select count(*) from {DATASET}.runs where run_id = ?", [added]) == 1


def test_twenty_percent_faults_give_same_tables(emulator, db_path, tmp_path):
    clean = tmp_path / "clean.duckdb"
    run_sync(sync_options(emulator, clean, page_size=10))
    emulator.faults.set_probability(0.2, seed=11)

    run_sync(sync_options(emulator, db_path, page_size=10, max_attempts=10))

    emulator.faults.clear()
    for table, order in (("runs", "run_id"), ("run_events", "run_id, event_id")):
        columns = "* exclude (synced_at)" if table == "runs" else "*"
        faulty = query(db_path, f"select {columns} from {DATASET}.{table} order by {order}")
        expected = query(clean, f"select {columns} from {DATASET}.{table} order by {order}")
        assert len(faulty) == len(expected)
        assert faulty == expected


@pytest.mark.parametrize("status", [200, 400])
def test_error_page_echoing_key_is_redacted(status):
    """A gateway page that echoes the Authorization header must not carry the key into errors."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class EchoHeaders(BaseHTTPRequestHandler):
        def do_GET(self):
            body = f"<html>bad gateway; you sent {self.headers.get('Authorization')}</html>".encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), EchoHeaders)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    key = "secret-key-echoed-7781"
    try:
        client = WorkflowsClient(f"http://127.0.0.1:{server.server_port}", key,
                                 retry=RetryPolicy(max_attempts=1))
        with client, pytest.raises(ApiError) as raised:
            client.get_run("00000000-0000-0000-0000-000000000000")
    finally:
        server.shutdown()

    assert key not in str(raised.value)
    assert "bad gateway" in str(raised.value)


def test_long_retry_after_stops_at_once(emulator):
    emulator.faults.inject("429", count=1, endpoint="detail", retry_after="3600")
    started = time.monotonic()
    with _client(emulator) as client, pytest.raises(ApiError, match="3600 s"):
        client.get_run(_first_run_id(emulator))

    assert time.monotonic() - started < 5
    assert client.requests["detail"] == 1


def test_concurrency_reductions_log_one_info_line(caplog):
    from mistral_workflows.concurrency import AdaptiveLimit

    limit = AdaptiveLimit(8)
    with caplog.at_level("DEBUG", logger="mistral_workflows.concurrency"):
        for _ in range(3):
            limit.on_rate_limited()

    levels = [record.levelname for record in caplog.records]
    assert levels == ["INFO", "DEBUG", "DEBUG"]
    assert limit.current == 1
    assert limit.reductions == 3
