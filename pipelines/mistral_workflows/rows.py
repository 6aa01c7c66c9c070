"""Turn a run's detail into a `runs` row, and batches of rows into Arrow tables."""

from __future__ import annotations

import operator
from datetime import datetime

import orjson
import pyarrow as pa

from .history import parse_api_time, strip_payloads
from .history_fields import INT64_MAX, INT64_MIN
from .schema import EVENT_SCHEMA, RUN_SCHEMA


class InvalidRunError(ValueError):
    """A run's detail lacks a field the table needs, or contains one that cannot be read."""


def run_row(detail: dict, key: str, synced_at: datetime, *, drop_payloads: bool) -> dict:
    """Build the `runs` row of one run from its detail; unknown fields are not stored.

    `status` is kept verbatim, unknown values and null included. `result` and
    `search_keys` are stored as JSON text whatever their JSON type.
    """
    try:
        start_time = parse_api_time(detail.get("start_time"))
        end_time = parse_api_time(detail.get("end_time"))
    except ValueError as error:
        raise InvalidRunError(f"run {key}: {error}") from None

    result = detail.get("result")
    if drop_payloads:
        result = None
    return {
        "run_id": key,
        "execution_id": _text(detail.get("execution_id")) or key,
        "workflow_name": _text(detail.get("workflow_name")),
        "workflow_id": _text(detail.get("workflow_id")),
        "root_execution_id": _text(detail.get("root_execution_id")),
        "parent_execution_id": _text(detail.get("parent_execution_id")),
        "status": _text(detail.get("status")),
        "start_time": start_time,
        "end_time": end_time,
        "total_duration_ms": _duration_ms(detail.get("total_duration_ms"), key),
        "deployment_name": _text(detail.get("deployment_name")),
        "user_id": _text(detail.get("user_id")),
        "result": _json_text(result),
        "search_keys": _json_text(strip_payloads(detail.get("search_keys")) if drop_payloads else detail.get("search_keys")),
        "synced_at": synced_at,
    }


def runs_table(rows: list[dict]) -> pa.Table:
    return _table(rows, RUN_SCHEMA)


def events_table(rows: list[dict]) -> pa.Table:
    return _table(rows, EVENT_SCHEMA)


def _table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    # One pa.array per column: pa.Table.from_pylist allocates enough temporary objects to
    # trigger Python's garbage collector over every live row, which measured nine
    # times slower on a 10,000-event batch. itemgetter and zip transpose the rows in C,
    # which measured two to five times faster than one list comprehension per column.
    if not rows:
        return schema.empty_table()

    names = [field.name for field in schema]
    columns = zip(*map(operator.itemgetter(*names), rows))
    arrays = [pa.array(values, type=field.type) for values, field in zip(columns, schema)]
    return pa.Table.from_arrays(arrays, schema=schema)


def _text(value) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _json_text(value) -> str | None:
    if value is None:
        return None
    return orjson.dumps(value).decode()


def _duration_ms(value, key: str) -> int | None:
    if value is None:
        return None
    try:
        duration_ms = int(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidRunError(f"run {key}: total_duration_ms {value!r} is not an integer") from None

    if not INT64_MIN <= duration_ms <= INT64_MAX:
        raise InvalidRunError(f"run {key}: total_duration_ms {value!r} does not fit a bigint column")
    return duration_ms
