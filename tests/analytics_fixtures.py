"""A small hand-written dataset of runs and history events for the analytics tests.

The sixteen runs cover the cases the views must get right:

- a plain completed run, and a run that failed after an activity was retried;
- an activity timeout, and a cancellation with an activity cancel;
- a termination that abandons an activity, and a continue-as-new chain;
- a parent with two children and a grandchild, and an orphan child whose root was never loaded;
- two open runs (one silent for three hours) and an open run without events;
- a run whose ACTIVITY_TASK_STARTED event is missing.

The expected numbers are in the tests, worked out by hand from the timelines below.

Tables are created with the declared columns of `mistral_workflows.schema`, the DuckDB
types dlt gives them and dlt's two bookkeeping columns, so that the views meet the same
shape as after a real sync.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb

from mistral_workflows.schema import EVENT_COLUMNS, RUN_COLUMNS
from mistral_workflows.views import create_views, quote_identifier

SCENARIO_DATASET = "wf_test"
DAY_ONE = datetime(2025, 3, 10, tzinfo=timezone.utc)
DAY_TWO = DAY_ONE + timedelta(days=1)
SYNC_STARTED_AT = DAY_TWO + timedelta(hours=12)
LAST_SYNCED_AT = SYNC_STARTED_AT + timedelta(seconds=90)
SCRIPT_MESSAGE = "PDF is encrypted <script>alert('x')</script>"

# The DuckDB type dlt 1.31 creates for each declared data type.
_DUCKDB_TYPES = {
    "text": "varchar",
    "json": "json",
    "bigint": "bigint",
    "bool": "boolean",
    "timestamp": "timestamp with time zone",
}


def at(day: datetime, clock: str) -> datetime:
    """Return the instant `clock` ("HH:MM:SS" or "HH:MM:SS.fff") of a scenario day, in UTC."""
    parsed = datetime.strptime(clock, "%H:%M:%S.%f" if "." in clock else "%H:%M:%S")
    return day.replace(hour=parsed.hour, minute=parsed.minute, second=parsed.second, microsecond=parsed.microsecond)


def _run(
    run_id: str,
    execution_id: str,
    workflow_name: str,
    status: str | None,
    start_time: datetime,
    end_time: datetime | None,
    *,
    root_execution_id: str | None = None,
    parent_execution_id: str | None = None,
    total_duration_ms: int | None = None,
) -> dict:
    """Build one `runs` row. A root run is its own root, and the API duration matches the times."""
    if total_duration_ms is None and end_time is not None:
        total_duration_ms = int((end_time - start_time).total_seconds() * 1000)
    return {
        "run_id": run_id,
        "execution_id": execution_id,
        "workflow_name": workflow_name,
        "workflow_id": f"wf-{execution_id}",
        "root_execution_id": root_execution_id or execution_id,
        "parent_execution_id": parent_execution_id,
        "status": status,
        "start_time": start_time,
        "end_time": end_time,
        "total_duration_ms": total_duration_ms,
        "deployment_name": "production",
        "user_id": "user-1",
        "result": json.dumps({"ok": True}) if status == "COMPLETED" else None,
        "search_keys": json.dumps({"team": "search"}),
        "synced_at": SYNC_STARTED_AT + timedelta(seconds=30),
    }


def _workflow_task(time: datetime) -> list[tuple]:
    """Return the three events of a workflow task that completes at `time`."""
    return [
        (time, "WORKFLOW_TASK_SCHEDULED", {}),
        (time, "WORKFLOW_TASK_STARTED", {}),
        (time, "WORKFLOW_TASK_COMPLETED", {}),
    ]


def _started(time: datetime, workflow_type: str) -> tuple:
    return (time, "WORKFLOW_EXECUTION_STARTED", {"workflow_type": workflow_type})


def _activity_scheduled(time: datetime, activity_type: str, activity_id: str) -> tuple:
    return (time, "ACTIVITY_TASK_SCHEDULED", {"activity_type": activity_type, "activity_id": activity_id})


def _activity_started(time: datetime, scheduled_event_id: int, attempt: int) -> tuple:
    return (time, "ACTIVITY_TASK_STARTED", {"scheduled_event_id": scheduled_event_id, "attempt": attempt})


def _activity_closed(time: datetime, event_type: str, scheduled_event_id: int | None, started_event_id: int, **failure) -> tuple:
    fields = {"scheduled_event_id": scheduled_event_id, "started_event_id": started_event_id}
    fields.update(failure)
    return (time, event_type, fields)


def scenario_runs() -> list[dict]:
    """Return the sixteen `runs` rows of the scenario."""
    d1, d2 = DAY_ONE, DAY_TWO
    return [
        # The API duration disagrees with the times on purpose: the view must prefer the times.
        _run("run-completed", "exec-completed", "document-summarizer", "COMPLETED",
             at(d1, "08:00:00"), at(d1, "08:00:10"), total_duration_ms=10_250),
        _run("run-failed", "exec-failed", "document-summarizer", "FAILED", at(d1, "09:00:00"), at(d1, "09:01:00")),
        _run("run-timed-out", "exec-timed-out", "support-agent", "TIMED_OUT", at(d1, "10:00:00"), at(d1, "10:05:00")),
        # Starts at 23:50 UTC, which is already the next day in Tokyo.
        _run("run-canceled", "exec-canceled", "support-agent", "CANCELED", at(d1, "23:50:00"), at(d1, "23:50:30")),
        _run("run-terminated", "exec-terminated", "document-summarizer", "TERMINATED",
             at(d2, "07:00:00"), at(d2, "07:10:00")),
        _run("run-chat-1", "exec-chat", "chat-session", "CONTINUED_AS_NEW", at(d1, "12:00:00"), at(d1, "12:30:00")),
        _run("run-chat-2", "exec-chat", "chat-session", "COMPLETED", at(d1, "12:30:00"), at(d1, "12:40:00")),
        _run("run-indexer", "exec-indexer", "rag-indexer", "FAILED", at(d2, "08:00:00"), at(d2, "08:10:00")),
        _run("run-embed-ok", "exec-embed-1", "embed-batch", "COMPLETED", at(d2, "08:01:00"), at(d2, "08:03:00"),
             root_execution_id="exec-indexer", parent_execution_id="exec-indexer"),
        _run("run-embed-failed", "exec-embed-2", "embed-batch", "FAILED", at(d2, "08:01:00"), at(d2, "08:05:00"),
             root_execution_id="exec-indexer", parent_execution_id="exec-indexer"),
        _run("run-chunk", "exec-chunk", "chunk-splitter", "COMPLETED", at(d2, "08:01:30"), at(d2, "08:02:00"),
             root_execution_id="exec-indexer", parent_execution_id="exec-embed-1"),
        _run("run-stuck", "exec-stuck", "support-agent", "RUNNING", at(d2, "06:00:00"), None),
        _run("run-no-events", "exec-no-events", "document-summarizer", "RUNNING", at(d2, "11:50:00"), None),
        _run("run-missing-start", "exec-missing-start", "document-summarizer", "COMPLETED",
             at(d2, "09:00:00"), at(d2, "09:02:00")),
        _run("run-retrying", "exec-retrying", "support-agent", "RETRYING_AFTER_ERROR", at(d2, "11:30:00"), None),
        # A child whose root was never loaded, and whose end time is missing: only the API duration is known.
        _run("run-orphan", "exec-orphan", "embed-batch", "COMPLETED", at(d2, "10:00:00"), None,
             root_execution_id="exec-missing", parent_execution_id="exec-missing", total_duration_ms=60_000),
    ]


def scenario_histories() -> dict[str, list[tuple]]:
    """Return each run's history as (event_time, event_type, fields) tuples, event ids counting from 1.

    A `None` entry stands for an event id that is missing from the loaded history.
    """
    d1, d2 = DAY_ONE, DAY_TWO
    return {
        "run-completed": [
            _started(at(d1, "08:00:00"), "document-summarizer"),
            *_workflow_task(at(d1, "08:00:00.100")),
            _activity_scheduled(at(d1, "08:00:01"), "call_llm", "1"),
            _activity_started(at(d1, "08:00:01.500"), 5, 1),
            _activity_closed(at(d1, "08:00:09.500"), "ACTIVITY_TASK_COMPLETED", 5, 6),
            *_workflow_task(at(d1, "08:00:09.600")),
            (at(d1, "08:00:10"), "WORKFLOW_EXECUTION_COMPLETED", {}),
        ],
        "run-failed": [
            _started(at(d1, "09:00:00"), "document-summarizer"),
            *_workflow_task(at(d1, "09:00:00.100")),
            _activity_scheduled(at(d1, "09:00:01"), "download_file", "1"),
            _activity_started(at(d1, "09:00:01.200"), 5, 1),
            _activity_closed(at(d1, "09:00:02"), "ACTIVITY_TASK_FAILED", 5, 6,
                             failure_message="storage answered HTTP 503", failure_type="StorageError",
                             attributes={"retryState": "RETRY_STATE_NON_RETRYABLE_FAILURE"}),
            *_workflow_task(at(d1, "09:00:02.100")),
            _activity_scheduled(at(d1, "09:00:03"), "parse_pdf", "2"),
            _activity_started(at(d1, "09:00:42"), 11, 4),
            _activity_closed(at(d1, "09:00:50"), "ACTIVITY_TASK_FAILED", 11, 12,
                             failure_message=SCRIPT_MESSAGE, failure_type="ParseError",
                             attributes={"retryState": "RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED"}),
            *_workflow_task(at(d1, "09:00:50.100")),
            (at(d1, "09:01:00"), "WORKFLOW_EXECUTION_FAILED",
             {"failure_message": "activity parse_pdf failed", "failure_type": "ActivityError"}),
        ],
        "run-timed-out": [
            _started(at(d1, "10:00:00"), "support-agent"),
            *_workflow_task(at(d1, "10:00:00.100")),
            _activity_scheduled(at(d1, "10:00:01"), "call_llm", "1"),
            _activity_started(at(d1, "10:00:02"), 5, 1),
            _activity_closed(at(d1, "10:00:32"), "ACTIVITY_TASK_TIMED_OUT", 5, 6,
                             failure_message="activity StartToClose timeout",
                             failure_type="TIMEOUT_TYPE_START_TO_CLOSE"),
            (at(d1, "10:00:32.100"), "WORKFLOW_TASK_SCHEDULED", {}),
            (at(d1, "10:00:32.100"), "WORKFLOW_TASK_STARTED", {}),
            (at(d1, "10:00:32.200"), "WORKFLOW_TASK_FAILED",
             {"failure_message": "nondeterminism detected", "failure_type": "NonDeterministicError"}),
            *_workflow_task(at(d1, "10:00:40")),
            (at(d1, "10:05:00"), "WORKFLOW_EXECUTION_TIMED_OUT",
             {"attributes": {"retryState": "RETRY_STATE_TIMEOUT"}}),
        ],
        "run-canceled": [
            _started(at(d1, "23:50:00"), "support-agent"),
            *_workflow_task(at(d1, "23:50:00.100")),
            _activity_scheduled(at(d1, "23:50:01"), "run_tool", "1"),
            _activity_started(at(d1, "23:50:02"), 5, 1),
            (at(d1, "23:50:20"), "WORKFLOW_EXECUTION_CANCEL_REQUESTED", {}),
            *_workflow_task(at(d1, "23:50:20.100")),
            (at(d1, "23:50:20.200"), "ACTIVITY_TASK_CANCEL_REQUESTED", {"scheduled_event_id": 5}),
            # Names only its started event, so the view must link it through event 6.
            _activity_closed(at(d1, "23:50:25"), "ACTIVITY_TASK_CANCELED", None, 6),
            *_workflow_task(at(d1, "23:50:25.100")),
            (at(d1, "23:50:30"), "WORKFLOW_EXECUTION_CANCELED", {}),
        ],
        "run-terminated": [
            _started(at(d2, "07:00:00"), "document-summarizer"),
            *_workflow_task(at(d2, "07:00:00.100")),
            _activity_scheduled(at(d2, "07:00:05"), "send_email", "1"),
            (at(d2, "07:10:00"), "WORKFLOW_EXECUTION_TERMINATED",
             {"attributes": {"reason": "stopped by operator", "identity": "ops-cli"}}),
        ],
        "run-chat-1": [
            _started(at(d1, "12:00:00"), "chat-session"),
            *_workflow_task(at(d1, "12:00:00.100")),
            (at(d1, "12:30:00"), "WORKFLOW_EXECUTION_CONTINUED_AS_NEW", {"workflow_type": "chat-session"}),
        ],
        "run-chat-2": [
            _started(at(d1, "12:30:00"), "chat-session"),
            *_workflow_task(at(d1, "12:30:00.100")),
            (at(d1, "12:40:00"), "WORKFLOW_EXECUTION_COMPLETED", {}),
        ],
        "run-indexer": [
            _started(at(d2, "08:00:00"), "rag-indexer"),
            (at(d2, "08:00:00.100"), "WORKFLOW_TASK_SCHEDULED", {}),
            (at(d2, "08:00:00.100"), "WORKFLOW_TASK_STARTED", {}),
            (at(d2, "08:00:10"), "WORKFLOW_TASK_TIMED_OUT", {}),
            *_workflow_task(at(d2, "08:00:11")),
            (at(d2, "08:00:12"), "START_CHILD_WORKFLOW_EXECUTION_INITIATED", {"workflow_type": "embed-batch"}),
            (at(d2, "08:00:12"), "START_CHILD_WORKFLOW_EXECUTION_INITIATED", {"workflow_type": "embed-batch"}),
            (at(d2, "08:01:00"), "CHILD_WORKFLOW_EXECUTION_STARTED", {"workflow_type": "embed-batch"}),
            (at(d2, "08:01:00"), "CHILD_WORKFLOW_EXECUTION_STARTED", {"workflow_type": "embed-batch"}),
            *_workflow_task(at(d2, "08:01:00.100")),
            (at(d2, "08:03:00"), "CHILD_WORKFLOW_EXECUTION_COMPLETED", {"workflow_type": "embed-batch"}),
            (at(d2, "08:05:00"), "CHILD_WORKFLOW_EXECUTION_FAILED", {"workflow_type": "embed-batch"}),
            *_workflow_task(at(d2, "08:05:00.100")),
            (at(d2, "08:10:00"), "WORKFLOW_EXECUTION_FAILED",
             {"failure_message": "child workflow embed-batch failed", "failure_type": "ChildWorkflowFailure"}),
        ],
        "run-embed-ok": [
            _started(at(d2, "08:01:00"), "embed-batch"),
            *_workflow_task(at(d2, "08:01:00.100")),
            (at(d2, "08:01:01"), "START_CHILD_WORKFLOW_EXECUTION_INITIATED", {"workflow_type": "chunk-splitter"}),
            (at(d2, "08:01:30"), "CHILD_WORKFLOW_EXECUTION_STARTED", {"workflow_type": "chunk-splitter"}),
            (at(d2, "08:02:00"), "CHILD_WORKFLOW_EXECUTION_COMPLETED", {"workflow_type": "chunk-splitter"}),
            *_workflow_task(at(d2, "08:02:00.100")),
            (at(d2, "08:03:00"), "WORKFLOW_EXECUTION_COMPLETED", {}),
        ],
        "run-embed-failed": [
            _started(at(d2, "08:01:00"), "embed-batch"),
            *_workflow_task(at(d2, "08:01:00.100")),
            _activity_scheduled(at(d2, "08:01:01"), "embed_chunks", "1"),
            _activity_started(at(d2, "08:02:00"), 5, 2),
            _activity_closed(at(d2, "08:04:00"), "ACTIVITY_TASK_FAILED", 5, 6,
                             failure_message="rate limited by the embedding API", failure_type="RateLimitError"),
            *_workflow_task(at(d2, "08:04:00.100")),
            (at(d2, "08:05:00"), "WORKFLOW_EXECUTION_FAILED",
             {"failure_message": "activity embed_chunks failed", "failure_type": "ActivityError"}),
        ],
        "run-stuck": [
            _started(at(d2, "06:00:00"), "support-agent"),
            *_workflow_task(at(d2, "06:00:00.100")),
            (at(d2, "06:00:01"), "TIMER_STARTED", {}),
            (at(d2, "08:59:59"), "TIMER_FIRED", {}),
            *_workflow_task(at(d2, "08:59:59.500")),
            _activity_scheduled(at(d2, "09:00:00"), "call_llm", "1"),
        ],
        "run-missing-start": [
            _started(at(d2, "09:00:00"), "document-summarizer"),
            *_workflow_task(at(d2, "09:00:00.100")),
            _activity_scheduled(at(d2, "09:00:01"), "call_llm", "1"),
            None,
            _activity_closed(at(d2, "09:01:50"), "ACTIVITY_TASK_COMPLETED", 5, 6),
            *_workflow_task(at(d2, "09:01:50.100")),
            (at(d2, "09:02:00"), "WORKFLOW_EXECUTION_COMPLETED", {}),
        ],
        "run-retrying": [
            _started(at(d2, "11:30:00"), "support-agent"),
            *_workflow_task(at(d2, "11:30:00.100")),
            _activity_scheduled(at(d2, "11:40:00"), "run_tool", "1"),
            _activity_started(at(d2, "11:40:01"), 5, 1),
        ],
    }


def scenario_events() -> list[dict]:
    """Return the `run_events` rows of every scenario history."""
    rows = []
    for run_id, history in scenario_histories().items():
        for event_id, event in enumerate(history, start=1):
            if event is not None:
                rows.append(_event_row(run_id, event_id, *event))
    return rows


def _event_row(run_id: str, event_id: int, event_time: datetime, event_type: str, fields: dict) -> dict:
    """Build one `run_events` row. `attributes` repeats the pulled-out columns in Temporal's camelCase."""
    row = {name: None for name, _, _ in EVENT_COLUMNS}
    row.update(run_id=run_id, event_id=event_id, event_time=event_time, event_type=event_type, is_truncated=False)
    row["task_id"] = 1_000 + event_id
    attributes = dict(fields.get("attributes", {}))

    for column in ("activity_id", "activity_type", "scheduled_event_id", "started_event_id", "attempt",
                   "failure_message", "failure_type", "workflow_type"):
        if fields.get(column) is not None:
            row[column] = fields[column]
    if row["scheduled_event_id"] is not None:
        attributes["scheduledEventId"] = str(row["scheduled_event_id"])
    if row["started_event_id"] is not None:
        attributes["startedEventId"] = str(row["started_event_id"])
    if row["failure_message"] is not None:
        attributes["failure"] = {"message": row["failure_message"]}

    row["attributes"] = json.dumps(attributes)
    return row


