"""Real Temporal histories, served by the emulator from a folder, sync exactly."""

from __future__ import annotations

import json
import re

from conftest import API_KEY, DATASET, query, shared_histories_or_skip, sync_options
from mistral_workflows.emulator import Emulator
from mistral_workflows.history import FINAL_STATUSES
from mistral_workflows.sync import run_sync

CLOSING_STATUS = {
    "WORKFLOW_EXECUTION_COMPLETED": "COMPLETED",
    "WORKFLOW_EXECUTION_FAILED": "FAILED",
    "WORKFLOW_EXECUTION_CANCELED": "CANCELED",
    "WORKFLOW_EXECUTION_TERMINATED": "TERMINATED",
    "WORKFLOW_EXECUTION_TIMED_OUT": "TIMED_OUT",
    "WORKFLOW_EXECUTION_CONTINUED_AS_NEW": "CONTINUED_AS_NEW",
}


def _event_count(path) -> int:
    body = json.loads(path.read_text())
    return len(body if isinstance(body, list) else body["events"])


def test_every_shared_history_syncs_exactly(tmp_path):
    folder = shared_histories_or_skip()
    files = sorted(folder.glob("*.json"))
    db_path = tmp_path / "real.duckdb"

    with Emulator(api_key=API_KEY, histories_dir=folder) as emu:
        summary = run_sync(sync_options(emu, db_path))

    assert summary.counts.new_runs == len(files)
    per_run = dict(query(db_path, f"select r.workflow_name || '|' || r.run_id, count(e.event_id) from {DATASET}.runs r left join {DATASET}.run_events e using (run_id) group by 1"))
    assert sorted(per_run.values()) == sorted(_event_count(path) for path in files)
    assert sum(per_run.values()) == sum(_event_count(path) for path in files)


def test_real_histories_have_canonical_types_and_statuses(tmp_path):
    folder = shared_histories_or_skip()
    db_path = tmp_path / "real.duckdb"
    with Emulator(api_key=API_KEY, histories_dir=folder) as emu:
        run_sync(sync_options(emu, db_path))

    types = [row[0] for row in query(db_path, f"select distinct event_type from {DATASET}.run_events")]
    assert types
    assert all(re.fullmatch(r"[A-Z]+(_[A-Z]+)*", name) and not name.startswith("EVENT_TYPE_") for name in types), types
    assert not [name for name in types if name.startswith("DECISION_TASK")]

    rows = query(
        db_path,
        f"""select r.run_id, r.status,
                   (select e.event_type from {DATASET}.run_events e where e.run_id = r.run_id order by e.event_id desc limit 1)
            from {DATASET}.runs r""",
    )
    for run_id, status, last_type in rows:
        expected = CLOSING_STATUS.get(last_type, "RUNNING")
        assert status == expected, (run_id, last_type)
    assert sum(1 for _, status, _ in rows if status == "RUNNING") == 2
    assert sum(1 for _, status, _ in rows if status in FINAL_STATUSES) == len(rows) - 2


def test_event_ids_are_consecutive_in_each_run(tmp_path):
    folder = shared_histories_or_skip()
    db_path = tmp_path / "real.duckdb"
    with Emulator(api_key=API_KEY, histories_dir=folder) as emu:
        run_sync(sync_options(emu, db_path))

    gaps = query(db_path, f"select run_id from {DATASET}.run_events group by run_id having max(event_id) - min(event_id) + 1 <> count(*) or min(event_id) <> 1")
    assert gaps == []
