"""Create the analytics views of `sql/` inside the dataset schema the sync loads into.

Each `sql/<view>.sql` file contains one select statement. `create_views` wraps it in
`create or replace view <catalog>.<dataset>.<view>`, in dependency order, after every
sync. The SQL names its inputs (`runs`, `run_events`, `sync_log`, other views)
without a schema. DuckDB (checked with 2.0.1) binds an unqualified name inside a view
to the view's own catalog and schema first. The same files therefore work for any
dataset name, also when the database is later attached under another catalog name.
"""

from __future__ import annotations

import logging
import re
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import duckdb

logger = logging.getLogger(__name__)

LOADED_TABLES = ("runs", "run_events")

# Columns of the table the sync appends one row to after each load. The views read it,
# so it is created empty when a database has not been synced by a version that writes it.
SYNC_LOG_COLUMNS: list[tuple[str, str]] = [
    ("started_at", "timestamp with time zone"),
    ("finished_at", "timestamp with time zone"),
    ("runs_written", "bigint"),
    ("events_written", "bigint"),
    ("requests", "bigint"),
    ("duration_s", "double"),
]

_SQL_COMMENT = re.compile(r"--[^\n]*")
_STRING_LITERAL = re.compile(r"'(?:[^']|'')*'")


class ViewDefinitionError(RuntimeError):
    """Raised when the files in `sql/` cannot be ordered or a view fails to compile."""


def sql_dir() -> Path:
    """Return the folder of view files: inside the package when installed from a wheel,
    else the repository's `sql/` folder (editable install)."""
    packaged = Path(__file__).parent / "sql"
    if packaged.is_dir():
        return packaged
    return Path(__file__).parents[2] / "sql"


def quote_identifier(name: str) -> str:
    """Quote a catalog, schema or view name for DuckDB, doubling any embedded quote."""
    return '"' + name.replace('"', '""') + '"'


def read_view_sql(name: str) -> str:
    """Return the select statement of one view, header comment included."""
    return (sql_dir() / f"{name}.sql").read_text(encoding="utf-8")


def view_names() -> list[str]:
    """Return the name of every view in `sql/`, each listed after the views it reads."""
    names = sorted(path.stem for path in sql_dir().glob("*.sql"))
    dependencies = {name: _referenced_views(read_view_sql(name), names) for name in names}

    try:
        return list(TopologicalSorter(dependencies).static_order())
    except CycleError as error:
        raise ViewDefinitionError(f"views in {sql_dir()} read each other in a cycle: {error.args[1]}") from error


def _referenced_views(sql: str, names: list[str]) -> set[str]:
    """Return the other views whose name appears as a word in the SQL, outside comments and strings."""
    code = _STRING_LITERAL.sub("''", _SQL_COMMENT.sub("", sql))
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", code))
    return {name for name in names if name in words}


def create_views(connection: duckdb.DuckDBPyConnection, dataset: str) -> list[str]:
    """Create or replace every view of `sql/` in the dataset schema and return their names.

    Creates an empty `sync_log` first when the dataset has none. When `runs` or
    `run_events` is missing (a dataset that received no load yet), logs a warning,
    creates nothing and returns an empty list.
    """
    catalog = current_catalog(connection)
    missing_tables = _missing_tables(connection, catalog, dataset, LOADED_TABLES)
    if missing_tables:
        logger.warning(
            "skipped creating the analytics views: dataset %s in %s has no table %s yet",
            dataset,
            catalog,
            ", ".join(missing_tables),
        )
        return []

    ensure_sync_log(connection, catalog, dataset)

    names = view_names()
    schema = f"{quote_identifier(catalog)}.{quote_identifier(dataset)}"
    for name in names:
        _create_view(connection, schema, name)

    logger.info("created %d analytics views in dataset %s", len(names), dataset)
    return names


def _create_view(connection: duckdb.DuckDBPyConnection, schema: str, name: str) -> None:
    """Create or replace one view. A compile error names the view and its file."""
    statement = f"create or replace view {schema}.{quote_identifier(name)} as\n{read_view_sql(name)}"
    try:
        connection.execute(statement).fetchall()
    except duckdb.Error as error:
        raise ViewDefinitionError(f"view {name} ({sql_dir() / (name + '.sql')}) failed to compile: {error}") from error


def current_catalog(connection: duckdb.DuckDBPyConnection) -> str:
    """Return the connection's default catalog, the database file the dataset lives in.

    Views are created with a catalog-qualified name because `<dataset>.<view>` is
    ambiguous in DuckDB when the file is named like the dataset.
    """
    return connection.execute("select current_database()").fetchall()[0][0]


def _missing_tables(
    connection: duckdb.DuckDBPyConnection, catalog: str, dataset: str, tables: tuple[str, ...]
) -> list[str]:
    """Return the tables of `tables` that the dataset schema does not contain."""
    rows = connection.execute(
        """
        select table_name
        from information_schema.tables
        where table_catalog = ? and table_schema = ?
        """,
        [catalog, dataset],
    ).fetchall()
    present = {row[0] for row in rows}
    return [table for table in tables if table not in present]


def ensure_sync_log(connection: duckdb.DuckDBPyConnection, catalog: str, dataset: str) -> None:
    """Create an empty `sync_log` in the dataset unless it exists, so that the views compile."""
    if not _missing_tables(connection, catalog, dataset, ("sync_log",)):
        return

    columns = ",\n    ".join(f"{quote_identifier(name)} {data_type}" for name, data_type in SYNC_LOG_COLUMNS)
    table = f"{quote_identifier(catalog)}.{quote_identifier(dataset)}.sync_log"
    connection.execute(f"create table if not exists {table} (\n    {columns}\n)").fetchall()
    logger.debug("created the sync_log table in dataset %s", dataset)