def qualified_name(connection: duckdb.DuckDBPyConnection, dataset: str, name: str | None = None) -> str:
    """Return `catalog.dataset[.name]` quoted.

    The catalog part avoids DuckDB's ambiguity error when the database file is named like the dataset.
    """
    catalog = connection.execute("select current_database()").fetchall()[0][0]
    parts = [catalog, dataset] + ([name] if name else [])
    return ".".join(quote_identifier(part) for part in parts)


def create_loaded_tables(connection: duckdb.DuckDBPyConnection, dataset: str) -> None:
    """Create empty `runs` and `run_events` tables shaped as dlt creates them."""
    connection.execute(f"create schema if not exists {qualified_name(connection, dataset)}").fetchall()
    for table, columns in (("runs", RUN_COLUMNS), ("run_events", EVENT_COLUMNS)):
        definitions = [
            f"{name} {_DUCKDB_TYPES[data_type]}{'' if nullable else ' not null'}"
            for name, data_type, nullable in columns
        ]
        definitions += ["_dlt_load_id varchar not null", "_dlt_id varchar not null"]
        connection.execute(
            f"create table {qualified_name(connection, dataset, table)} ({', '.join(definitions)})"
        ).fetchall()


def insert_rows(connection: duckdb.DuckDBPyConnection, dataset: str, table: str, rows: list[dict]) -> None:
    """Insert rows given as dicts, filling dlt's bookkeeping columns."""
    if not rows:
        return
    columns = list(rows[0])
    placeholders = ", ".join("?" for _ in columns + ["_dlt_load_id", "_dlt_id"])
    statement = (
        f"insert into {qualified_name(connection, dataset, table)} ({', '.join(columns)}, _dlt_load_id, _dlt_id) "
        f"values ({placeholders})"
    )
    values = [[row[column] for column in columns] + ["1741600000.0", f"dlt-{index}"] for index, row in enumerate(rows)]
    connection.executemany(statement, values)


