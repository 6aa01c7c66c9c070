"""Build a synthetic run's full Temporal event history from its plan.

The builder lays out events in the order a Temporal server writes them (workflow
tasks, activities, timers, signals, child workflows, the closing event), each with the
natural gap since the previous event. Events pinned to a known instant (the start,
child runs, the closing event) are anchors. The events between two anchors are
spread over that interval according to their gaps. The result is the whole plan;
`history_render.py` cuts it at the clock and turns it into JSON.
"""

from __future__ import annotations

import random
import uuid

from mistral_workflows.emulator.catalog import (
    ACTIVITY_FAILURES,
    ACTIVITY_MEDIAN_MS,
    WORKFLOW_BY_NAME,
    activity_input,
    activity_result,
    draw_duration_ms,
    draw_queue_wait_ms,
    workflow_input,
    workflow_result,
)
from mistral_workflows.emulator.dataset import ChildLink, RunPlan
from mistral_workflows.emulator.history_parts import (
    EventSpec,
    NestedAttributes,
    Payloads,
    add_appended_events,
    add_closing_event,
    finalize_events,
    spread_between_anchors,
)
from mistral_workflows.emulator.timeutil import US_PER_MS

NAMESPACE = "default"
RETRY_POLICY = {"initialInterval": "1s", "backoffCoefficient": 2, "maximumInterval": "100s", "maximumAttempts": 3}
TAIL_SIZES = {
    "COMPLETED": 1,
    "CONTINUED_AS_NEW": 1,
    "FAILED": 7,
    "CANCELED": 5,
    "TERMINATED": 2,
    "TIMED_OUT": 2,
    "RUNNING": 1,
    "RETRYING_AFTER_ERROR": 3,
}


def planned_result(workflow_name: str, history_seed: int) -> object:
    """Return the result value of a completed run, shared by its detail and its closing event."""
    return workflow_result(random.Random(history_seed ^ 0x5EED), workflow_name)


def build_history(plan: RunPlan) -> list[EventSpec]:
    """Build the run's history as planned, then apply caller changes (appended events, early close).

    The list is sorted by time, ids are assigned, and every visible cut of it is a prefix.
    """
    original = plan
    if plan.planned_close is not None:
        end_us, final_status, last_event_us = plan.planned_close
        original = _copy_with_close(plan, end_us, final_status, last_event_us)

    builder = HistoryBuilder(original)
    events = builder.build()

    if plan.planned_close is not None:
        events = [event for event in events if event.time_us <= plan.end_us]
    add_appended_events(events, plan.appended)
    if plan.planned_close is not None:
        add_closing_event(events, plan, plan.final_status, plan.end_us,
                          planned_result(plan.workflow_name, plan.history_seed))

    return finalize_events(events, task_base=builder.task_base)


def _copy_with_close(plan: RunPlan, end_us: int | None, final_status: str | None, last_event_us: int) -> RunPlan:
    copy = RunPlan(**{name: getattr(plan, name) for name in RunPlan.__slots__})
    copy.end_us, copy.final_status, copy.last_event_us = end_us, final_status, last_event_us
    copy.appended = []
    copy.planned_close = None
    return copy


