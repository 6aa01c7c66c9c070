"""Read what the HTML report shows from the analytics views.

Every query here selects, filters, sorts or sums columns of one view. Definitions such
as the success rate or the stuck threshold stay in `sql/`, so the report and the
notebooks cannot disagree with the views.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from mistral_workflows.errors import DatabaseBusy, InvalidOption
from mistral_workflows.views import quote_identifier, view_names

logger = logging.getLogger(__name__)

# Status columns of workflow_daily_stats, in the order the stacked bars draw them.
STATUS_COLUMNS = [
    "count_completed",
    "count_failed",
    "count_timed_out",
    "count_terminated",
    "count_canceled",
    "count_continued_as_new",
    "count_running",
]
MAX_FAILING_ACTIVITIES = 15
MAX_OPEN_RUNS = 200


class ReportError(InvalidOption):
    """Raised when the database file, the dataset or its views are missing.

    A subclass of InvalidOption, so the CLI reports it as one line with the usage exit code.
    """


@dataclass
class ReportData:
    """Everything the report renders, each frame read from one view."""

    dataset: str
    as_of: datetime | None
    stuck_after_s: float
    runs_per_day: pd.DataFrame
    workflow_stats: pd.DataFrame
    duration_trend: pd.DataFrame
    failing_activities: pd.DataFrame
    open_runs: pd.DataFrame
    open_run_count: int
    stuck_run_count: int
    failed_run_count: int


def open_dataset(duckdb_path: Path, dataset: str) -> duckdb.DuckDBPyConnection:
    """Open the database read-only with the dataset as default schema; check that the views exist."""
    if not duckdb_path.is_file():
        raise ReportError(f"database file not found: {duckdb_path}")

    try:
        connection = duckdb.connect(str(duckdb_path), read_only=True)
    except duckdb.IOException as error:
        reason = str(error).splitlines()[0]
        if "lock" in reason.lower():
            raise DatabaseBusy(
                f"cannot read {duckdb_path}: another process has it open for writing ({reason}). "
                "Retry once the sync has finished."
            ) from error
        raise ReportError(f"cannot open {duckdb_path} read-only: {reason}") from error
    catalog = connection.execute("select current_database()").fetchall()[0][0]
    present = connection.execute(
        "select view_name from duckdb_views() where database_name = ? and schema_name = ?",
        [catalog, dataset],
    ).fetchall()
    present_names = {row[0] for row in present}
    if "runs_enriched" not in present_names:
        connection.close()
        raise ReportError(
            f"dataset {dataset!r} in {duckdb_path} has no analytics views: "
            "run a sync first, or pass the dataset name the sync used"
        )
    missing = [name for name in view_names() if name not in present_names]
    if missing:
        connection.close()
        raise ReportError(
            f"dataset {dataset!r} in {duckdb_path} is missing the views {', '.join(missing)}: "
            "run a sync to create them again"
        )

    connection.execute(f"use {quote_identifier(catalog)}.{quote_identifier(dataset)}").fetchall()
    return connection


def read_report_data(connection: duckdb.DuckDBPyConnection, dataset: str) -> ReportData:
    """Query every view the report needs."""
    as_of = connection.execute("select as_of from latest_sync").fetchall()[0][0]
    stuck_after_s = connection.execute("select stuck_after_s from analytics_settings").fetchall()[0][0]
    open_counts = connection.execute(
        "select count(*), count(*) filter (where is_stuck) from open_runs"
    ).fetchall()[0]
    failed_run_count = connection.execute("select count(*) from run_failures").fetchall()[0][0]

    data = ReportData(
        dataset=dataset,
        as_of=as_of,
        stuck_after_s=float(stuck_after_s),
        runs_per_day=_runs_per_day(connection),
        workflow_stats=_frame(connection, "select * from workflow_stats order by runs desc, workflow_name"),
        duration_trend=_frame(
            connection,
            """
            select workflow_name, start_day, p95_duration_s
            from workflow_daily_stats
            where p95_duration_s is not null
            order by workflow_name, start_day
            """,
        ),
        failing_activities=_frame(
            connection,
            f"""
            select *
            from activity_stats
            where failures > 0
            order by failures desc, failure_rate desc, workflow_name, activity_type
            limit {MAX_FAILING_ACTIVITIES}
            """,
        ),
        open_runs=_frame(
            connection,
            f"""
            select *
            from open_runs
            order by is_stuck desc nulls last, since_last_event_s desc nulls last, start_time, run_id
            limit {MAX_OPEN_RUNS}
            """,
        ),
        open_run_count=open_counts[0],
        stuck_run_count=open_counts[1],
        failed_run_count=failed_run_count,
    )
    logger.info(
        "read report data of dataset %s: %d workflows, %d open runs",
        dataset,
        len(data.workflow_stats),
        data.open_run_count,
    )
    return data


def _runs_per_day(connection: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Sum the status counts of workflow_daily_stats over workflows, one row per UTC day."""
    sums = ",\n".join(f"cast(sum({column}) as bigint) as {column}" for column in STATUS_COLUMNS)
    return _frame(
        connection,
        f"""
        select start_day, cast(sum(runs) as bigint) as runs, {sums}
        from workflow_daily_stats
        where start_day is not null
        group by start_day
        order by start_day
        """,
    )


def _frame(connection: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    return connection.execute(sql).df()
