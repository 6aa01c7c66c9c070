"""Baseline contender: dlt's declarative `rest_api` source, set up as its documentation suggests.

This is what a dlt user would write instead of our package: a `runs` list resource
paginated by `next_page_token`, and two child resources resolved from each listed
run, one for the detail and one for the history. Everything else is left at dlt's
defaults: nested JSON is flattened into columns and child tables, resources run
one request at a time, and the tables are appended to.

Run by bench.py in its own process so that its CPU time and peak memory are its alone:

    MISTRAL_API_KEY=... python benchmarks/contender_rest_api.py --base-url URL --duckdb FILE
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

import dlt  # noqa: E402
from dlt.sources.rest_api import rest_api_source  # noqa: E402

logger = logging.getLogger(__name__)

PIPELINE_NAME = "workflows_rest_api"
DATASET_NAME = "workflows_api"
# The same page size as our sync's default, so both list the runs in as many requests.
PAGE_SIZE = 500


def build_config(base_url: str, api_key: str) -> dict:
    """Return the rest_api configuration: runs, and per run its detail and its history."""
    return {
        "client": {
            "base_url": base_url.rstrip("/") + "/",
            "auth": {"type": "bearer", "token": api_key},
        },
        "resources": [
            {
                "name": "runs",
                "endpoint": {
                    "path": "v1/workflows/runs",
                    "params": {"page_size": PAGE_SIZE},
                    "data_selector": "executions",
                    "paginator": {
                        "type": "cursor",
                        "cursor_path": "next_page_token",
                        "cursor_param": "next_page_token",
                    },
                },
            },
            {
                "name": "run_details",
                "endpoint": {
                    "path": "v1/workflows/runs/{resources.runs.run_id}",
                    "paginator": "single_page",
                },
            },
            {
                "name": "run_history",
                "endpoint": {
                    "path": "v1/workflows/runs/{resources.runs.run_id}/history",
                    "params": {"decode_payloads": "true"},
                    "data_selector": "events",
                    "paginator": "single_page",
                },
                "include_from_parent": ["run_id"],
            },
        ],
    }


def run(base_url: str, api_key: str, duckdb_path: Path) -> None:
    """Extract, normalise and load every run with the rest_api source into `duckdb_path`."""
    pipeline = dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        pipelines_dir=str(duckdb_path.parent / f".{duckdb_path.name}.dlt"),
        destination=dlt.destinations.duckdb(str(duckdb_path)),
        dataset_name=DATASET_NAME,
    )

    load_info = pipeline.run(rest_api_source(build_config(base_url, api_key)))
    logger.info("rest_api load finished: %s", load_info)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="API base URL, here the emulator's.")
    parser.add_argument("--duckdb", type=Path, required=True, help="DuckDB file to create.")
    arguments = parser.parse_args()

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    api_key = os.environ.get("MISTRAL_API_KEY")
    if not api_key:
        parser.error("MISTRAL_API_KEY is not set")
    run(arguments.base_url, api_key, arguments.duckdb.resolve())


if __name__ == "__main__":
    main()
