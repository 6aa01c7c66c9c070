"""Decode or drop the payloads inside a history event's attributes.

Temporal wraps every user value (workflow and activity input, results, signal
arguments, heartbeat details, memo, search attributes, failure details) in a
payload: `{"metadata": {"encoding": base64("json/plain")}, "data": base64(JSON)}`,
usually inside a `{"payloads": [...]}` list. The API can decode them itself
(`decode_payloads=true`); these walks handle what it left encoded and implement
`--no-payloads`. Both walks leave their input unchanged and return new objects
only where something changed.
"""

from __future__ import annotations

import base64
import binascii

import orjson

DROPPED = "<dropped>"

_PAYLOAD_FIELDS = frozenset({"metadata", "data", "externalPayloads"})
_JSON_PLAIN = "json/plain"
_BINARY_NULL = "binary/null"

# Encodings seen in histories, written base64-encoded by Temporal and in clear by some tools.
_ENCODING_NAMES: dict[str, str] = {
    "anNvbi9wbGFpbg==": _JSON_PLAIN,
    _JSON_PLAIN: _JSON_PLAIN,
    "YmluYXJ5L251bGw=": _BINARY_NULL,
    _BINARY_NULL: _BINARY_NULL,
}
_MAX_CACHED_ENCODINGS = 64

# Keys whose value is user data whatever its shape: a payload list, a payload, a
# value the server already decoded, or Cadence's base64 bytes.
_PAYLOAD_VALUE_KEYS = frozenset(
    {
        "input",
        "result",
        "details",
        "heartbeatDetails",
        "lastHeartbeatDetails",
        "lastCompletionResult",
        "encodedAttributes",
        "args",
        "success",
    }
)
# Keys whose value maps names to one payload each; the names are kept, the values dropped.
_PAYLOAD_MAP_KEYS = frozenset({"indexedFields"})
_PAYLOAD_MAP_PARENTS = frozenset({"header", "memo"})


def is_payload(value: dict) -> bool:
    """Tell whether a dict has the shape of one Temporal payload."""
    return isinstance(value.get("metadata"), dict) and value.keys() <= _PAYLOAD_FIELDS


def decode_attributes(attributes):
    """Decode every base64 `json/plain` payload in an attributes object.

    Returns (decoded attributes, first problem or None). A `binary/null` payload
    becomes None. A payload with another encoding is kept as given, and so is one whose
    data is not valid base64 or not JSON: the first such problem is returned as
    "<path>: <problem>".
    """
    problems: list[str] = []
    try:
        decoded = _decode_value(attributes, None, problems)
    except RecursionError:
        return attributes, "attributes are nested too deeply to decode their payloads"
    return decoded, (problems[0] if problems else None)


def drop_attributes(attributes):
    """Replace every payload in an attributes object by "<dropped>", keeping all other fields."""
    try:
        return _drop_value(attributes, None)
    except RecursionError:
        return DROPPED


def strip_payloads(value):
    """Drop the payload data of a value that contains user data, such as a run's result.

    A payload, a `{"payloads": [...]}` list, or an object that contains some keeps its
    structure with each payload replaced by "<dropped>". Any other value was already
    decoded by the server, so it is user data as a whole and becomes "<dropped>".
    None stays None.
    """
    if value is None:
        return None
    try:
        return _drop_payload_value(value)
    except RecursionError:
        return DROPPED


def _decode_value(value, path, problems: list[str]):
    if isinstance(value, dict):
        if "metadata" in value and is_payload(value):
            return _decode_payload(value, path, problems)
        changed = None
        for key, item in value.items():
            if isinstance(item, (dict, list)):
                new_item = _decode_value(item, (path, key), problems)
                if new_item is not item:
                    if changed is None:
                        changed = dict(value)
                    changed[key] = new_item
        return value if changed is None else changed

    if isinstance(value, list):
        changed = None
        for index, item in enumerate(value):
            if isinstance(item, (dict, list)):
                new_item = _decode_value(item, (path, index), problems)
                if new_item is not item:
                    if changed is None:
                        changed = list(value)
                    changed[index] = new_item
        return value if changed is None else changed
    return value


def _decode_payload(payload: dict, path, problems: list[str]):
    encoding = _encoding_name(payload["metadata"].get("encoding"))
    if encoding == _BINARY_NULL:
        return None
    if encoding != _JSON_PLAIN:
        return payload

    data = payload.get("data")
    if not isinstance(data, str):
        problem = "data is missing" if data is None else "data is not a base64 string"
        problems.append(f"{_render_path(path)}: {problem}")
        return payload
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        problems.append(f"{_render_path(path)}: data is not valid base64")
        return payload
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        problems.append(f"{_render_path(path)}: data is not valid JSON")
        return payload


def _encoding_name(encoding) -> str | None:
    """Return the encoding in clear, from its base64 form or as written."""
    name = _ENCODING_NAMES.get(encoding) if isinstance(encoding, str) else None
    if name is not None or not isinstance(encoding, str):
        return name
    try:
        name = base64.b64decode(encoding, validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        name = encoding
    if len(_ENCODING_NAMES) < _MAX_CACHED_ENCODINGS:
        _ENCODING_NAMES[encoding] = name
    return name


def _render_path(path) -> str:
    """Spell a path built as nested (parent, key) pairs: `input.payloads[0]`."""
    keys = []
    while path is not None:
        path, key = path
        keys.append(key)
    text = ""
    for key in reversed(keys):
        if isinstance(key, int):
            text += f"[{key}]"
        else:
            text += f".{key}" if text else key
    return text or "attributes"


def _drop_value(value, value_key):
    """Drop the payloads in a value found under `value_key` (None for list items and the root)."""
    if isinstance(value, dict):
        if "metadata" in value and is_payload(value):
            return DROPPED
        return {key: _drop_child(key, item, value_key) for key, item in value.items()}
    if isinstance(value, list):
        return [_drop_value(item, None) for item in value]
    return value


def _drop_child(key, item, parent_key):
    if item is None:
        return None
    if key == "payloads" and isinstance(item, list):
        return DROPPED
    if key in _PAYLOAD_MAP_KEYS or (key == "fields" and parent_key in _PAYLOAD_MAP_PARENTS):
        return {name: DROPPED for name in item} if isinstance(item, dict) else DROPPED
    if key in _PAYLOAD_VALUE_KEYS:
        return _drop_payload_value(item)
    if isinstance(item, (dict, list)):
        return _drop_value(item, key)
    return item


def _drop_payload_value(value):
    """Drop a value that is user data: keep its payload structure if it has one, else drop it whole."""
    if isinstance(value, (dict, list)) and _holds_payloads(value):
        return _drop_value(value, None)
    return DROPPED


def _holds_payloads(value) -> bool:
    """Tell whether a value is, or contains, a payload or a `payloads` list."""
    if isinstance(value, dict):
        if "metadata" in value and is_payload(value):
            return True
        if isinstance(value.get("payloads"), list):
            return True
        return any(_holds_payloads(item) for item in value.values() if isinstance(item, (dict, list)))
    if isinstance(value, list):
        return any(_holds_payloads(item) for item in value if isinstance(item, (dict, list)))
    return False
