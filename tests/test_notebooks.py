"""The notebooks: committed without outputs, one parameter cell, and they run top to bottom."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from analytics_fixtures import SCENARIO_DATASET, build_scenario_database

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = ["explore_runs.ipynb", "failures_and_latency.ipynb"]
CELL_TIMEOUT_S = 120


def read_notebook(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOK_DIR / name, as_version=4)


def code_cells(notebook: nbformat.NotebookNode) -> list:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


@pytest.fixture(scope="module")
def scenario_path(tmp_path_factory) -> Path:
    return build_scenario_database(tmp_path_factory.mktemp("notebooks") / "scenario.duckdb")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_committed_without_outputs(name):
    notebook = read_notebook(name)

    nbformat.validate(notebook)
    for cell in code_cells(notebook):
        assert cell.outputs == [], cell.source[:60]
        assert cell.execution_count is None, cell.source[:60]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_parameter_cell(name):
    cells = code_cells(read_notebook(name))

    tagged = [cell for cell in cells if "parameters" in cell.metadata.get("tags", [])]
    assert tagged == [cells[0]]
    assert cells[0].source == 'DUCKDB_PATH = "../demo/mistral_runs.duckdb"\nDATASET = "mistral_workflows"'


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_reads_environment_overrides(name):
    setup = code_cells(read_notebook(name))[1].source

    assert 'os.environ.get("MISTRAL_RUNS_DUCKDB", DUCKDB_PATH)' in setup
    assert 'os.environ.get("MISTRAL_RUNS_DATASET", DATASET)' in setup
    assert "read_only=True" in setup


@pytest.fixture(scope="module")
def executed_notebooks(scenario_path) -> dict[str, nbformat.NotebookNode]:
    """Run each notebook once against the scenario database, as a user would with the environment overrides."""
    executed = {}
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("MISTRAL_RUNS_DUCKDB", str(scenario_path))
        monkeypatch.setenv("MISTRAL_RUNS_DATASET", SCENARIO_DATASET)
        for name in NOTEBOOKS:
            notebook = read_notebook(name)
            client = NotebookClient(
                notebook,
                timeout=CELL_TIMEOUT_S,
                kernel_name="python3",
                resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
            )
            client.execute()
            executed[name] = notebook
    return executed


def output_text(cell) -> str:
    return "\n".join(output.get("data", {}).get("text/plain", "") + output.get("text", "") for output in cell.outputs)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_on_scenario(name, executed_notebooks):
    cells = code_cells(executed_notebooks[name])

    outputs = [output for cell in cells for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    figures = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(figures) >= 3
    assert "2025-03-11 12:00:00" in output_text(cells[1])  # as_of of the scenario's latest sync


def test_explore_runs_counts_scenario_runs(executed_notebooks):
    volume = output_text(code_cells(executed_notebooks["explore_runs.ipynb"])[2])

    assert re.search(r"^0\s+16\s+6\s+3\s+142\b", volume.splitlines()[1]), volume


def test_failures_notebook_lists_stuck_run(executed_notebooks):
    stuck = output_text(code_cells(executed_notebooks["failures_and_latency.ipynb"])[-1])

    assert "1 open runs without an event for more than 3600 s" in stuck
    assert "run-stuck" in stuck