class HistoryBuilder:
    """Lays out one run's planned events; deterministic from the plan's history seed."""

    def __init__(self, plan: RunPlan) -> None:
        self.plan = plan
        self.rng = random.Random(plan.history_seed)
        self.workflow = WORKFLOW_BY_NAME[plan.workflow_name]
        self.events: list[EventSpec] = []
        self.last_workflow_task: EventSpec | None = None
        self.activity_count = 0
        self.timer_count = 0
        self.identity = f"{self.rng.randint(1000, 99999)}@worker-{plan.deployment_name}-{self.rng.randint(0, 9)}"
        self.task_queue = {"name": self.workflow.task_queue, "kind": "TASK_QUEUE_KIND_NORMAL"}
        self.task_base = self.rng.randint(1_000_000, 90_000_000)

    def build(self) -> list[EventSpec]:
        """Lay out every planned event, with times filled between the anchors."""
        tail_status = self.plan.final_status if self.plan.end_us is not None else self.plan.open_status

        self._add_started()
        self._add_workflow_task(may_fail=True)
        self._add_body(TAIL_SIZES.get(tail_status, 1))
        self._add_tail(tail_status)

        spread_between_anchors(self.events)
        return self.events

    def add(self, event_type: str, attrs: dict, gap_ms: float = 1.0, at_us: int | None = None,
            is_wait: bool = False) -> EventSpec:
        """Append one event, either pinned at `at_us` or `gap_ms` after the previous one."""
        event = EventSpec(event_type, attrs, max(int(gap_ms * US_PER_MS), 1), at_us, len(self.events), is_wait)
        self.events.append(event)
        return event

    def _room_for(self, size: int, tail_size: int) -> bool:
        return len(self.events) + size + tail_size <= self.plan.event_target

    def _add_started(self) -> None:
        plan = self.plan
        attrs = {
            "workflowType": {"name": plan.workflow_name},
            "taskQueue": self.task_queue,
            "input": Payloads(workflow_input(self.rng, plan.workflow_name, plan.index)),
            "workflowExecutionTimeout": "0s",
            "workflowRunTimeout": "0s",
            "workflowTaskTimeout": "10s",
            "originalExecutionRunId": plan.run_id,
            "identity": self.identity,
            "firstExecutionRunId": plan.first_run_id,
            "attempt": 1,
            "firstWorkflowTaskBackoff": "0s",
            "header": {"fields": {}},
            "workflowId": plan.execution_id,
        }
        if plan.previous_run_id is not None:
            attrs["continuedExecutionRunId"] = plan.previous_run_id
            attrs["initiator"] = "CONTINUE_AS_NEW_INITIATOR_WORKFLOW"
        if plan.parent_execution_id is not None:
            attrs["parentWorkflowNamespace"] = NAMESPACE
            attrs["parentWorkflowExecution"] = {"workflowId": plan.parent_execution_id, "runId": plan.parent_run_id}
            attrs["rootWorkflowExecution"] = {"workflowId": plan.root_execution_id}
        self.add("WORKFLOW_EXECUTION_STARTED", attrs, at_us=plan.start_us)

    def _add_workflow_task(self, may_fail: bool = False) -> EventSpec:
        """Add a workflow task (scheduled, started, completed), sometimes after one failed attempt."""
        if may_fail and self.rng.random() < 0.05:
            self._add_failed_workflow_task()

        scheduled = self.add("WORKFLOW_TASK_SCHEDULED",
                             {"taskQueue": self.task_queue, "startToCloseTimeout": "10s", "attempt": 1},
                             gap_ms=self.rng.uniform(0.05, 2.0))
        started = self.add("WORKFLOW_TASK_STARTED",
                           {"scheduledEventId": scheduled, "identity": self.identity,
                            "requestId": self._request_id(), "historySizeBytes": str(400 + 350 * len(self.events))},
                           gap_ms=draw_queue_wait_ms(self.rng))
        completed = self.add("WORKFLOW_TASK_COMPLETED",
                             {"scheduledEventId": scheduled, "startedEventId": started, "identity": self.identity,
                              "sdkMetadata": {"sdkName": "temporal-python", "sdkVersion": "1.11.0"},
                              "meteringMetadata": {}},
                             gap_ms=draw_duration_ms(self.rng, 12.0, 0.7))
        self.last_workflow_task = completed
        return completed

    def _add_failed_workflow_task(self) -> None:
        scheduled = self.add("WORKFLOW_TASK_SCHEDULED",
                             {"taskQueue": self.task_queue, "startToCloseTimeout": "10s", "attempt": 1},
                             gap_ms=self.rng.uniform(0.05, 2.0))
        started = self.add("WORKFLOW_TASK_STARTED",
                           {"scheduledEventId": scheduled, "identity": self.identity, "requestId": self._request_id()},
                           gap_ms=draw_queue_wait_ms(self.rng))
        self.add("WORKFLOW_TASK_FAILED", {
            "scheduledEventId": scheduled,
            "startedEventId": started,
            "cause": "WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE",
            "failure": {"message": "KeyError: 'messages'", "source": "PythonSDK",
                        "stackTrace": "  File \"workflow.py\", line 42, in run\n", "applicationFailureInfo": {"type": "KeyError"}},
            "identity": self.identity,
        }, gap_ms=draw_duration_ms(self.rng, 15.0))

    def _add_body(self, tail_size: int) -> None:
        """Add the workflow's steps until the history reaches its planned length minus the tail."""
        for activity_type in self.workflow.prologue:
            if self._room_for(6, tail_size):
                self._add_activity_step(activity_type)

        if self.plan.children:
            self._add_children_block(self.plan.children)

        step = 0
        while True:
            size = self._add_next_group(step, tail_size)
            if size == 0:
                break
            step += 1

        while len(self.events) + tail_size < self.plan.event_target:
            self._add_marker()

    def _add_next_group(self, step: int, tail_size: int) -> int:
        """Add the next group of events the workflow produces; return its size, 0 when none fits."""
        draw = self.rng.random()
        loop = self.workflow.loop
        activity_type = loop[step % len(loop)]

        if self.workflow.continues_as_new and self._room_for(10, tail_size):
            self._add_signal()
            self._add_activity_step(activity_type)
            return 10
        if self.workflow.uses_timers and draw < 0.1 and self._room_for(5, tail_size):
            self._add_timer()
            return 5
        if draw > 0.92:
            parallel = self.rng.randint(2, 4)
            if self._room_for(3 * parallel + 3, tail_size):
                self._add_parallel_activities(activity_type, parallel)
                return 3 * parallel + 3
        if self._room_for(6, tail_size):
            self._add_activity_step(activity_type)
            return 6
        return 0

    def _add_activity_step(self, activity_type: str) -> None:
        """Add one activity run to completion, followed by the workflow task it wakes."""
        scheduled = self._schedule_activity(activity_type)
        started = self._start_activity(scheduled, allow_retry=True)
        self._complete_activity(activity_type, scheduled, started)
        self._add_workflow_task()

    def _add_parallel_activities(self, activity_type: str, count: int) -> None:
        scheduled = [self._schedule_activity(activity_type) for _ in range(count)]
        started = [self._start_activity(event, allow_retry=False) for event in scheduled]
        for scheduled_event, started_event in zip(scheduled, started):
            self._complete_activity(activity_type, scheduled_event, started_event)
        self._add_workflow_task()

    def _schedule_activity(self, activity_type: str) -> EventSpec:
        self.activity_count += 1
        return self.add("ACTIVITY_TASK_SCHEDULED", {
            "activityId": str(self.activity_count),
            "activityType": {"name": activity_type},
            "taskQueue": self.task_queue,
            "header": {"fields": {}},
            "input": Payloads(activity_input(self.rng, activity_type, self.plan.index, self.activity_count)),
            "scheduleToCloseTimeout": "0s",
            "scheduleToStartTimeout": "0s",
            "startToCloseTimeout": "120s",
            "heartbeatTimeout": "0s",
            "workflowTaskCompletedEventId": self.last_workflow_task,
            "retryPolicy": RETRY_POLICY,
        }, gap_ms=self.rng.uniform(0.05, 1.0))

    def _start_activity(self, scheduled: EventSpec, allow_retry: bool, attempt: int | None = None) -> EventSpec:
        """Add the started event; a retried activity carries its attempt and the last failure."""
        if attempt is None:
            attempt = 1
            if allow_retry and self.rng.random() < 0.06:
                attempt = self.rng.randint(2, 3)

        attrs = {"scheduledEventId": scheduled, "identity": self.identity, "requestId": self._request_id(),
                 "attempt": attempt}
        gap_ms = draw_queue_wait_ms(self.rng)
        if attempt > 1:
            attrs["lastFailure"] = self._activity_failure()
            gap_ms += sum(1000.0 * 2 ** retry for retry in range(attempt - 1))
        return self.add("ACTIVITY_TASK_STARTED", attrs, gap_ms=gap_ms, is_wait=attempt > 1)

    def _complete_activity(self, activity_type: str, scheduled: EventSpec, started: EventSpec) -> None:
        self.add("ACTIVITY_TASK_COMPLETED", {
            "result": Payloads(activity_result(self.rng, activity_type)),
            "scheduledEventId": scheduled,
            "startedEventId": started,
            "identity": self.identity,
        }, gap_ms=draw_duration_ms(self.rng, ACTIVITY_MEDIAN_MS[activity_type]), is_wait=True)

    def _activity_failure(self) -> dict:
        message, failure_type = self.rng.choice(ACTIVITY_FAILURES)
        return {"message": message, "source": "PythonSDK", "stackTrace": "",
                "applicationFailureInfo": {"type": failure_type}}

    def _add_timer(self) -> None:
        self.timer_count += 1
        seconds = self.rng.choice((5, 15, 30, 60))
        started = self.add("TIMER_STARTED", {"timerId": str(self.timer_count), "startToFireTimeout": f"{seconds}s",
                                             "workflowTaskCompletedEventId": self.last_workflow_task},
                           gap_ms=self.rng.uniform(0.05, 1.0))
        self.add("TIMER_FIRED", {"timerId": str(self.timer_count), "startedEventId": started},
                 gap_ms=seconds * 1000.0, is_wait=True)
        self._add_workflow_task()

    def _add_signal(self) -> None:
        """Add a user message arriving as a signal, and the workflow task that handles it."""
        self.add("WORKFLOW_EXECUTION_SIGNALED", {
            "signalName": "user_message",
            "input": Payloads({"text": f"message {self.activity_count + 1}"}),
            "identity": "chat-frontend",
            "header": {"fields": {}},
        }, gap_ms=draw_duration_ms(self.rng, 20_000.0, 1.0), is_wait=True)
        self._add_workflow_task()

    def _add_marker(self) -> None:
        """Add a local activity marker; it also pads a history to its exact planned length."""
        self.add("MARKER_RECORDED", {
            "markerName": "LocalActivity",
            "details": NestedAttributes({"data": Payloads({"activity": "count_tokens", "tokens": self.rng.randint(10, 4000)})}),
            "workflowTaskCompletedEventId": self.last_workflow_task,
        }, gap_ms=self.rng.uniform(0.05, 3.0))

    def _add_children_block(self, children: tuple[ChildLink, ...]) -> None:
        """Start every child at once, then record each completion at its planned end."""
        initiated = [self.add("START_CHILD_WORKFLOW_EXECUTION_INITIATED", {
            "namespace": NAMESPACE,
            "workflowId": child.execution_id,
            "workflowType": {"name": child.workflow_name},
            "taskQueue": self.task_queue,
            "input": Payloads({"batch": position}),
            "workflowRunTimeout": "0s",
            "workflowTaskTimeout": "10s",
            "parentClosePolicy": "PARENT_CLOSE_POLICY_TERMINATE",
            "workflowTaskCompletedEventId": self.last_workflow_task,
            "workflowIdReusePolicy": "WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE",
            "header": {"fields": {}},
        }, gap_ms=0.2) for position, child in enumerate(children)]

        started = [self.add("CHILD_WORKFLOW_EXECUTION_STARTED", {
            "namespace": NAMESPACE,
            "initiatedEventId": initiated_event,
            "workflowExecution": {"workflowId": child.execution_id, "runId": child.run_id},
            "workflowType": {"name": child.workflow_name},
            "header": {"fields": {}},
        }, at_us=child.start_us + 1) for initiated_event, child in zip(initiated, children)]
        self._add_workflow_task()

        by_end = sorted(range(len(children)), key=lambda position: children[position].end_us)
        for position in by_end:
            child = children[position]
            self.add("CHILD_WORKFLOW_EXECUTION_COMPLETED", {
                "result": Payloads(planned_result(child.workflow_name, child.history_seed)),
                "namespace": NAMESPACE,
                "workflowExecution": {"workflowId": child.execution_id, "runId": child.run_id},
                "workflowType": {"name": child.workflow_name},
                "initiatedEventId": initiated[position],
                "startedEventId": started[position],
            }, at_us=child.end_us + 2 * US_PER_MS)
            self._add_workflow_task()

    def _add_tail(self, status: str) -> None:
        """Add the events that lead to the run's end and the closing event, pinned at the planned time."""
        at_us = self.plan.last_event_us

        if status == "FAILED":
            self._add_failed_activity()
            self._add_workflow_task()
        elif status == "CANCELED":
            self.add("WORKFLOW_EXECUTION_CANCEL_REQUESTED", {"identity": "console@mistral"},
                     gap_ms=draw_duration_ms(self.rng, 2_000.0), is_wait=True)
            self._add_workflow_task()
        elif status in ("TERMINATED", "TIMED_OUT"):
            self._schedule_activity(self.workflow.loop[0])

        if self.plan.end_us is not None:
            add_closing_event(self.events, self.plan, status, at_us,
                              planned_result(self.plan.workflow_name, self.plan.history_seed),
                              workflow_task=self.last_workflow_task, task_queue=self.task_queue)
        elif status == "RETRYING_AFTER_ERROR":
            self._add_failed_workflow_task()
            self.events[-1].time_us = at_us
        else:
            self._schedule_activity(self.workflow.loop[0]).time_us = at_us

    def _add_failed_activity(self) -> None:
        """Add an activity that exhausts its retries; its failure is what fails the run."""
        activity_type = self.workflow.loop[0]
        scheduled = self._schedule_activity(activity_type)
        started = self._start_activity(scheduled, allow_retry=False, attempt=RETRY_POLICY["maximumAttempts"])
        failure = self._activity_failure()
        self.add("ACTIVITY_TASK_FAILED", {
            "failure": failure,
            "scheduledEventId": scheduled,
            "startedEventId": started,
            "identity": self.identity,
            "retryState": "RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED",
        }, gap_ms=draw_duration_ms(self.rng, ACTIVITY_MEDIAN_MS[activity_type]), is_wait=True)

    def _request_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
