"""Turn event specs into Temporal's JSON spelling, and decode payloads in any history.

Synthetic histories use the spelling the API serves: `EVENT_TYPE_*` names, ids and
task ids as strings, ISO times with microseconds. A payload is
`{"metadata": {"encoding": base64("json/plain")}, "data": base64(json)}`, or its
decoded JSON value when the caller asked for `decode_payloads=true`.
"""

from __future__ import annotations

import base64
import binascii
from bisect import bisect_right
from functools import lru_cache

import orjson

from mistral_workflows.emulator.history_parts import EventSpec, NestedAttributes, Payloads
from mistral_workflows.emulator.timeutil import format_us

JSON_PLAIN = base64.b64encode(b"json/plain").decode()
BINARY_NULL = base64.b64encode(b"binary/null").decode()


def render_history(events: list[EventSpec], now_us: int, decode_payloads: bool) -> bytes:
    """Render the events that happened by `now_us` as `{"events": [...]}` JSON bytes."""
    visible = bisect_right(events, now_us, key=lambda event: event.time_us)
    encode = _decoded_payload if decode_payloads else _encoded_payload
    rendered = [_render_event(event, encode) for event in events[:visible]]
    return orjson.dumps({"events": rendered})


def count_visible(events: list[EventSpec], now_us: int) -> int:
    """Count the events that happened by `now_us`."""
    return bisect_right(events, now_us, key=lambda event: event.time_us)


def _render_event(event: EventSpec, encode) -> dict:
    attrs = {key: _render_value(value, encode) for key, value in event.attrs.items()}
    return {
        "eventId": str(event.event_id),
        "eventTime": format_us(event.time_us),
        "eventType": "EVENT_TYPE_" + event.event_type,
        "taskId": str(event.task_id),
        _attributes_key(event.event_type): attrs,
    }


def _render_value(value: object, encode) -> object:
    if isinstance(value, EventSpec):
        return str(value.event_id)
    if isinstance(value, Payloads):
        return {"payloads": [encode(item) for item in value.values]}
    if isinstance(value, NestedAttributes):
        return {key: _render_value(item, encode) for key, item in value.items()}
    return value


@lru_cache(maxsize=None)
def _attributes_key(event_type: str) -> str:
    """Map `ACTIVITY_TASK_STARTED` to `activityTaskStartedEventAttributes`."""
    first, *rest = event_type.lower().split("_")
    return first + "".join(word.capitalize() for word in rest) + "EventAttributes"


def _encoded_payload(value: object) -> dict:
    return {"metadata": {"encoding": JSON_PLAIN}, "data": base64.b64encode(orjson.dumps(value)).decode()}


def _decoded_payload(value: object) -> object:
    return value


def decode_payloads_in(value: object) -> object:
    """Replace every json/plain (or binary/null) payload object inside a JSON value by its decoded value.

    Payloads in other encodings (protobuf, encrypted) and Cadence's bare base64
    strings are left as they are, because their format is not known here.
    """
    if isinstance(value, list):
        return [decode_payloads_in(item) for item in value]
    if not isinstance(value, dict):
        return value

    decoded = _decode_payload_object(value)
    if decoded is not _NOT_A_PAYLOAD:
        return decoded
    return {key: decode_payloads_in(item) for key, item in value.items()}


_NOT_A_PAYLOAD = object()


def _decode_payload_object(value: dict) -> object:
    metadata = value.get("metadata")
    if not isinstance(metadata, dict) or set(value) - {"metadata", "data"}:
        return _NOT_A_PAYLOAD

    encoding = metadata.get("encoding")
    if encoding == BINARY_NULL:
        return None
    if encoding != JSON_PLAIN or not isinstance(value.get("data"), str):
        return _NOT_A_PAYLOAD

    try:
        return orjson.loads(base64.b64decode(value["data"], validate=True))
    except (binascii.Error, orjson.JSONDecodeError):
        return _NOT_A_PAYLOAD
