"""Event specs: history events before ids, links and payload encodings are fixed.

An event refers to an earlier one through its `EventSpec` (rendered as the earlier
event's id), so events can be inserted or cut before ids are assigned. Payload values
stay plain JSON until rendering, where they are base64-encoded or left decoded. This
module also places unpinned events in time and numbers the final list.
"""

from __future__ import annotations

from mistral_workflows.emulator.catalog import WORKFLOW_BY_NAME
from mistral_workflows.emulator.dataset import RunPlan


class Payloads:
    """A `{"payloads": [...]}` value whose items are plain JSON values until rendered."""

    __slots__ = ("values",)

    def __init__(self, *values: object) -> None:
        self.values = values


class NestedAttributes(dict):
    """A dict inside event attributes whose values may hold payloads or event links."""


class EventSpec:
    """One history event: type, attributes, and either a pinned time or a gap to the previous event.

    `is_wait` marks a gap spent waiting on the outside world (an activity running, a
    timer, a user's message). Only such gaps grow when a run lasts longer than the
    natural gaps of its events add up to.
    """

    __slots__ = ("event_type", "attrs", "gap_us", "is_wait", "time_us", "seq", "event_id", "task_id")

    def __init__(self, event_type: str, attrs: dict, gap_us: int, time_us: int | None, seq: int,
                 is_wait: bool = False) -> None:
        self.event_type = event_type
        self.attrs = attrs
        self.gap_us = gap_us
        self.is_wait = is_wait
        self.time_us = time_us
        self.seq = seq
        self.event_id = 0
        self.task_id = 0


def add_appended_events(events: list[EventSpec], appended: list[tuple[int, int]]) -> None:
    """Add the activity events a caller appended, as complete or in-flight activities at their times."""
    for batch, (time_us, count) in enumerate(appended):
        workflow_task = _last_workflow_task(events, time_us)
        scheduled = started = None
        for position in range(count):
            step = position % 3
            activity_id = f"appended-{batch + 1}-{position // 3 + 1}"
            if step == 0:
                scheduled = _append(events, "ACTIVITY_TASK_SCHEDULED", time_us, {
                    "activityId": activity_id,
                    "activityType": {"name": "run_tool"},
                    "input": Payloads({"tool": "search_kb", "arguments": {"query": activity_id}}),
                    "startToCloseTimeout": "120s",
                    "workflowTaskCompletedEventId": workflow_task,
                })
            elif step == 1:
                started = _append(events, "ACTIVITY_TASK_STARTED", time_us,
                                  {"scheduledEventId": scheduled, "identity": "appended@emulator", "attempt": 1})
            else:
                _append(events, "ACTIVITY_TASK_COMPLETED", time_us, {
                    "result": Payloads({"ok": True}),
                    "scheduledEventId": scheduled,
                    "startedEventId": started,
                    "identity": "appended@emulator",
                })


def add_closing_event(events: list[EventSpec], plan: RunPlan, status: str, at_us: int, result: object,
                      workflow_task: EventSpec | None = None, task_queue: dict | None = None) -> EventSpec:
    """Add the event that closes the run with `status` at `at_us`."""
    if workflow_task is None:
        workflow_task = _last_workflow_task(events, at_us)
    if task_queue is None:
        task_queue = {"name": WORKFLOW_BY_NAME[plan.workflow_name].task_queue, "kind": "TASK_QUEUE_KIND_NORMAL"}

    attrs = _closing_attributes(plan, status, result, task_queue)
    if workflow_task is not None and status not in ("TERMINATED", "TIMED_OUT"):
        attrs["workflowTaskCompletedEventId"] = workflow_task

    event_type = "WORKFLOW_EXECUTION_" + status
    return _append(events, event_type, at_us, attrs)


def _closing_attributes(plan: RunPlan, status: str, result: object, task_queue: dict) -> dict:
    if status == "COMPLETED":
        return {"result": Payloads(result)}
    if status == "FAILED":
        return {
            "failure": {
                "message": f"{plan.workflow_name} failed: activity task failed after 3 attempts",
                "source": "PythonSDK",
                "stackTrace": "",
                "applicationFailureInfo": {"type": "WorkflowStepError"},
                "cause": {"message": "Activity task failed", "activityFailureInfo": {"retryState": "RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED"}},
            },
            "retryState": "RETRY_STATE_RETRY_POLICY_NOT_SET",
        }
    if status == "CANCELED":
        return {"details": {}}
    if status == "TERMINATED":
        return {"reason": "terminated by operator", "identity": "console@mistral"}
    if status == "TIMED_OUT":
        return {"retryState": "RETRY_STATE_TIMEOUT"}
    if status == "CONTINUED_AS_NEW":
        return {
            "newExecutionRunId": plan.next_run_id,
            "workflowType": {"name": plan.workflow_name},
            "taskQueue": task_queue,
            "input": Payloads({"carried_messages": 20}),
            "workflowRunTimeout": "0s",
            "workflowTaskTimeout": "10s",
            "backoffStartInterval": "0s",
            "initiator": "CONTINUE_AS_NEW_INITIATOR_WORKFLOW",
        }
    raise ValueError(f"cannot close a run with status {status!r}")


def spread_between_anchors(events: list[EventSpec]) -> None:
    """Give every unpinned event a time between its two surrounding anchors.

    When the interval is longer than the natural gaps add up to, only waiting gaps
    grow, and without any waiting gap the slack falls before the next anchor. When
    it is shorter, every gap shrinks in proportion. Times never decrease, but several
    events may share a microsecond when a long history is squeezed into a short run,
    as events do in real Temporal histories.
    """
    anchors = [position for position, event in enumerate(events) if event.time_us is not None]
    for left, right in zip(anchors, anchors[1:]):
        left_us = events[left].time_us
        right_us = max(events[right].time_us, left_us)
        events[right].time_us = right_us
        wait_scale, work_scale = _gap_scales(events[left + 1: right + 1], right_us - left_us)

        elapsed = 0.0
        for position in range(left + 1, right):
            event = events[position]
            elapsed += event.gap_us * (wait_scale if event.is_wait else work_scale)
            events[position].time_us = min(left_us + int(elapsed), right_us)


def _gap_scales(window: list[EventSpec], span_us: int) -> tuple[float, float]:
    """Return the factors for waiting gaps and for work gaps that fit `window` into `span_us`."""
    wait_us = sum(event.gap_us for event in window if event.is_wait)
    work_us = sum(event.gap_us for event in window if not event.is_wait)
    if wait_us + work_us > span_us:
        factor = span_us / (wait_us + work_us)
        return factor, factor
    if wait_us == 0:
        return 1.0, 1.0
    return (span_us - work_us) / wait_us, 1.0


def finalize_events(events: list[EventSpec], task_base: int) -> list[EventSpec]:
    """Order events by time (ties in insertion order) and number them from 1."""
    events.sort(key=lambda event: (event.time_us, event.seq))
    for position, event in enumerate(events):
        event.event_id = position + 1
        event.task_id = task_base + 3 * position
    return events


def _append(events: list[EventSpec], event_type: str, time_us: int, attrs: dict) -> EventSpec:
    seq = max((event.seq for event in events[-1:]), default=-1) + 1
    event = EventSpec(event_type, attrs, 0, time_us, seq)
    events.append(event)
    return event


def _last_workflow_task(events: list[EventSpec], before_us: int) -> EventSpec | None:
    """Find the last completed workflow task at or before `before_us`, which new commands link to."""
    for event in reversed(events):
        if event.event_type == "WORKFLOW_TASK_COMPLETED" and event.time_us <= before_us:
            return event
    return None
