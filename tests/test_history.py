"""normalise_history on real and hand-written histories in all three spellings."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import orjson
import pytest

from mistral_workflows.event_types import CANONICAL_EVENT_TYPES
from mistral_workflows.history import (
    FINAL_STATUSES,
    HistoryFormatError,
    closing_status,
    normalise_history,
)
from mistral_workflows.schema import EVENT_COLUMN_NAMES

OWN_HISTORIES = Path(__file__).resolve().parent / "fixtures" / "histories"
SHARED_HISTORIES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "temporal-histories"

# Event count and canonical last event type of each shared history, counted from the files.
SHARED_EXPECTED = {
    "py-agent-hello.json": (11, "WORKFLOW_EXECUTION_COMPLETED"),
    "py-agent-tools.json": (23, "WORKFLOW_EXECUTION_COMPLETED"),
    "py-agent-customer-service-canceled.json": (65, "WORKFLOW_EXECUTION_CANCELED"),
    "py-open-activity-cancellation.json": (48, "ACTIVITY_TASK_SCHEDULED"),
    "ts-random-replay.json": (65, "WORKFLOW_EXECUTION_COMPLETED"),
    "py-replayer-complete-pascalcase.json": (11, "WORKFLOW_EXECUTION_COMPLETED"),
    "go-canceled.json": (12, "WORKFLOW_EXECUTION_CANCELED"),
    "go-continue-as-new.json": (5, "WORKFLOW_EXECUTION_CONTINUED_AS_NEW"),
    "go-child-workflow-update.json": (24, "WORKFLOW_EXECUTION_COMPLETED"),
    "go-sample-int-event-ids.json": (11, "WORKFLOW_EXECUTION_COMPLETED"),
    "go-cadence-legacy-list.json": (22, "WORKFLOW_TASK_SCHEDULED"),
}
SHARED_CLOSING_STATUS = {
    "py-agent-customer-service-canceled.json": "CANCELED",
    "py-open-activity-cancellation.json": None,
    "go-canceled.json": "CANCELED",
    "go-continue-as-new.json": "CONTINUED_AS_NEW",
    "go-cadence-legacy-list.json": None,
}

UTC = timezone.utc


def load_own(name: str):
    return json.loads((OWN_HISTORIES / name).read_text(encoding="utf-8"))


def load_shared(name: str):
    if not SHARED_HISTORIES.is_dir():
        pytest.skip(f"the shared Temporal histories are not at {SHARED_HISTORIES}")
    return json.loads((SHARED_HISTORIES / name).read_text(encoding="utf-8"))


def by_id(rows: list[dict]) -> dict[int, dict]:
    return {row["event_id"]: row for row in rows}


# Shared real histories


def test_shared_folder_lists_every_file():
    if not SHARED_HISTORIES.is_dir():
        pytest.skip(f"the shared Temporal histories are not at {SHARED_HISTORIES}")
    assert sorted(path.name for path in SHARED_HISTORIES.glob("*.json")) == sorted(SHARED_EXPECTED)


@pytest.mark.parametrize("name", sorted(SHARED_EXPECTED))
def test_shared_history_rows(name):
    expected_count, expected_last_type = SHARED_EXPECTED[name]

    rows = normalise_history(load_shared(name), "run-shared")

    assert len(rows) == expected_count
    event_ids = [row["event_id"] for row in rows]
    assert event_ids == list(range(1, expected_count + 1))
    assert {row["event_type"] for row in rows} <= CANONICAL_EVENT_TYPES
    assert rows[-1]["event_type"] == expected_last_type
    assert all(list(row) == EVENT_COLUMN_NAMES for row in rows)
    assert all(isinstance(row["event_time"], datetime) and row["event_time"].tzinfo is UTC for row in rows)
    assert all(row["payload_error"] is None for row in rows)
    assert all(isinstance(orjson.loads(row["attributes"]), dict) for row in rows)


@pytest.mark.parametrize("name", sorted(SHARED_EXPECTED))
def test_shared_history_closing_status(name):
    rows = normalise_history(load_shared(name), "run-shared")

    expected = SHARED_CLOSING_STATUS.get(name, "COMPLETED")
    assert closing_status(rows) == expected
    assert expected is None or expected in FINAL_STATUSES


@pytest.mark.parametrize("name", sorted(set(SHARED_EXPECTED) - {"go-cadence-legacy-list.json"}))
def test_shared_history_payloads_decoded(name):
    """No base64 json/plain payload is left once the normaliser decoded them."""
    rows = normalise_history(load_shared(name), "run-shared")

    encoded_marker = '"encoding":"anNvbi9wbGFpbg=="'
    assert not [row["event_id"] for row in rows if encoded_marker in row["attributes"]]


def test_agent_history_values():
    rows = by_id(normalise_history(load_shared("py-agent-hello.json"), "run-hello"))

    started = rows[1]
    assert started["workflow_type"] == "HelloWorldAgent"
    assert started["event_time"] == datetime(2025, 6, 30, 16, 1, 7, 681673, tzinfo=UTC)
    assert started["task_id"] == 1056333
    assert orjson.loads(started["attributes"])["input"] == {"payloads": ["Tell me about recursion in programming."]}
    assert rows[5]["activity_type"] == "invoke_model_activity"
    assert rows[5]["activity_id"] == "1"
    assert rows[6]["scheduled_event_id"] == 5
    assert rows[6]["attempt"] == 1


def test_replay_workflow_task_failure():
    rows = by_id(normalise_history(load_shared("ts-random-replay.json"), "run-ts"))

    failed = rows[9]
    assert failed["event_type"] == "WORKFLOW_TASK_FAILED"
    assert failed["failure_message"] == "test direct Math.random and uuid4 reset behavior"
    assert failed["failure_type"] == "WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW"


def test_cadence_legacy_rows():
    rows = by_id(normalise_history(load_shared("go-cadence-legacy-list.json"), "run-cadence"))

    assert rows[1]["event_time"] == datetime(2019, 11, 25, 18, 36, 49, 824799, tzinfo=UTC)
    assert rows[2]["event_type"] == "WORKFLOW_TASK_SCHEDULED"
    assert rows[4]["scheduled_event_id"] == 2
    assert rows[4]["started_event_id"] == 3
    assert rows[7]["activity_type"] == "main.helloworldActivity"
    assert rows[1]["workflow_type"] == "go.uber.org/cadence/test/replaytests.Workflow"


# This project's histories, one per spelling


def test_enum_spelling_rows():
    rows = normalise_history(load_own("enum-names-failed.json"), "run-enum")
    events = by_id(rows)

    assert len(rows) == 20
    assert closing_status(rows) == "FAILED"
    assert events[3]["event_time"] == datetime(2025, 10, 7, 20, 56, 1, 980000, tzinfo=UTC)
    assert events[4]["event_time"] == datetime(2025, 10, 7, 20, 56, 2, 123, tzinfo=UTC)
    assert events[5]["event_time"] == datetime(2025, 10, 7, 20, 56, 2, tzinfo=UTC)
    assert events[6]["attempt"] == 3
    assert events[6]["failure_message"] is None


def test_enum_spelling_failures():
    events = by_id(normalise_history(load_own("enum-names-failed.json"), "run-enum"))

    assert (events[7]["failure_message"], events[7]["failure_type"]) == ("PDF is encrypted", "EncryptedPdfError")
    assert (events[13]["failure_message"], events[13]["failure_type"]) == (
        "activity StartToClose timeout",
        "TIMEOUT_TYPE_START_TO_CLOSE",
    )
    assert (events[16]["failure_message"], events[16]["failure_type"]) == (
        "nondeterminism detected at command 3",
        "WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR",
    )
    assert (events[20]["failure_message"], events[20]["failure_type"]) == ("activity error", "ActivityFailureInfo")


def test_pascal_spelling_rows():
    rows = normalise_history(load_own("pascal-case-open.json"), "run-pascal")
    events = by_id(rows)

    assert [row["event_id"] for row in rows] == list(range(1, 15))
    assert closing_status(rows) is None
    assert events[1]["event_time"] == datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=UTC)
    assert events[3]["event_time"] == datetime(2024, 3, 1, tzinfo=UTC)
    assert events[1]["task_id"] == 2097152
    assert events[2]["task_id"] == 2097153
    assert events[4]["task_id"] is None
    assert events[4]["scheduled_event_id"] == 2
    assert events[4]["started_event_id"] == 3
    assert events[6]["event_type"] == "TIMER_FIRED"
    assert events[10]["workflow_type"] == "render_chart"
    assert events[14]["event_type"] == "ACTIVITY_TASK_CANCEL_REQUESTED"
    assert events[14]["scheduled_event_id"] == 13


def test_cadence_spelling_rows():
    rows = normalise_history(load_own("cadence-list-failed.json"), "run-cadence")
    events = by_id(rows)

    assert len(rows) == 19
    assert closing_status(rows) == "FAILED"
    assert events[1]["event_time"] == datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC)
    # 123_460_788 ns after the second: truncated to 123460 us, not rounded to 123461.
    assert events[4]["event_time"] == datetime(2023, 11, 14, 22, 13, 20, 123460, tzinfo=UTC)
    assert [events[i]["event_type"] for i in (2, 3, 4, 10, 13)] == [
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_COMPLETED",
        "WORKFLOW_TASK_TIMED_OUT",
        "WORKFLOW_TASK_FAILED",
    ]
    assert events[18]["event_type"] == "REQUEST_CANCEL_ACTIVITY_TASK_FAILED"


def test_cadence_spelling_failures():
    events = by_id(normalise_history(load_own("cadence-list-failed.json"), "run-cadence"))

    assert (events[7]["failure_message"], events[7]["failure_type"]) == ("insufficient funds", "card-declined")
    assert (events[10]["failure_message"], events[10]["failure_type"]) == (None, "START_TO_CLOSE")
    assert (events[13]["failure_message"], events[13]["failure_type"]) == (None, "UNHANDLED_DECISION")
    assert (events[18]["failure_message"], events[18]["failure_type"]) == (None, "ACTIVITY_ID_UNKNOWN")
    assert (events[19]["failure_message"], events[19]["failure_type"]) == (
        "card declined twice",
        "cadenceInternal:Generic",
    )
    assert events[17]["failure_message"] is None


def test_terminated_reason_is_message():
    body = {
        "events": [
            {
                "eventId": "9",
                "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED",
                "workflowExecutionTerminatedEventAttributes": {"reason": "stuck for a day", "identity": "ops"},
            }
        ]
    }

    [row] = normalise_history(body, "run-terminated")

    assert (row["failure_message"], row["failure_type"]) == ("stuck for a day", None)
    assert closing_status([row]) == "TERMINATED"


# Order, duplicates and shapes


def _event(event_id, event_type="EVENT_TYPE_TIMER_FIRED", **extra):
    return {"eventId": event_id, "eventType": event_type, **extra}


def test_newest_first_sorted_oldest_first():
    events = list(reversed(load_own("enum-names-failed.json")["events"]))

    rows = normalise_history({"events": events}, "run-reversed")

    assert [row["event_id"] for row in rows] == list(range(1, 21))


def test_ids_compared_as_numbers():
    rows = normalise_history([_event("10"), _event("9"), _event(100), _event("2")], "run-numeric")

    assert [row["event_id"] for row in rows] == [2, 9, 10, 100]


def test_duplicate_ids_keep_last():
    events = [
        _event("1", timerFiredEventAttributes={"timerId": "first"}),
        _event("2"),
        _event(1, timerFiredEventAttributes={"timerId": "second"}),
    ]

    rows = normalise_history(events, "run-duplicates")

    assert [row["event_id"] for row in rows] == [1, 2]
    assert orjson.loads(rows[0]["attributes"]) == {"timerId": "second"}


def test_empty_history():
    assert normalise_history({"events": []}, "run-empty") == []
    assert normalise_history([], "run-empty") == []


def test_unknown_type_kept_verbatim():
    events = [
        _event("1", "EVENT_TYPE_WORKFLOW_EXECUTION_TELEPORTED", workflowExecutionTeleportedEventAttributes={"to": "mars"}),
        _event("2", "WorkflowExecutionTeleported"),
    ]

    rows = normalise_history(events, "run-unknown")

    assert [row["event_type"] for row in rows] == ["EVENT_TYPE_WORKFLOW_EXECUTION_TELEPORTED", "WorkflowExecutionTeleported"]
    assert orjson.loads(rows[0]["attributes"]) == {"to": "mars"}


def test_missing_type_read_from_attributes_key():
    [row] = normalise_history([{"eventId": 4, "timerStartedEventAttributes": {"timerId": "t"}}], "run-no-type")

    assert row["event_type"] == "TIMER_STARTED"


def test_event_without_attributes():
    [row] = normalise_history([{"eventId": "3", "eventType": "WorkflowExecutionCancelRequested"}], "run-bare")

    assert row["attributes"] is None
    assert row["is_truncated"] is False
    assert row["event_time"] is None


def test_unreadable_values_become_null():
    event = _event(
        "5",
        "EVENT_TYPE_ACTIVITY_TASK_STARTED",
        eventTime="yesterday",
        taskId="not-a-number",
        activityTaskStartedEventAttributes={"scheduledEventId": "99999999999999999999", "attempt": [1]},
    )

    [row] = normalise_history([event], "run-garbled")

    assert row["event_time"] is None
    assert row["task_id"] is None
    assert row["scheduled_event_id"] is None
    assert row["attempt"] is None
    assert orjson.loads(row["attributes"])["attempt"] == [1]


# Bad input


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"executions": [], "next_page_token": None}, "keys ['executions', 'next_page_token']"),
        ({"events": "none"}, "'events' is of type str, not a list"),
        ("<html><body>Bad gateway</body></html>", "a str starting '<html><body>Bad gateway"),
        (None, "of type NoneType"),
        (42, "of type int"),
    ],
)
def test_body_not_history_raises(body, fragment):
    with pytest.raises(HistoryFormatError) as raised:
        normalise_history(body, "run-7")

    message = str(raised.value)
    assert "run run-7" in message
    assert fragment in message
    assert "expected an object with an 'events' list, or a list of events" in message
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize("bad_id", [None, "", "twelve", "3.5", 0, -4, True, {"id": 1}])
def test_unusable_event_id_raises(bad_id):
    events = [_event("1"), {"eventId": bad_id, "eventType": "TimerFired"}]
    if bad_id is None:
        del events[1]["eventId"]

    with pytest.raises(HistoryFormatError) as raised:
        normalise_history(events, "run-8")

    message = str(raised.value)
    assert "run run-8" in message
    assert "position 1" in message


def test_event_not_object_raises():
    with pytest.raises(HistoryFormatError, match=r"run run-9: history event at position 2 is of type list"):
        normalise_history([_event("1"), _event("2"), ["3"]], "run-9")


def test_unhashable_type_does_not_crash():
    [row] = normalise_history([{"eventId": "1", "eventType": ["TimerFired"]}], "run-10")

    assert row["event_type"] == "['TimerFired']"


def test_max_event_bytes_too_small_raises():
    with pytest.raises(ValueError, match="max_event_bytes must be an integer of at least 2"):
        normalise_history([], "run-11", max_event_bytes=0)


# closing_status


def test_closing_status_each_final_type():
    closing_types = {
        "WORKFLOW_EXECUTION_COMPLETED": "COMPLETED",
        "WORKFLOW_EXECUTION_FAILED": "FAILED",
        "WORKFLOW_EXECUTION_CANCELED": "CANCELED",
        "WORKFLOW_EXECUTION_TERMINATED": "TERMINATED",
        "WORKFLOW_EXECUTION_TIMED_OUT": "TIMED_OUT",
        "WORKFLOW_EXECUTION_CONTINUED_AS_NEW": "CONTINUED_AS_NEW",
    }
    for event_type, status in closing_types.items():
        rows = [{"event_id": 1, "event_type": "WORKFLOW_EXECUTION_STARTED"}, {"event_id": 2, "event_type": event_type}]
        assert closing_status(rows) == status
    assert set(closing_types.values()) == FINAL_STATUSES


def test_closing_status_open_and_empty():
    assert closing_status([]) is None
    assert closing_status([{"event_id": 1, "event_type": "WORKFLOW_EXECUTION_CANCEL_REQUESTED"}]) is None
