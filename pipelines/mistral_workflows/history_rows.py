"""Build the `run_events` row of one history event.

Each row reads the event's id, type and time, pulls the useful attributes out into
columns, and keeps the whole attributes object as JSON text: decoded, with its
payloads dropped, or truncated, as the sync's options ask.
"""

from __future__ import annotations

import json
import logging

import orjson

from .event_types import event_type_from_attributes_key, lookup_event_type
from .history_errors import HistoryFormatError
from .history_fields import FAILURE_EVENT_TYPES, failure_fields, name_of, to_int, to_text
from .history_payloads import decode_attributes, drop_attributes
from .history_times import parse_event_time

logger = logging.getLogger(__name__)

# The columns of `run_events` in the order of schema.EVENT_COLUMNS, which a test checks.
# They are spelled out here because schema.py imports pyarrow, which the CLI loads late.
EVENT_COLUMN_ORDER = (
    "run_id",
    "event_id",
    "event_time",
    "event_type",
    "task_id",
    "activity_id",
    "activity_type",
    "scheduled_event_id",
    "started_event_id",
    "attempt",
    "failure_message",
    "failure_type",
    "workflow_type",
    "attributes",
    "is_truncated",
    "payload_error",
)
# A row at the values of an event without attributes, copied for each event.
_EMPTY_ROW = dict.fromkeys(EVENT_COLUMN_ORDER)
_EMPTY_ROW["is_truncated"] = False

# Attribute key, column, and the function reading it.
_ATTRIBUTE_COLUMNS = (
    ("activityId", "activity_id", to_text),
    ("activityType", "activity_type", name_of),
    ("scheduledEventId", "scheduled_event_id", to_int),
    ("startedEventId", "started_event_id", to_int),
    ("attempt", "attempt", to_int),
    ("workflowType", "workflow_type", name_of),
)

# Every payload has a "metadata" key, so attributes whose JSON lacks it have nothing to decode.
_PAYLOAD_MARKER = b'"metadata"'


class HistoryNormalisation:
    """The options of one history's normalisation, and what it could not read, for the log."""

    def __init__(self, run_id: str, *, max_event_bytes: int, decode_payloads: bool, drop_payloads: bool) -> None:
        self.run_id = run_id
        self.max_event_bytes = max_event_bytes
        self.decode_payloads = decode_payloads and not drop_payloads
        self.drop_payloads = drop_payloads
        self.unreadable_times = 0
        self.first_unreadable_time: str | None = None
        self.payload_errors = 0
        self.first_payload_error: str | None = None
        self.truncated = 0

    def event_row(self, event, position: int) -> dict:
        """Build the row of one event: id, type, time, attribute columns, attributes text."""
        if not isinstance(event, dict):
            raise HistoryFormatError(
                f"run {self.run_id}: history event at position {position} is {describe(event)}, expected an object"
            )
        event_id = self._event_id(event, position)
        event_type, attributes = _type_and_attributes(event)

        row = _EMPTY_ROW.copy()
        row["run_id"] = self.run_id
        row["event_id"] = event_id
        row["event_time"] = self._event_time(event, event_id)
        row["event_type"] = event_type
        task_id = event.get("taskId")
        if task_id is not None:
            row["task_id"] = to_int(task_id)
        if attributes is None:
            return row

        if isinstance(attributes, dict):
            _fill_attribute_columns(row, attributes, event_type, read_details=not self.drop_payloads)
        self._fill_attributes_text(row, attributes)
        return row

    def log_problems(self) -> None:
        """Log one line per kind of problem met in this history."""
        if self.unreadable_times:
            logger.warning(
                "run %s: %d history events have an unreadable time and are stored without event_time (first: %s)",
                self.run_id,
                self.unreadable_times,
                self.first_unreadable_time,
            )
        if self.payload_errors:
            logger.warning(
                "run %s: %d history events hold payloads that could not be decoded and are stored as given "
                "(first: %s)",
                self.run_id,
                self.payload_errors,
                self.first_payload_error,
            )
        if self.truncated:
            logger.debug(
                "run %s: %d history events stored with attributes truncated to %d bytes",
                self.run_id,
                self.truncated,
                self.max_event_bytes,
            )

    def _event_id(self, event: dict, position: int) -> int:
        raw_id = event.get("eventId")
        event_id = to_int(raw_id)
        if event_id is None or event_id < 1:
            raise HistoryFormatError(
                f"run {self.run_id}: history event at position {position} has eventId {raw_id!r}; "
                "expected a positive integer or a string of digits"
            )
        return event_id

    def _event_time(self, event: dict, event_id: int):
        """Read the event's time; an unreadable one is counted and stored as NULL."""
        try:
            return parse_event_time(event)
        except HistoryFormatError as error:
            self.unreadable_times += 1
            if self.first_unreadable_time is None:
                self.first_unreadable_time = f"event {event_id}: {error}"
            return None

    def _fill_attributes_text(self, row: dict, attributes) -> None:
        """Serialise the attributes, decoding or dropping payloads, and truncate them if too long."""
        if self.drop_payloads:
            text = self._dumps(drop_attributes(attributes), row)
        else:
            text = self._dumps(attributes, row)
            if self.decode_payloads and _PAYLOAD_MARKER in text:
                text = self._decode_payloads(row, attributes, text)

        if len(text) > self.max_event_bytes:
            row["attributes"] = truncation_marker(text, self.max_event_bytes)
            row["is_truncated"] = True
            self.truncated += 1
        else:
            row["attributes"] = text.decode()

    def _decode_payloads(self, row: dict, attributes, text: bytes) -> bytes:
        decoded, problem = decode_attributes(attributes)
        if problem is not None:
            row["payload_error"] = problem
            self.payload_errors += 1
            if self.first_payload_error is None:
                self.first_payload_error = f"event {row['event_id']}: {problem}"
        return text if decoded is attributes else self._dumps(decoded, row)

    def _dumps(self, value, row: dict) -> bytes:
        try:
            return orjson.dumps(value)
        except TypeError:
            pass

        # orjson rejects integers beyond 64 bits and nesting deeper than 255 levels.
        try:
            return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        except (RecursionError, ValueError) as error:
            raise HistoryFormatError(
                f"run {self.run_id}: history event {row['event_id']} has attributes that cannot be "
                f"stored as JSON ({type(error).__name__}: {error})"
            ) from None


