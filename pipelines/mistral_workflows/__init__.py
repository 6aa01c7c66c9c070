"""Sync Mistral Workflows runs and their Temporal event histories into DuckDB with dlt.

Modules: `source` (the dlt source), `client` (HTTP), `history` (the history
normaliser), `change_capture` and `fetch` (what each sync fetches), `sync` (one
sync end to end), `emulator` (a local API for the demo and tests), `cli`.

This file imports nothing heavy: the CLI must take its lock before dlt loads.
"""

from __future__ import annotations


def __getattr__(name: str):
    if name == "mistral_workflows":
        from .source import mistral_workflows

        return mistral_workflows
    raise AttributeError(f"module 'mistral_workflows' has no attribute {name!r}")
