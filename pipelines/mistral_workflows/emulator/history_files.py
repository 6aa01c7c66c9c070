"""Serve a folder of Temporal history files, one run per `*.json` file.

A file may use any of the three spellings Temporal tooling writes. The first is
`{"events": [...]}` with `EVENT_TYPE_*` names, the second the same with PascalCase
names and string or integer ids. The third is a bare list of events with integer
ids, `timestamp` in nanoseconds and Cadence names. The history is served as the file has it; the run's list fields are derived
from its first and last events.
"""

from __future__ import annotations

import logging
import re
import uuid
from pathlib import Path

import orjson

from mistral_workflows.emulator.history_render import decode_payloads_in
from mistral_workflows.emulator.records import FixedRun
from mistral_workflows.emulator.timeutil import US_PER_MS, format_run_time, parse_iso_us

logger = logging.getLogger(__name__)

RUN_ID_NAMESPACE = uuid.UUID("6f1d7a52-35c4-4d8e-9a57-0b3e1f2c9d41")
CLOSING_STATUSES = {
    "WorkflowExecutionCompleted": "COMPLETED",
    "WorkflowExecutionFailed": "FAILED",
    "WorkflowExecutionCanceled": "CANCELED",
    "WorkflowExecutionTerminated": "TERMINATED",
    "WorkflowExecutionTimedOut": "TIMED_OUT",
    "WorkflowExecutionContinuedAsNew": "CONTINUED_AS_NEW",
}


class NotAHistoryError(ValueError):
    """A file contains JSON that is not a Temporal event history."""


def load_history_folder(folder: Path) -> list[FixedRun]:
    """Load one run per `*.json` file, sorted by file name, and skip unreadable files with a warning."""
    if not folder.is_dir():
        raise FileNotFoundError(f"histories folder {folder} does not exist or is not a directory")

    runs = []
    for path in sorted(folder.glob("*.json")):
        try:
            runs.append(load_history_file(path))
        except (OSError, ValueError, TypeError, AttributeError) as error:
            logger.warning("skipped history file %s: %s", path.name, error)
    logger.info("loaded %d runs from history files in %s", len(runs), folder)
    return runs


def load_history_file(path: Path) -> FixedRun:
    """Derive a run from one history file. The file itself is served as the run's history."""
    document = orjson.loads(path.read_bytes())
    events = _events_of(document)

    run_id = str(uuid.uuid5(RUN_ID_NAMESPACE, path.name))
    detail = derive_run_fields(events, run_id)
    return FixedRun(detail, history_path=path)


def derive_run_fields(events: list[dict], run_id: str) -> dict:
    """Build the run's detail from its history: name and ids from the started event, times and status from the ends."""
    started = _attributes(events[0])
    execution_id = started.get("workflowId") or run_id
    parent = started.get("parentWorkflowExecution") or {}
    closing_type = _event_type_name(events[-1])
    status = CLOSING_STATUSES.get(closing_type, "RUNNING")

    start_us = _event_time_us(events[0])
    end_us = _event_time_us(events[-1]) if status != "RUNNING" else None
    return {
        "workflow_name": (started.get("workflowType") or {}).get("name"),
        "execution_id": execution_id,
        "parent_execution_id": parent.get("workflowId"),
        "root_execution_id": (started.get("rootWorkflowExecution") or {}).get("workflowId") or execution_id,
        "status": status,
        "start_time": format_run_time(start_us),
        "end_time": format_run_time(end_us) if end_us is not None else None,
        "total_duration_ms": (end_us - start_us) // US_PER_MS if end_us is not None else None,
        "workflow_id": None,
        "deployment_name": None,
        "run_id": run_id,
        "user_id": None,
        "result": _completed_result(events[-1]) if status == "COMPLETED" else None,
        "search_keys": None,
    }


def _events_of(document: object) -> list[dict]:
    events = document.get("events") if isinstance(document, dict) else document
    if not isinstance(events, list) or not events:
        raise NotAHistoryError("expected {\"events\": [...]} or a list of events, with at least one event")
    if not all(isinstance(event, dict) and "eventType" in event for event in events):
        raise NotAHistoryError("every event must be an object with an eventType")
    events = _in_event_id_order(events)
    if _event_type_name(events[0]) != "WorkflowExecutionStarted":
        raise NotAHistoryError(f"the first event is {events[0].get('eventType')!r}, not a workflow execution start")
    return events


def _in_event_id_order(events: list[dict]) -> list[dict]:
    """Return the events sorted by eventId, so that a file written newest first reads the same.

    Events whose ids are not all integers are kept in file order.
    """
    try:
        return sorted(events, key=lambda event: int(event["eventId"]))
    except (KeyError, TypeError, ValueError):
        return events


def _event_type_name(event: dict) -> str:
    """Return the PascalCase event type for either spelling (`EVENT_TYPE_ACTIVITY_TASK_STARTED` or `ActivityTaskStarted`)."""
    name = str(event.get("eventType", ""))
    if name.startswith("EVENT_TYPE_"):
        return "".join(word.capitalize() for word in name[len("EVENT_TYPE_"):].split("_"))
    return name


def _attributes(event: dict) -> dict:
    """Return the event's single `...EventAttributes` object, or an empty dict."""
    for key, value in event.items():
        if key.endswith("EventAttributes") and isinstance(value, dict):
            return value
    return {}


def _event_time_us(event: dict) -> int:
    if "eventTime" in event:
        return parse_iso_us(re.sub(r"(\.\d{6})\d+", r"\1", str(event["eventTime"])))
    if "timestamp" in event:
        return int(event["timestamp"]) // 1000
    raise NotAHistoryError(f"event {event.get('eventId')} has neither eventTime nor timestamp")


def _completed_result(event: dict) -> object:
    """Return the decoded first result payload of a completion event, or None when it is not JSON."""
    result = decode_payloads_in(_attributes(event).get("result"))
    if isinstance(result, dict) and isinstance(result.get("payloads"), list) and result["payloads"]:
        first = result["payloads"][0]
        return None if isinstance(first, dict) and "metadata" in first else first
    return None
