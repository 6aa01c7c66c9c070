"""canonical_event_type and the table of event types."""

from __future__ import annotations

import pytest

from mistral_workflows.event_types import CANONICAL_EVENT_TYPES, TEMPORAL_EVENT_TYPES, attributes_key, pascal_case
from mistral_workflows.history import canonical_event_type
from mistral_workflows.history_rows import EVENT_COLUMN_ORDER
from mistral_workflows.schema import EVENT_COLUMN_NAMES


@pytest.mark.parametrize("canonical", sorted(CANONICAL_EVENT_TYPES))
def test_every_spelling_maps_to_canonical(canonical):
    assert canonical_event_type(canonical) == canonical
    assert canonical_event_type("EVENT_TYPE_" + canonical) == canonical
    assert canonical_event_type(pascal_case(canonical)) == canonical


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ActivityTaskCompleted", "ACTIVITY_TASK_COMPLETED"),
        ("EVENT_TYPE_ACTIVITY_TASK_COMPLETED", "ACTIVITY_TASK_COMPLETED"),
        ("WorkflowExecutionContinuedAsNew", "WORKFLOW_EXECUTION_CONTINUED_AS_NEW"),
        ("DecisionTaskScheduled", "WORKFLOW_TASK_SCHEDULED"),
        ("DecisionTaskStarted", "WORKFLOW_TASK_STARTED"),
        ("DecisionTaskCompleted", "WORKFLOW_TASK_COMPLETED"),
        ("DecisionTaskTimedOut", "WORKFLOW_TASK_TIMED_OUT"),
        ("DecisionTaskFailed", "WORKFLOW_TASK_FAILED"),
        ("ActivityTaskCancelRequested", "ACTIVITY_TASK_CANCEL_REQUESTED"),
        ("RequestCancelActivityTaskFailed", "REQUEST_CANCEL_ACTIVITY_TASK_FAILED"),
        ("CancelTimerFailed", "CANCEL_TIMER_FAILED"),
        ("MarkerRecorded", "MARKER_RECORDED"),
        ("TimerStarted", "TIMER_STARTED"),
        ("EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUEST_FAILED", "NEXUS_OPERATION_CANCEL_REQUEST_FAILED"),
        ("WorkflowExecutionUnpaused", "WORKFLOW_EXECUTION_UNPAUSED"),
        ("ActivityPropertiesModifiedExternally", "ACTIVITY_PROPERTIES_MODIFIED_EXTERNALLY"),
    ],
)
def test_known_spellings(name, expected):
    assert canonical_event_type(name) == expected


@pytest.mark.parametrize(
    "name", ["EVENT_TYPE_SOMETHING_NEW", "SomethingNew", "activity_task_completed", "EVENT_TYPE_UNSPECIFIED", ""]
)
def test_unknown_kept_verbatim(name):
    assert canonical_event_type(name) == name


def test_table_covers_temporal_enum():
    assert len(TEMPORAL_EVENT_TYPES) == len(set(TEMPORAL_EVENT_TYPES)) == 60
    assert {"WORKFLOW_EXECUTION_UPDATE_ADMITTED", "WORKFLOW_EXECUTION_OPTIONS_UPDATED", "WORKFLOW_PROPERTIES_MODIFIED"} <= set(
        TEMPORAL_EVENT_TYPES
    )


def test_attributes_key_spelling():
    assert attributes_key("ActivityTaskStarted") == "activityTaskStartedEventAttributes"
    assert attributes_key("DecisionTaskCompleted") == "decisionTaskCompletedEventAttributes"


def test_row_columns_match_schema():
    assert list(EVENT_COLUMN_ORDER) == EVENT_COLUMN_NAMES
