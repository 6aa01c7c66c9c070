"""Payload decoding, --no-payloads and truncation in normalise_history."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import orjson
import pytest

from mistral_workflows import history_rows
from mistral_workflows.history import normalise_history, strip_payloads

OWN_HISTORIES = Path(__file__).resolve().parent / "fixtures" / "histories"
SHARED_HISTORIES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "temporal-histories"
OWN_NAMES = ["enum-names-failed.json", "pascal-case-open.json", "cadence-list-failed.json"]
JSON_PLAIN = base64.b64encode(b"json/plain").decode()


def load_own(name: str):
    return json.loads((OWN_HISTORIES / name).read_text(encoding="utf-8"))


def shared_names() -> list[str]:
    return sorted(path.name for path in SHARED_HISTORIES.glob("*.json")) if SHARED_HISTORIES.is_dir() else []


def payload(value) -> dict:
    return {"metadata": {"encoding": JSON_PLAIN}, "data": base64.b64encode(json.dumps(value).encode()).decode()}


def attributes_of(row: dict):
    return orjson.loads(row["attributes"])


def one_event(attributes: dict, event_type: str = "EVENT_TYPE_ACTIVITY_TASK_COMPLETED") -> dict:
    key = "".join(word.capitalize() for word in event_type.removeprefix("EVENT_TYPE_").split("_"))
    return {"events": [{"eventId": "1", "eventType": event_type, key[0].lower() + key[1:] + "EventAttributes": attributes}]}


# Decoding


def test_base64_payloads_decoded():
    rows = normalise_history(load_own("enum-names-failed.json"), "run-enum")

    started = attributes_of(rows[0])
    assert started["input"] == {"payloads": [{"document_id": "doc-42"}]}
    assert started["header"] == {"fields": {"trace_id": "trace-7f3a"}}
    assert started["memo"] == {"fields": {"owner": "team-analytics"}}
    assert started["searchAttributes"] == {"indexedFields": {"CustomerId": "customer-981"}}
    failure = attributes_of(rows[6])["failure"]
    assert failure["applicationFailureInfo"]["details"] == {"payloads": [{"pages_read": 0}]}
    closing_failure = attributes_of(rows[19])["failure"]
    assert closing_failure["encodedAttributes"] == {"message": "summary of doc-42 failed", "stack_trace": ""}
    assert all(row["payload_error"] is None for row in rows)


def test_binary_null_and_other_encodings():
    events = {row["event_id"]: row for row in normalise_history(load_own("pascal-case-open.json"), "run-pascal")}

    assert attributes_of(events[10])["input"] == {"payloads": [None]}
    protobuf_payload = load_own("pascal-case-open.json")["events"][12]["activityTaskScheduledEventAttributes"]["input"]
    assert attributes_of(events[13])["input"] == protobuf_payload
    assert events[13]["payload_error"] is None


def test_already_decoded_payload_kept():
    events = {row["event_id"]: row for row in normalise_history(load_own("pascal-case-open.json"), "run-pascal")}

    assert attributes_of(events[12])["input"] == {"payloads": ["already decoded by the server"]}
    assert events[12]["payload_error"] is None


def test_decode_off_keeps_base64():
    rows = normalise_history(load_own("enum-names-failed.json"), "run-enum", decode_payloads=False)

    original = load_own("enum-names-failed.json")["events"][0]["workflowExecutionStartedEventAttributes"]
    assert attributes_of(rows[0]) == original


def test_invalid_base64_kept_with_error():
    broken = {"metadata": {"encoding": JSON_PLAIN}, "data": "not base64!"}
    body = one_event({"result": {"payloads": [payload("fine"), broken]}, "scheduledEventId": "5"})

    [row] = normalise_history(body, "run-broken")

    assert row["payload_error"] == "result.payloads[1]: data is not valid base64"
    assert attributes_of(row)["result"] == {"payloads": ["fine", broken]}
    assert row["scheduled_event_id"] == 5


def test_invalid_json_kept_with_error():
    not_json = {"metadata": {"encoding": JSON_PLAIN}, "data": base64.b64encode(b"{oops").decode()}
    body = one_event({"result": {"payloads": [not_json]}})

    [row] = normalise_history(body, "run-not-json")

    assert row["payload_error"] == "result.payloads[0]: data is not valid JSON"
    assert attributes_of(row)["result"] == {"payloads": [not_json]}


def test_first_payload_problem_reported():
    missing_data = {"metadata": {"encoding": JSON_PLAIN}}
    bad_base64 = {"metadata": {"encoding": JSON_PLAIN}, "data": "%%%"}
    body = one_event({"failure": {"message": "boom", "applicationFailureInfo": {"details": {"payloads": [missing_data]}}}, "result": {"payloads": [bad_base64]}}, "EVENT_TYPE_ACTIVITY_TASK_FAILED")

    [row] = normalise_history(body, "run-two-problems")

    assert row["payload_error"] == "failure.applicationFailureInfo.details.payloads[0]: data is missing"
    assert row["failure_message"] == "boom"


def test_decoding_leaves_input_unchanged():
    body = load_own("enum-names-failed.json")
    before = json.dumps(body, sort_keys=True)

    normalise_history(body, "run-enum")

    assert json.dumps(body, sort_keys=True) == before


def test_attributes_without_metadata_not_walked(monkeypatch):
    """The payload walk runs only for attributes whose JSON text contains a payload."""
    walked = []
    real_decode = history_rows.decode_attributes

    def counting_decode(attributes):
        walked.append(attributes)
        return real_decode(attributes)

    monkeypatch.setattr(history_rows, "decode_attributes", counting_decode)
    rows = normalise_history(load_own("enum-names-failed.json"), "run-enum")

    with_payloads = [row["event_id"] for row in rows if "payloads" in row["attributes"] or "encodedAttributes" in row["attributes"]]
    assert len(walked) == len(with_payloads) == 5


# Dropping


def _payload_texts(value, found: set[str]) -> None:
    """Collect the base64 data and the decoded text of every payload in a raw history."""
    if isinstance(value, dict):
        data = value.get("data")
        if isinstance(value.get("metadata"), dict) and isinstance(data, str):
            found.add(data)
            _leaf_texts(json.loads(base64.b64decode(data)), found)
        if isinstance(value.get("payloads"), list):
            _leaf_texts([item for item in value["payloads"] if not isinstance(item, dict)], found)
        for item in value.values():
            _payload_texts(item, found)
    elif isinstance(value, list):
        for item in value:
            _payload_texts(item, found)


def _leaf_texts(value, found: set[str]) -> None:
    if isinstance(value, dict):
        for item in value.values():
            _leaf_texts(item, found)
    elif isinstance(value, list):
        for item in value:
            _leaf_texts(item, found)
    elif isinstance(value, str) and len(value) >= 10:
        # Shorter strings such as "message" also occur outside payloads.
        found.add(value)


def _outside_payloads(value):
    """Return a copy of a raw history with every payload and payload list replaced by None."""
    if isinstance(value, dict):
        if isinstance(value.get("metadata"), dict):
            return None
        return {key: None if key == "payloads" else _outside_payloads(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_outside_payloads(item) for item in value]
    return value


def _row_text(row: dict) -> str:
    return " ".join(str(value) for value in row.values())


@pytest.mark.parametrize(("name", "payload_texts"), [("enum-names-failed.json", 14), ("pascal-case-open.json", 4)])
def test_drop_leaves_no_payload_data(name, payload_texts):
    secrets: set[str] = set()
    _payload_texts(load_own(name), secrets)
    assert len(secrets) == payload_texts

    rows = normalise_history(load_own(name), "run-drop", drop_payloads=True)

    leaks = {secret for row in rows for secret in secrets if secret in _row_text(row)}
    assert leaks == set()


def test_drop_keeps_other_fields():
    rows = normalise_history(load_own("enum-names-failed.json"), "run-drop", drop_payloads=True)

    started = attributes_of(rows[0])
    assert started["input"] == {"payloads": "<dropped>"}
    assert started["header"] == {"fields": {"trace_id": "<dropped>"}}
    assert started["memo"] == {"fields": {"owner": "<dropped>"}}
    assert started["searchAttributes"] == {"indexedFields": {"CustomerId": "<dropped>"}}
    assert started["workflowType"] == {"name": "summarise_document"}
    assert started["taskQueue"] == {"name": "documents", "kind": "TASK_QUEUE_KIND_NORMAL"}
    closing_failure = attributes_of(rows[19])["failure"]
    assert closing_failure["encodedAttributes"] == "<dropped>"
    assert closing_failure["message"] == "activity error"
    assert rows[0]["workflow_type"] == "summarise_document"
    assert rows[6]["failure_message"] == "PDF is encrypted"


def test_drop_cadence_bytes():
    raw = load_own("cadence-list-failed.json")
    secrets = {
        raw[0]["workflowExecutionStartedEventAttributes"]["input"],
        raw[6]["activityTaskFailedEventAttributes"]["details"],
        "customer-981",
        "insufficient funds",
        "card declined twice",
        "invoice-v2",
    }

    rows = normalise_history(raw, "run-cadence", drop_payloads=True)

    assert {secret for row in rows for secret in secrets if secret in _row_text(row)} == set()
    assert attributes_of(rows[0])["input"] == "<dropped>"
    assert rows[6]["failure_type"] == "card-declined"
    assert rows[6]["failure_message"] is None
    assert rows[18]["failure_message"] is None


def test_drop_server_decoded_values():
    attributes = {
        "result": {"payloads": [{"answer": "forty-two"}]},
        "header": {"fields": {"tenant": "acme-corp"}},
        "lastCompletionResult": "previous-answer",
        "failure": {"message": "retry", "encodedAttributes": {"message": "hidden-message"}},
    }

    [row] = normalise_history(one_event(attributes), "run-decoded", drop_payloads=True)

    for secret in ("forty-two", "acme-corp", "previous-answer", "hidden-message"):
        assert secret not in _row_text(row)
    assert attributes_of(row)["header"] == {"fields": {"tenant": "<dropped>"}}


def test_drop_shared_histories():
    if not SHARED_HISTORIES.is_dir():
        pytest.skip(f"the shared Temporal histories are not at {SHARED_HISTORIES}")
    checked = 0
    for name in shared_names():
        body = json.loads((SHARED_HISTORIES / name).read_text(encoding="utf-8"))
        secrets: set[str] = set()
        _payload_texts(body, secrets)
        # A tool name, say, is in a payload and also in an activity type: keep only payload-only texts.
        text_outside_payloads = json.dumps(_outside_payloads(body))
        secrets = {secret for secret in secrets if secret not in text_outside_payloads}

        rows = normalise_history(body, "run-shared", drop_payloads=True)

        assert {secret for row in rows for secret in secrets if secret in _row_text(row)} == set(), name
        assert all(row["payload_error"] is None for row in rows), name
        checked += len(secrets)
    assert checked > 100


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ({"payloads": [payload("x")]}, {"payloads": "<dropped>"}),
        (payload({"a": 1}), "<dropped>"),
        ({"answer": 42}, "<dropped>"),
        ("hello", "<dropped>"),
        ([1, 2], "<dropped>"),
        ({"output": {"payloads": ["x"]}, "tokens": 12}, {"output": {"payloads": "<dropped>"}, "tokens": 12}),
    ],
)
def test_strip_payloads(value, expected):
    assert strip_payloads(value) == expected


# Truncation


def test_oversize_event_truncated():
    long_text = "é" * 3000
    attributes = {
        "activityId": "7",
        "activityType": {"name": "call_llm"},
        "failure": {"message": "model overloaded", "stackTrace": long_text},
    }
    body = one_event(attributes, "EVENT_TYPE_ACTIVITY_TASK_FAILED")
    full_text = orjson.dumps(attributes).decode()

    [row] = normalise_history(body, "run-big", max_event_bytes=1000)

    marker = json.loads(row["attributes"])
    assert row["is_truncated"] is True
    assert marker["_truncated"] is True
    assert marker["_original_bytes"] == len(full_text.encode())
    assert marker["_preview"] == full_text[:500]
    assert row["activity_type"] == "call_llm"
    assert row["failure_message"] == "model overloaded"


def test_size_limit_is_inclusive():
    attributes = {"timerId": "t" * 100}
    size = len(orjson.dumps(attributes))

    [at_limit] = normalise_history(one_event(attributes, "EVENT_TYPE_TIMER_FIRED"), "run-edge", max_event_bytes=size)
    [over_limit] = normalise_history(one_event(attributes, "EVENT_TYPE_TIMER_FIRED"), "run-edge", max_event_bytes=size - 1)

    assert at_limit["is_truncated"] is False
    assert attributes_of(at_limit) == attributes
    assert over_limit["is_truncated"] is True


def test_size_measured_after_decoding():
    """Decoded payloads are usually shorter than their base64; the limit applies to what is stored."""
    attributes = {"result": {"payloads": [payload("x" * 600)]}}
    decoded_size = len(orjson.dumps({"result": {"payloads": ["x" * 600]}}))

    [row] = normalise_history(one_event(attributes), "run-decoded-size", max_event_bytes=decoded_size)

    assert row["is_truncated"] is False
    assert attributes_of(row) == {"result": {"payloads": ["x" * 600]}}


def test_integers_beyond_64_bits_serialised():
    [row] = normalise_history(one_event({"historySizeBytes": 2**70}, "EVENT_TYPE_WORKFLOW_TASK_STARTED"), "run-huge")

    assert json.loads(row["attributes"]) == {"historySizeBytes": 2**70}


def test_deep_nesting_serialised():
    nested: dict = {"leaf": payload("deep")}
    for _ in range(300):
        nested = {"child": nested}

    [row] = normalise_history(one_event({"details": nested}, "EVENT_TYPE_MARKER_RECORDED"), "run-deep")

    assert '"leaf":"deep"' in row["attributes"]
