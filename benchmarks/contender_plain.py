"""Baseline contender: the sequential script a user would write by hand with httpx, pandas and DuckDB.

It lists every page, then fetches each run's detail and history one request at a
time, flattens the history events into one row each with a plain loop, and writes
two tables, `runs` and `run_events`, into a fresh DuckDB file. It keeps no state,
so every run is a full reload.

Run by bench.py in its own process so that its CPU time and peak memory are its alone:

    MISTRAL_API_KEY=... python benchmarks/contender_plain.py --base-url URL --duckdb FILE
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import pandas as pd

logger = logging.getLogger(__name__)

PAGE_SIZE = 500
RUN_FIELDS = (
    "run_id",
    "execution_id",
    "workflow_name",
    "root_execution_id",
    "parent_execution_id",
    "status",
    "start_time",
    "end_time",
    "total_duration_ms",
)


def list_runs(client: httpx.Client) -> Iterator[dict]:
    """Yield every listed run, following `next_page_token` until it is null."""
    params: dict = {"page_size": PAGE_SIZE}
    while True:
        response = client.get("/v1/workflows/runs", params=params)
        response.raise_for_status()
        page = response.json()

        yield from page["executions"]

        token = page.get("next_page_token")
        if not token:
            return
        params["next_page_token"] = token


def fetch_json(client: httpx.Client, path: str, params: dict | None = None) -> dict:
    response = client.get(path, params=params)
    response.raise_for_status()
    return response.json()


def run_row(detail: dict) -> dict:
    """Keep the list fields as columns and the `result` as JSON text."""
    row = {name: detail.get(name) for name in RUN_FIELDS}
    row["result"] = json.dumps(detail.get("result"))
    return row


def event_rows(run_id: str, history: dict) -> list[dict]:
    """Flatten one history: one row per event, the event's attributes object kept as JSON text."""
    rows = []
    for event in history["events"]:
        attributes = next((value for key, value in event.items() if key.endswith("EventAttributes")), None)
        rows.append({
            "run_id": run_id,
            "event_id": int(event["eventId"]),
            "event_time": event.get("eventTime"),
            "event_type": event.get("eventType"),
            "attributes": json.dumps(attributes),
        })
    return rows


def write_tables(duckdb_path: Path, runs: list[dict], events: list[dict]) -> None:
    """Replace the `runs` and `run_events` tables with the given rows."""
    runs_frame = pd.DataFrame(runs)
    events_frame = pd.DataFrame(events, columns=["run_id", "event_id", "event_time", "event_type", "attributes"])
    for column in ("start_time", "end_time"):
        runs_frame[column] = pd.to_datetime(runs_frame[column], utc=True, format="ISO8601")
    events_frame["event_time"] = pd.to_datetime(events_frame["event_time"], utc=True, format="ISO8601")

    connection = duckdb.connect(str(duckdb_path))
    try:
        connection.execute("create or replace table runs as select * from runs_frame")
        connection.execute("create or replace table run_events as select * from events_frame")
    finally:
        connection.close()


def run(base_url: str, api_key: str, duckdb_path: Path) -> None:
    """Fetch every run with its detail and history, one request at a time, and write both tables."""
    runs: list[dict] = []
    events: list[dict] = []
    headers = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30.0) as client:
        listed = list(list_runs(client))
        logger.info("Listed %d runs", len(listed))
        for item in listed:
            run_id = item.get("run_id") or item["execution_id"]
            detail = fetch_json(client, f"/v1/workflows/runs/{run_id}")
            history = fetch_json(client, f"/v1/workflows/runs/{run_id}/history", {"decode_payloads": "true"})
            runs.append(run_row({**detail, "run_id": run_id}))
            events.extend(event_rows(run_id, history))

    write_tables(duckdb_path, runs, events)
    logger.info("Wrote %d runs and %d events to %s", len(runs), len(events), duckdb_path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="API base URL, here the emulator's.")
    parser.add_argument("--duckdb", type=Path, required=True, help="DuckDB file to create.")
    arguments = parser.parse_args()

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # httpx logs every request at INFO, which would add a log line per request to the measured CPU time.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    api_key = os.environ.get("MISTRAL_API_KEY")
    if not api_key:
        parser.error("MISTRAL_API_KEY is not set")
    run(arguments.base_url, api_key, arguments.duckdb.resolve())


if __name__ == "__main__":
    main()
