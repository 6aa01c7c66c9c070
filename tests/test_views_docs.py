"""Every view is documented column by column in sql/README.md and opens with a header comment."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from analytics_fixtures import create_loaded_tables
from mistral_workflows import views

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"
README = SQL_DIR / "README.md"


def documented_columns() -> dict[str, list[str]]:
    """Parse the README: each `## \\`view\\`` section and the first-cell names of its table rows."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in README.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^## `([a-z_0-9]+)`\s*$", line)
        if heading:
            current = heading.group(1)
            sections[current] = []
            continue
        row = re.match(r"^\| `([a-z_0-9]+)` \|", line)
        if row and current is not None:
            sections[current].append(row.group(1))
    return sections


@pytest.fixture(scope="module")
def view_columns() -> dict[str, list[str]]:
    connection = duckdb.connect()
    create_loaded_tables(connection, "wf_docs")
    names = views.create_views(connection, "wf_docs")
    columns = {}
    for name in names:
        rows = connection.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'wf_docs' and table_name = ? order by ordinal_position",
            [name],
        ).fetchall()
        columns[name] = [row[0] for row in rows]
    connection.close()
    return columns


def test_every_view_has_readme_section(view_columns):
    assert sorted(documented_columns()) == sorted(view_columns)


@pytest.mark.parametrize("name", views.view_names())
def test_readme_lists_view_columns(name, view_columns):
    assert documented_columns()[name] == view_columns[name]


@pytest.mark.parametrize("path", sorted(SQL_DIR.glob("*.sql")), ids=lambda path: path.stem)
def test_view_file_opens_with_grain(path):
    first_line = path.read_text(encoding="utf-8").splitlines()[0]

    assert re.match(r"^-- One row\b", first_line), f"{path.name} must open with '-- One row ...'"


@pytest.mark.parametrize("path", sorted(SQL_DIR.glob("*.sql")), ids=lambda path: path.stem)
def test_view_file_is_one_select(path):
    code = re.sub(r"--[^\n]*", "", path.read_text(encoding="utf-8")).strip()

    assert re.match(r"^(with|select)\b", code), f"{path.name} must hold a single select statement"
    assert ";" not in code
    assert "create " not in code.lower()