def describe(value) -> str:
    """Describe an unexpected JSON value for an error message: its type and first keys."""
    if isinstance(value, dict):
        if "events" in value:
            return f"an object whose 'events' is of type {type(value['events']).__name__}, not a list"
        keys = list(value)[:5]
        return f"an object with keys {keys}" if keys else "an empty object"
    if isinstance(value, (str, bytes)):
        return f"a {type(value).__name__} starting {value[:60]!r}"
    return f"of type {type(value).__name__}"


def truncation_marker(text: bytes, max_event_bytes: int) -> str:
    """Build the JSON object stored in place of attributes longer than the limit.

    The preview is the first max_event_bytes/2 characters of the JSON text. One
    character takes at most 4 bytes in UTF-8, so decoding that many bytes yields
    enough characters; a character cut at the end is ignored.
    """
    preview_chars = max_event_bytes // 2
    preview = text[: preview_chars * 4].decode("utf-8", errors="ignore")[:preview_chars]
    marker = {"_truncated": True, "_original_bytes": len(text), "_preview": preview}
    return orjson.dumps(marker).decode()


def _type_and_attributes(event: dict):
    """Return the canonical type and the attributes object of one event.

    The attributes key follows from the type's spelling; an event missing that key
    is searched for any `...EventAttributes` key. An unknown type is kept verbatim,
    and a missing one is read from the attributes key.
    """
    raw_type = event.get("eventType")
    known = lookup_event_type(raw_type) if isinstance(raw_type, str) else None
    if known is not None:
        event_type, key = known
        attributes = event.get(key)
        if attributes is not None:
            return event_type, attributes
    else:
        event_type = raw_type if raw_type is None or isinstance(raw_type, str) else str(raw_type)

    for key, value in event.items():
        if key.endswith("EventAttributes"):
            if event_type is None:
                event_type = event_type_from_attributes_key(key)
            return event_type, value
    return event_type, None


def _fill_attribute_columns(row: dict, attributes: dict, event_type, *, read_details: bool) -> None:
    get = attributes.get
    for key, column, read in _ATTRIBUTE_COLUMNS:
        value = get(key)
        if value is not None:
            row[column] = read(value)

    if event_type in FAILURE_EVENT_TYPES or "failure" in attributes or "rejectionFailure" in attributes:
        row["failure_message"], row["failure_type"] = failure_fields(attributes, event_type, read_details=read_details)
