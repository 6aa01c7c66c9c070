"""Count what each contender loaded and check that all of them loaded the same rows.

Each contender names its tables and columns its own way, so each is described by
two queries: its run ids, and its (run_id, event_id) pairs. All files are attached
read-only to one in-memory DuckDB connection and compared with EXCEPT, which
checks the run ids and every run's event ids, hence its event count.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedTables:
    """The file and the two queries that read one contender's rows. `{db}` is replaced by the attached database."""

    contender: str
    path: Path
    runs_sql: str
    events_sql: str


def ours_tables(path: Path, dataset: str = "mistral_workflows") -> LoadedTables:
    return LoadedTables(
        "ours",
        path,
        f"select run_id from {{db}}.{dataset}.runs",
        f"select run_id, event_id from {{db}}.{dataset}.run_events",
    )


def rest_api_tables(path: Path, dataset: str = "workflows_api") -> LoadedTables:
    # The child resource gets the parent's run_id as `_runs_run_id`, and history ids arrive as strings.
    return LoadedTables(
        "rest_api",
        path,
        f"select run_id from {{db}}.{dataset}.runs",
        f"select _runs_run_id as run_id, cast(event_id as bigint) as event_id from {{db}}.{dataset}.run_history",
    )


def plain_tables(path: Path) -> LoadedTables:
    return LoadedTables(
        "plain script",
        path,
        "select run_id from {db}.main.runs",
        "select run_id, event_id from {db}.main.run_events",
    )


@dataclass
class RowComparison:
    """Differences between one contender's rows and the reference's. All counts at zero mean equal."""

    contender: str
    runs: int
    events: int
    runs_missing: int
    runs_extra: int
    events_missing: int
    events_extra: int
    duplicate_events: int

    @property
    def is_equal(self) -> bool:
        return not (self.runs_missing or self.runs_extra or self.events_missing or self.events_extra
                    or self.duplicate_events)


@dataclass
class RowCheck:
    """The comparison of every contender with the reference (the first one)."""

    reference: str
    comparisons: list[RowComparison] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(comparison.is_equal for comparison in self.comparisons)

    def describe(self) -> str:
        """Return one line per contender, saying what differs from the reference."""
        lines = []
        for item in self.comparisons:
            if item.contender == self.reference:
                duplicates = f"{item.duplicate_events} duplicate (run_id, event_id) rows"
                lines.append(f"{item.contender} (reference): {item.runs} runs, {item.events} events, {duplicates}")
                continue
            if item.is_equal:
                lines.append(f"{item.contender}: equal to {self.reference} ({item.runs} runs, {item.events} events)")
                continue
            lines.append(
                f"{item.contender}: DIFFERS from {self.reference}: {item.runs_missing} runs missing, "
                f"{item.runs_extra} runs extra, {item.events_missing} events missing, {item.events_extra} events "
                f"extra, {item.duplicate_events} duplicate (run_id, event_id) rows"
            )
        return "\n".join(lines)


def count_events(tables: LoadedTables) -> int:
    """Return the number of event rows a contender's file holds."""
    with _attached([tables]) as connection:
        return _scalar(connection, f"select count(*) from ({_sql(tables.events_sql, 0)})")


def compare_rows(reference: LoadedTables, others: list[LoadedTables]) -> RowCheck:
    """Compare the run ids and (run_id, event_id) pairs of each of `others` with `reference`'s."""
    check = RowCheck(reference.contender)
    with _attached([reference, *others]) as connection:
        # The reference is compared with itself too, which catches duplicates it may hold.
        for position, tables in enumerate([reference, *others]):
            check.comparisons.append(_compare(connection, 0, position, tables.contender, reference, tables))

    logger.info("Row check:\n%s", check.describe())
    return check


def _compare(connection: duckdb.DuckDBPyConnection, reference_position: int, position: int, contender: str,
             reference: LoadedTables, tables: LoadedTables) -> RowComparison:
    reference_runs = _sql(reference.runs_sql, reference_position)
    reference_events = _sql(reference.events_sql, reference_position)
    runs = _sql(tables.runs_sql, position)
    events = _sql(tables.events_sql, position)

    return RowComparison(
        contender=contender,
        runs=_scalar(connection, f"select count(distinct run_id) from ({runs})"),
        events=_scalar(connection, f"select count(*) from ({events})"),
        runs_missing=_scalar(connection, f"select count(*) from ({reference_runs} except {runs})"),
        runs_extra=_scalar(connection, f"select count(*) from ({runs} except {reference_runs})"),
        events_missing=_scalar(connection, f"select count(*) from ({reference_events} except {events})"),
        events_extra=_scalar(connection, f"select count(*) from ({events} except {reference_events})"),
        duplicate_events=_scalar(
            connection, f"select count(*) - count(distinct (run_id, event_id)) from ({events})"
        ),
    )


def _sql(template: str, position: int) -> str:
    return template.format(db=f"contender_{position}")


def _scalar(connection: duckdb.DuckDBPyConnection, sql: str) -> int:
    # Read each result to the end before the next execute on the same connection.
    return int(connection.execute(sql).fetchall()[0][0])


class _attached:
    """An in-memory connection with each contender's file attached read-only as `contender_<n>`."""

    def __init__(self, tables: list[LoadedTables]) -> None:
        self.tables = tables
        self.connection: duckdb.DuckDBPyConnection | None = None

    def __enter__(self) -> duckdb.DuckDBPyConnection:
        self.connection = duckdb.connect(":memory:")
        for position, tables in enumerate(self.tables):
            quoted_path = str(tables.path).replace("'", "''")
            self.connection.execute(f"attach '{quoted_path}' as contender_{position} (read_only)").fetchall()
        return self.connection

    def __exit__(self, *exc_info) -> None:
        self.connection.close()
