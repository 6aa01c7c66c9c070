"""Turn one run's Temporal event history into `run_events` rows, one per event.

The history endpoint returns Temporal's JSON, and histories exported by Temporal
tooling come in three spellings: `{"events": [...]}` with `EVENT_TYPE_*` names and
string ids, the same with PascalCase names, and Cadence's bare list with integer ids,
nanosecond `timestamp`s and decision tasks. All three give the same rows: canonical
event types, int ids, UTC times, the useful attributes pulled out into columns, and
the whole attributes object kept as JSON text.

This runs for every event of every sync, so it makes one pass over the events,
looks types up in a dict, serialises with orjson, and walks an attributes object
for payloads only when its JSON text shows one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from operator import itemgetter

from .event_types import canonical_event_type
from .history_errors import HistoryFormatError
from .history_payloads import strip_payloads
from .history_rows import HistoryNormalisation, describe
from .history_times import parse_api_time, parse_event_time
from .settings import DEFAULT_MAX_EVENT_BYTES

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES",
    "FINAL_STATUSES",
    "HistoryFormatError",
    "canonical_event_type",
    "closing_status",
    "normalise_history",
    "parse_api_time",
    "parse_event_time",
    "strip_payloads",
]

logger = logging.getLogger(__name__)

FINAL_STATUSES = frozenset({"COMPLETED", "FAILED", "CANCELED", "TERMINATED", "CONTINUED_AS_NEW", "TIMED_OUT"})

# The closing event of a run and the run status it implies.
_CLOSING_STATUSES = {
    "WORKFLOW_EXECUTION_COMPLETED": "COMPLETED",
    "WORKFLOW_EXECUTION_FAILED": "FAILED",
    "WORKFLOW_EXECUTION_CANCELED": "CANCELED",
    "WORKFLOW_EXECUTION_TERMINATED": "TERMINATED",
    "WORKFLOW_EXECUTION_TIMED_OUT": "TIMED_OUT",
    "WORKFLOW_EXECUTION_CONTINUED_AS_NEW": "CONTINUED_AS_NEW",
}

_event_id_of = itemgetter("event_id")


def normalise_history(
    body,
    run_id: str,
    *,
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    decode_payloads: bool = True,
    drop_payloads: bool = False,
    release_input: bool = False,
) -> list[dict]:
    """Build the `run_events` rows of one run's history, sorted by event id.

    `body` is the parsed JSON: `{"events": [...]}` or a bare list of events.
    Duplicate event ids keep their last occurrence. An attributes object whose JSON
    is longer than `max_event_bytes` (UTF-8) is stored as a truncation marker, but
    the columns are still read from the whole object. `decode_payloads` decodes
    payloads the server left in base64; `drop_payloads` replaces every payload by
    "<dropped>" and wins over `decode_payloads`. `release_input` sets each event of
    `body` to None once its row is built, so that a long history and its rows are not
    held in memory in full at the same time.

    Raises HistoryFormatError (a ValueError) when the body is not a history or an
    event is not an object with a usable `eventId`.
    """
    if not isinstance(max_event_bytes, int) or max_event_bytes < 2:
        raise ValueError(f"max_event_bytes must be an integer of at least 2, got {max_event_bytes!r}")
    events = _events_of(body, run_id)
    normalisation = HistoryNormalisation(
        run_id, max_event_bytes=max_event_bytes, decode_payloads=decode_payloads, drop_payloads=drop_payloads
    )

    rows = []
    last_event_id = 0
    in_order = True
    for position, event in enumerate(events):
        row = normalisation.event_row(event, position)
        if release_input:
            events[position] = None
        if row["event_id"] <= last_event_id:
            in_order = False
        last_event_id = row["event_id"]
        rows.append(row)

    if not in_order:
        rows = _deduplicate_and_sort(rows, run_id)
    normalisation.log_problems()
    return rows


def closing_status(rows: Iterable[dict]) -> str | None:
    """Return the run status implied by the closing event among normalised rows, else None.

    WORKFLOW_EXECUTION_COMPLETED gives "COMPLETED", and likewise FAILED, CANCELED,
    TERMINATED, TIMED_OUT and CONTINUED_AS_NEW. When several rows close the run, the
    one with the highest event id decides.
    """
    status = None
    closing_event_id = None
    for row in rows:
        row_status = _CLOSING_STATUSES.get(row.get("event_type"))
        if row_status is not None and (closing_event_id is None or row["event_id"] > closing_event_id):
            status = row_status
            closing_event_id = row["event_id"]
    return status


def _events_of(body, run_id: str) -> list:
    """Return the event list of a history body, or raise HistoryFormatError saying what came."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        events = body.get("events")
        if isinstance(events, list):
            return events
    raise HistoryFormatError(
        f"run {run_id}: history body is {describe(body)}; expected an object with an 'events' list, or a list of events"
    )


def _deduplicate_and_sort(rows: list[dict], run_id: str) -> list[dict]:
    """Keep the last row of each event id and order them by id (the API may serve newest first)."""
    by_event_id = {row["event_id"]: row for row in rows}
    duplicates = len(rows) - len(by_event_id)
    if duplicates:
        logger.warning("run %s: history repeats %d event ids; kept the last occurrence of each", run_id, duplicates)
    return sorted(by_event_id.values(), key=_event_id_of)
