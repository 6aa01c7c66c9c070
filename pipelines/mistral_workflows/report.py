"""Write the HTML report of a synced DuckDB database.

The report reads the analytics views only (see sql/README.md) and writes one HTML file
with inline CSS and PNG charts embedded as base64, so it can be mailed or archived and
opened offline. `write_report` also returns the key numbers it shows, for the CLI and
the tests.
"""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import pandas as pd

from mistral_workflows.report_charts import duration_trend_chart, runs_per_day_chart, success_rate_chart
from mistral_workflows.report_data import STATUS_COLUMNS, ReportData, ReportError, open_dataset, read_report_data
from mistral_workflows.report_html import render_page

logger = logging.getLogger(__name__)

SECTION_IDS = ["summary", "runs-per-day", "success-rate", "duration-trend", "failing-activities", "open-runs"]

__all__ = ["SECTION_IDS", "ReportError", "write_report"]


def write_report(duckdb_path: Path, out_path: Path, dataset: str = "mistral_workflows") -> dict:
    """Write the report of one dataset to `out_path` and return the key numbers it shows.

    The database is opened read-only. Raises ReportError when the file does not exist,
    is not a DuckDB database or the dataset has no analytics views, and DatabaseBusy
    while another process has the file open for writing.
    """
    connection = open_dataset(Path(duckdb_path), dataset)
    try:
        data = read_report_data(connection, dataset)
    except duckdb.CatalogException as error:
        # The views exist, but a table or view one of them reads was dropped.
        reason = str(error).splitlines()[0]
        raise ReportError(f"cannot read the views of dataset {dataset!r}: {reason}") from None
    finally:
        connection.close()

    numbers = key_numbers(data)
    charts = {
        "runs-per-day": runs_per_day_chart(data.runs_per_day),
        "success-rate": success_rate_chart(data.workflow_stats),
        "duration-trend": duration_trend_chart(data.duration_trend, list(data.workflow_stats["workflow_name"])),
    }
    page = render_page(data, numbers, charts)

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(page, encoding="utf-8")
    logger.info("wrote the report of dataset %s to %s (%d bytes)", dataset, out_path, len(page.encode("utf-8")))
    return numbers | {"path": str(out_path)}


def key_numbers(data: ReportData) -> dict:
    """Collect the figures the report shows, as plain Python values."""
    stats = data.workflow_stats
    return {
        "dataset": data.dataset,
        "as_of": data.as_of.isoformat() if data.as_of is not None else None,
        "runs": int(stats["runs"].sum()),
        "workflows": len(stats),
        "runs_by_status": {column.removeprefix("count_"): int(stats[column].sum()) for column in STATUS_COLUMNS},
        "failed_runs": int(data.failed_run_count),
        "open_runs": int(data.open_run_count),
        "stuck_runs": int(data.stuck_run_count),
        "stuck_after_s": data.stuck_after_s,
        "days": len(data.runs_per_day),
        "success_rate_by_workflow": _by_workflow(stats, "success_rate"),
        "p95_duration_s_by_workflow": _by_workflow(stats, "p95_duration_s"),
        "top_failing_activities": [
            {
                "workflow_name": record["workflow_name"],
                "activity_type": record["activity_type"],
                "failures": int(record["failures"]),
                "top_failure_message": _plain(record["top_failure_message"]),
            }
            for record in data.failing_activities.to_dict("records")
        ],
        "sections": list(SECTION_IDS),
    }


def _by_workflow(stats: pd.DataFrame, column: str) -> dict:
    return {record["workflow_name"]: _plain(record[column]) for record in stats.to_dict("records")}


def _plain(value: object) -> object:
    """Turn pandas' missing markers (NaN, NA, NaT) into None and numpy scalars into Python ones."""
    if value is None or pd.isna(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value
