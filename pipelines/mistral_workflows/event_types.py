"""The table of history event types and their three spellings.

A history names its event types in one of three ways: Temporal's enum names
(`EVENT_TYPE_ACTIVITY_TASK_STARTED`), the PascalCase names older Temporal JSON uses
(`ActivityTaskStarted`), and Cadence's names, where a workflow task is still called a
decision task (`DecisionTaskStarted`). Every spelling maps to one canonical name,
upper snake case without the `EVENT_TYPE_` prefix, and to the key of the event's
attributes object (`activityTaskStartedEventAttributes`). An unknown name is kept as
it comes, because the API is in beta and Temporal adds event types.
"""

from __future__ import annotations

# Temporal's `temporal.api.enums.v1.EventType` names without the `EVENT_TYPE_` prefix, in
# enum order, as Temporal's API definitions and server code spell them.
TEMPORAL_EVENT_TYPES: tuple[str, ...] = (
    "WORKFLOW_EXECUTION_STARTED",
    "WORKFLOW_EXECUTION_COMPLETED",
    "WORKFLOW_EXECUTION_FAILED",
    "WORKFLOW_EXECUTION_TIMED_OUT",
    "WORKFLOW_TASK_SCHEDULED",
    "WORKFLOW_TASK_STARTED",
    "WORKFLOW_TASK_COMPLETED",
    "WORKFLOW_TASK_TIMED_OUT",
    "WORKFLOW_TASK_FAILED",
    "ACTIVITY_TASK_SCHEDULED",
    "ACTIVITY_TASK_STARTED",
    "ACTIVITY_TASK_COMPLETED",
    "ACTIVITY_TASK_FAILED",
    "ACTIVITY_TASK_TIMED_OUT",
    "ACTIVITY_TASK_CANCEL_REQUESTED",
    "ACTIVITY_TASK_CANCELED",
    "TIMER_STARTED",
    "TIMER_FIRED",
    "TIMER_CANCELED",
    "WORKFLOW_EXECUTION_CANCEL_REQUESTED",
    "WORKFLOW_EXECUTION_CANCELED",
    "REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED",
    "REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED",
    "EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED",
    "MARKER_RECORDED",
    "WORKFLOW_EXECUTION_SIGNALED",
    "WORKFLOW_EXECUTION_TERMINATED",
    "WORKFLOW_EXECUTION_CONTINUED_AS_NEW",
    "START_CHILD_WORKFLOW_EXECUTION_INITIATED",
    "START_CHILD_WORKFLOW_EXECUTION_FAILED",
    "CHILD_WORKFLOW_EXECUTION_STARTED",
    "CHILD_WORKFLOW_EXECUTION_COMPLETED",
    "CHILD_WORKFLOW_EXECUTION_FAILED",
    "CHILD_WORKFLOW_EXECUTION_CANCELED",
    "CHILD_WORKFLOW_EXECUTION_TIMED_OUT",
    "CHILD_WORKFLOW_EXECUTION_TERMINATED",
    "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED",
    "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED",
    "EXTERNAL_WORKFLOW_EXECUTION_SIGNALED",
    "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES",
    "WORKFLOW_EXECUTION_UPDATE_ACCEPTED",
    "WORKFLOW_EXECUTION_UPDATE_REJECTED",
    "WORKFLOW_EXECUTION_UPDATE_COMPLETED",
    "WORKFLOW_PROPERTIES_MODIFIED_EXTERNALLY",
    "ACTIVITY_PROPERTIES_MODIFIED_EXTERNALLY",
    "WORKFLOW_PROPERTIES_MODIFIED",
    "WORKFLOW_EXECUTION_UPDATE_ADMITTED",
    "NEXUS_OPERATION_SCHEDULED",
    "NEXUS_OPERATION_STARTED",
    "NEXUS_OPERATION_COMPLETED",
    "NEXUS_OPERATION_FAILED",
    "NEXUS_OPERATION_CANCELED",
    "NEXUS_OPERATION_TIMED_OUT",
    "NEXUS_OPERATION_CANCEL_REQUESTED",
    "WORKFLOW_EXECUTION_OPTIONS_UPDATED",
    "NEXUS_OPERATION_CANCEL_REQUEST_COMPLETED",
    "NEXUS_OPERATION_CANCEL_REQUEST_FAILED",
    "WORKFLOW_EXECUTION_PAUSED",
    "WORKFLOW_EXECUTION_UNPAUSED",
    "WORKFLOW_EXECUTION_TIME_SKIPPING_TRANSITIONED",
)

