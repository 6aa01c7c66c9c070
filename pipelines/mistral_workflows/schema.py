"""Declared columns of the two tables the source loads.

Both tables are declared rather than inferred, for two reasons: the API is in beta
and adds fields, and a JSON value whose type changes between runs would otherwise
make dlt add a `__v_text` variant column. Each table is declared twice, once as dlt
column hints and once as the Arrow schema the batches are built with, and both come
from the single list below so they cannot drift apart.
"""

from __future__ import annotations

import pyarrow as pa

# Column name, dlt data type, nullable. The order is the column order in DuckDB.
RUN_COLUMNS: list[tuple[str, str, bool]] = [
    ("run_id", "text", False),
    ("execution_id", "text", False),
    ("workflow_name", "text", True),
    ("workflow_id", "text", True),
    ("root_execution_id", "text", True),
    ("parent_execution_id", "text", True),
    ("status", "text", True),
    ("start_time", "timestamp", True),
    ("end_time", "timestamp", True),
    ("total_duration_ms", "bigint", True),
    ("deployment_name", "text", True),
    ("user_id", "text", True),
    ("result", "json", True),
    ("search_keys", "json", True),
    ("synced_at", "timestamp", False),
]

EVENT_COLUMNS: list[tuple[str, str, bool]] = [
    ("run_id", "text", False),
    ("event_id", "bigint", False),
    ("event_time", "timestamp", True),
    ("event_type", "text", True),
    ("task_id", "bigint", True),
    ("activity_id", "text", True),
    ("activity_type", "text", True),
    ("scheduled_event_id", "bigint", True),
    ("started_event_id", "bigint", True),
    ("attempt", "bigint", True),
    ("failure_message", "text", True),
    ("failure_type", "text", True),
    ("workflow_type", "text", True),
    ("attributes", "json", True),
    ("is_truncated", "bool", False),
    ("payload_error", "text", True),
]

RUN_PRIMARY_KEY = "run_id"
EVENT_PRIMARY_KEY = ("run_id", "event_id")

_ARROW_TYPES = {
    "text": pa.string(),
    "json": pa.string(),
    "bigint": pa.int64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}


def dlt_columns(columns: list[tuple[str, str, bool]]) -> dict[str, dict]:
    """Build dlt column hints; timestamps carry microsecond precision and a time zone."""
    hints: dict[str, dict] = {}
    for name, data_type, nullable in columns:
        hint: dict = {"name": name, "data_type": data_type, "nullable": nullable}
        if data_type == "timestamp":
            hint["timezone"] = True
            hint["precision"] = 6
        hints[name] = hint
    return hints


def arrow_schema(columns: list[tuple[str, str, bool]]) -> pa.Schema:
    """Build the Arrow schema matching the dlt hints of the same column list."""
    return pa.schema(
        [pa.field(name, _ARROW_TYPES[data_type], nullable=nullable) for name, data_type, nullable in columns]
    )


RUN_SCHEMA = arrow_schema(RUN_COLUMNS)
EVENT_SCHEMA = arrow_schema(EVENT_COLUMNS)
RUN_COLUMN_NAMES = [name for name, _, _ in RUN_COLUMNS]
EVENT_COLUMN_NAMES = [name for name, _, _ in EVENT_COLUMNS]
