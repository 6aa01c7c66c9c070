"""Read the columns of a `run_events` row out of one event's attributes object.

Temporal writes int64 values as JSON strings ("12") and Cadence as numbers (12);
both become ints here. A value that is not a readable int64 becomes None rather
than an error, because it only fills a convenience column: the attributes
object keeps it verbatim.
"""

from __future__ import annotations

import base64
import binascii

import orjson

from .event_types import CANONICAL_EVENT_TYPES

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# Event types that report a failure, a timeout or a termination.
FAILURE_EVENT_TYPES = frozenset(
    name for name in CANONICAL_EVENT_TYPES if name.endswith(("_FAILED", "_TIMED_OUT", "_TERMINATED"))
)


def to_int(value) -> int | None:
    """Read an int64 from an int, an integral float or a string of digits; else None."""
    if type(value) is int:
        return value if INT64_MIN <= value <= INT64_MAX else None
    if isinstance(value, str):
        try:
            number = int(value)
        except ValueError:
            return None
        return number if INT64_MIN <= number <= INT64_MAX else None
    if isinstance(value, float) and value.is_integer():
        return to_int(int(value))
    return None


def to_text(value) -> str | None:
    """Read an id that may come as a string or a number."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def name_of(value) -> str | None:
    """Read `{"name": ...}` objects such as `activityType` and `workflowType`."""
    if isinstance(value, dict):
        name = value.get("name")
        return name if isinstance(name, str) else None
    return value if isinstance(value, str) else None


def failure_fields(attributes: dict, event_type: str, *, read_details: bool) -> tuple[str | None, str | None]:
    """Return (failure_message, failure_type) of one event.

    Temporal puts a `failure` object on failed and timed-out events. Its message is
    `failure.message`. Its type is the application error type, else the timeout type,
    else the kind of failure info (`CanceledFailureInfo`, ...). A failed workflow task
    is typed by its `cause` (such as non-determinism). Events without
    a `failure` object are read by `_legacy_failure`. `details` is read only when
    `read_details` is true, so that dropped payloads do not reappear here.
    """
    failure = attributes.get("failure")
    if failure is None:
        failure = attributes.get("rejectionFailure")
    if isinstance(failure, dict):
        return _temporal_failure(failure, attributes, event_type)
    if event_type not in FAILURE_EVENT_TYPES:
        return None, None
    return _legacy_failure(attributes, event_type, read_details=read_details)




def _temporal_failure(failure: dict, attributes: dict, event_type: str) -> tuple[str | None, str | None]:
    message = failure.get("message")
    message = message if isinstance(message, str) and message else None

    failure_type = None
    if event_type == "WORKFLOW_TASK_FAILED":
        failure_type = _text_or_none(attributes.get("cause"))
    if failure_type is None:
        failure_type = _failure_kind(failure)
    return message, failure_type


def _failure_kind(failure: dict) -> str | None:
    application = failure.get("applicationFailureInfo")
    if isinstance(application, dict):
        error_type = _text_or_none(application.get("type"))
        if error_type is not None:
            return error_type

    timeout = failure.get("timeoutFailureInfo")
    if isinstance(timeout, dict):
        timeout_type = _text_or_none(timeout.get("timeoutType"))
        if timeout_type is not None:
            return timeout_type

    for key in failure:
        if key.endswith("FailureInfo"):
            return key[0].upper() + key[1:]
    return None


def _legacy_failure(attributes: dict, event_type: str, *, read_details: bool) -> tuple[str | None, str | None]:
    """Read an event that reports a failure without a `failure` object.

    A termination has a human `reason`, which is its message. Other events are
    typed by their `cause` (a failed workflow task, a child workflow that could not
    start), their `timeoutType`, or Cadence's `reason`; Cadence's message is in the
    base64 `details`.
    """
    reason = _text_or_none(attributes.get("reason"))
    if event_type.endswith("_TERMINATED"):
        return reason, None

    failure_type = _text_or_none(attributes.get("cause")) or _text_or_none(attributes.get("timeoutType")) or reason
    message = _details_text(attributes.get("details")) if read_details else None
    if message is None and reason is not None and reason != failure_type:
        message = reason
    return message, failure_type


def _details_text(details) -> str | None:
    """Read Cadence's failure details: base64 bytes, usually a JSON string."""
    if not isinstance(details, str) or not details:
        return None
    try:
        text = base64.b64decode(details, validate=True).decode("utf-8").strip()
    except (binascii.Error, ValueError):
        return details
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text or None
    return value if isinstance(value, str) else text


def _text_or_none(value) -> str | None:
    return value if isinstance(value, str) and value else None