def insert_sync_log(connection: duckdb.DuckDBPyConnection, dataset: str) -> None:
    """Record two syncs, the latest one starting at SYNC_STARTED_AT."""
    statement = f"insert into {qualified_name(connection, dataset, 'sync_log')} values (?, ?, ?, ?, ?, ?)"
    connection.executemany(
        statement,
        [
            [SYNC_STARTED_AT - timedelta(hours=1), SYNC_STARTED_AT - timedelta(minutes=59), 3, 40, 8, 55.0],
            [SYNC_STARTED_AT, SYNC_STARTED_AT + timedelta(minutes=2), 15, 140, 33, 120.5],
        ],
    )


def load_scenario(connection: duckdb.DuckDBPyConnection, dataset: str = SCENARIO_DATASET) -> list[str]:
    """Create and fill the scenario tables, create the views and return their names."""
    create_loaded_tables(connection, dataset)
    insert_rows(connection, dataset, "runs", scenario_runs())
    insert_rows(connection, dataset, "run_events", scenario_events())
    names = create_views(connection, dataset)
    insert_sync_log(connection, dataset)
    return names


def build_scenario_database(path: Path, dataset: str = SCENARIO_DATASET) -> Path:
    """Write the scenario with its views to a new DuckDB file and return its path."""
    connection = duckdb.connect(str(path))
    try:
        load_scenario(connection, dataset)
    finally:
        connection.close()
    return path
