# Quick start: `make demo` sets up .venv and runs a sync against the bundled
# emulator; `make test` runs the test suite. Nothing here reaches the network
# except pip, which installs from the package index.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR := demo

export RUNTIME__DLTHUB_TELEMETRY := false

.PHONY: install demo test bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: install
	$(BIN)/mistral-runs demo --duckdb $(DEMO_DIR)/mistral_runs.duckdb --report $(DEMO_DIR)/report.html

test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache
