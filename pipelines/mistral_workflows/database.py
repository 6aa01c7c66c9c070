"""Direct DuckDB access around dlt's load: the writability check and the sync_log table.

DuckDB lets one process write a file, and a process that has it open, even
read-only (a notebook), keeps every other process from writing. The sync checks
this before it extracts anything, waiting up to `--wait` seconds, so that a busy
file gives one clear line instead of a failure deep inside the load.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import duckdb

from .errors import DatabaseBusy
from .views import current_catalog, ensure_sync_log, quote_identifier

logger = logging.getLogger(__name__)

# DuckDB takes up to 80% of the machine's memory by default, so the merge of a large
# load would grow the sync far past what a cron job should use. Above this limit it
# spills to disk instead. Every connection the sync opens uses it.
MEMORY_LIMIT = "64MB"


def open_for_write(path: Path) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path), config={"memory_limit": MEMORY_LIMIT})
    except duckdb.IOException as error:
        raise DatabaseBusy(_busy_message(path, error)) from None


def wait_until_writable(path: Path, wait_s: float) -> None:
    """Return once the file can be opened for writing; raise DatabaseBusy after wait_s seconds."""
    if not path.exists():
        return
    deadline = time.monotonic() + max(0.0, wait_s)
    announced = False
    while True:
        try:
            duckdb.connect(str(path), config={"memory_limit": MEMORY_LIMIT}).close()
            return
        except duckdb.IOException as error:
            if time.monotonic() >= deadline:
                raise DatabaseBusy(_busy_message(path, error)) from None
            if not announced:
                logger.info("Database %s is in use by another process; waiting up to %.0f s", path, wait_s)
                announced = True
            time.sleep(0.5)


def write_sync_log(connection: duckdb.DuckDBPyConnection, dataset: str, summary) -> None:
    """Append one row describing the sync; the open_runs view measures ages from it."""
    catalog = current_catalog(connection)
    ensure_sync_log(connection, catalog, dataset)
    table = f"{quote_identifier(catalog)}.{quote_identifier(dataset)}.sync_log"
    connection.execute(
        f"insert into {table} values (?, now(), ?, ?, ?, ?)",
        [
            summary.started_at,
            summary.counts.runs_written,
            summary.counts.events,
            summary.total_requests,
            summary.duration_s,
        ],
    ).fetchall()


def _busy_message(path: Path, error: Exception) -> str:
    return (
        f"Cannot write {path}: another process has it open ({str(error).splitlines()[0]}). "
        "Close notebooks or other connections to it (readers should open it read-only and briefly), "
        "or pass --wait SECONDS"
    )
