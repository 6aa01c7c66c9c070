"""The official mistralai client reads the emulator without validation errors."""

from __future__ import annotations

import pytest

from conftest import API_KEY

mistralai = pytest.importorskip("mistralai", reason="the dev extra installs the official client")


def _client(emu):
    from mistralai.client import Mistral

    return Mistral(api_key=API_KEY, server_url=emu.url)


def test_official_client_pages_all_runs(emulator):
    client = _client(emulator)

    response = client.workflows.runs.list_runs(page_size=7)
    listed = []
    while response is not None:
        listed.extend(response.result.executions)
        response = response.next()

    assert len(listed) == len(emulator.run_ids())
    assert len({run.run_id for run in listed}) == len(listed)


def test_official_client_parses_run_and_history(emulator):
    client = _client(emulator)
    run_id = emulator.run_ids()[0]

    run = client.workflows.runs.get_run(run_id=run_id)
    history = client.workflows.runs.get_run_history(run_id=run_id)

    assert run.execution_id
    assert run.start_time is not None
    assert isinstance(history, dict)
    assert history["events"][0]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"