# Types that only Cadence (and Temporal before 1.0) writes, kept under their own names.
LEGACY_EVENT_TYPES: tuple[str, ...] = (
    "REQUEST_CANCEL_ACTIVITY_TASK_FAILED",
    "CANCEL_TIMER_FAILED",
)

# Cadence calls a workflow task a decision task; its other names match Temporal's.
CADENCE_RENAMES: dict[str, str] = {
    "DecisionTaskScheduled": "WORKFLOW_TASK_SCHEDULED",
    "DecisionTaskStarted": "WORKFLOW_TASK_STARTED",
    "DecisionTaskCompleted": "WORKFLOW_TASK_COMPLETED",
    "DecisionTaskTimedOut": "WORKFLOW_TASK_TIMED_OUT",
    "DecisionTaskFailed": "WORKFLOW_TASK_FAILED",
}

_ENUM_PREFIX = "EVENT_TYPE_"
_ATTRIBUTES_SUFFIX = "EventAttributes"


def pascal_case(canonical: str) -> str:
    """Spell a canonical name as Temporal's older JSON does: `TIMER_FIRED` -> `TimerFired`."""
    return "".join(word.capitalize() for word in canonical.split("_"))


def attributes_key(pascal_name: str) -> str:
    """Return the key of the attributes object for a PascalCase type name."""
    return pascal_name[0].lower() + pascal_name[1:] + _ATTRIBUTES_SUFFIX


def _build_spellings() -> dict[str, tuple[str, str]]:
    """Map every known spelling to (canonical name, attributes key)."""
    spellings: dict[str, tuple[str, str]] = {}
    for canonical in TEMPORAL_EVENT_TYPES + LEGACY_EVENT_TYPES:
        pascal_name = pascal_case(canonical)
        entry = (canonical, attributes_key(pascal_name))
        spellings[canonical] = entry
        spellings[_ENUM_PREFIX + canonical] = entry
        spellings[pascal_name] = entry

    for cadence_name, canonical in CADENCE_RENAMES.items():
        spellings[cadence_name] = (canonical, attributes_key(cadence_name))
    return spellings


_SPELLINGS = _build_spellings()
CANONICAL_EVENT_TYPES = frozenset(TEMPORAL_EVENT_TYPES + LEGACY_EVENT_TYPES)


def canonical_event_type(name: str) -> str:
    """Return the canonical spelling of an event type, or the name unchanged when unknown.

    `EVENT_TYPE_ACTIVITY_TASK_COMPLETED`, `ActivityTaskCompleted` and
    `ACTIVITY_TASK_COMPLETED` all give `ACTIVITY_TASK_COMPLETED`; Cadence's
    `DecisionTaskStarted` gives `WORKFLOW_TASK_STARTED`.
    """
    entry = _SPELLINGS.get(name)
    return name if entry is None else entry[0]


def lookup_event_type(name: str) -> tuple[str, str] | None:
    """Return (canonical name, attributes key) for a known spelling, else None."""
    return _SPELLINGS.get(name)


def event_type_from_attributes_key(key: str) -> str | None:
    """Return the canonical type named by an attributes key, for an event without `eventType`."""
    if not key.endswith(_ATTRIBUTES_SUFFIX):
        return None
    pascal_name = key[0].upper() + key[1 : -len(_ATTRIBUTES_SUFFIX)]
    entry = _SPELLINGS.get(pascal_name)
    return None if entry is None else entry[0]
