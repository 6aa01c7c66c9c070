"""Synthetic runs as compact plans, deterministic from a seed.

A plan is what a run will do: when it starts, when its closing event happens and with
which status, and how many history events it will have. It contains no events, because
the history is rebuilt from the plan's `history_seed` when requested (see
`timeline.py`). An emulator with 20,000 runs allocates about 30 MB (tracemalloc, any
`events_per_run`). What the API serves is the plan cut at the emulator clock, so
moving the clock finishes runs and grows histories.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field

from mistral_workflows.emulator.catalog import (
    DEPLOYMENTS,
    WORKFLOW_BY_NAME,
    WorkflowType,
    draw_duration_ms,
    pick_root_workflow,
    search_keys_for,
)
from mistral_workflows.emulator.timeutil import US_PER_MS, US_PER_S, truncate_to_ms

FINAL_STATUS_WEIGHTS: dict[str, float] = {
    "COMPLETED": 0.77,
    "FAILED": 0.11,
    "CANCELED": 0.05,
    "TERMINATED": 0.035,
    "TIMED_OUT": 0.035,
}
FINAL_STATUSES = frozenset(FINAL_STATUS_WEIGHTS) | {"CONTINUED_AS_NEW"}

HISTORY_SPAN_DAYS = 14
US_PER_MINUTE = 60 * US_PER_S
US_PER_HOUR = 60 * US_PER_MINUTE


@dataclass(frozen=True, slots=True)
class ChildLink:
    """A child run as its parent's history refers to it."""

    run_id: str
    execution_id: str
    workflow_name: str
    start_us: int
    end_us: int
    history_seed: int


@dataclass(slots=True)
class RunPlan:
    """One synthetic run: identity, planned timeline and the seed its history is built from.

    `end_us` is the time of the closing event and `final_status` its status. Both are
    None for a run that never closes. `last_event_us` is the time of the last planned
    event (the closing one when there is one). `planned_close` keeps the original
    (end_us, final_status, last_event_us) once a caller closed the run early, because
    the history is still built from the original plan and then cut.
    `appended` lists (time_us, count) of activity events added by a caller.
    """

    index: int
    run_id: str
    execution_id: str
    workflow_name: str
    workflow_id: str
    root_execution_id: str
    parent_execution_id: str | None
    parent_run_id: str | None
    deployment_name: str
    user_id: str
    start_us: int
    end_us: int | None
    final_status: str | None
    open_status: str
    last_event_us: int
    event_target: int
    history_seed: int
    search_keys: dict
    first_run_id: str
    previous_run_id: str | None = None
    next_run_id: str | None = None
    children: tuple[ChildLink, ...] = ()
    appended: list[tuple[int, int]] = field(default_factory=list)
    planned_close: tuple[int | None, str | None, int] | None = None
    version: int = 0

    def is_closed_at(self, now_us: int) -> bool:
        """Tell whether the closing event has happened by `now_us`."""
        return self.end_us is not None and self.end_us <= now_us

    def status_at(self, now_us: int) -> str:
        """Return the status the API shows at `now_us`."""
        if self.is_closed_at(now_us):
            return self.final_status
        return self.open_status


class DatasetPlanner:
    """Draws run plans from one seeded random generator.

    The same seed, clock anchor and call sequence always give the same plans, which
    is what makes the served bytes reproducible.
    """

    def __init__(self, seed: int, anchor_us: int, events_per_run: int | None) -> None:
        self.rng = random.Random(seed)
        self.anchor_us = anchor_us
        self.events_per_run = events_per_run
        self.plans: list[RunPlan] = []
        self.users = [f"user_{self.rng.getrandbits(32):08x}" for _ in range(12)]
        self._pending_event_factor: float | None = 1.0

    def plan_dataset(self, visible_runs: int) -> list[RunPlan]:
        """Plan `visible_runs` runs started before the anchor, plus about 5% that start after it."""
        visible = 0
        while visible < visible_runs:
            family = self._plan_family_in_past(visible_runs - visible, is_first=not self.plans and visible_runs > 1)
            visible += sum(1 for plan in family if plan.start_us <= self.anchor_us)

        for _ in range(visible_runs // 20):
            start_us = self.anchor_us + int(self.rng.uniform(1, 180) * US_PER_MINUTE)
            self._plan_single_from(start_us)

        return self.plans

    def plan_added_runs(self, count: int, now_us: int) -> list[RunPlan]:
        """Plan `count` new runs starting at `now_us`, each closing later with a drawn final status."""
        return [self._plan_single_from(truncate_to_ms(now_us)) for _ in range(count)]

    def _plan_family_in_past(self, remaining: int, is_first: bool) -> list[RunPlan]:
        """Plan one root run and what belongs to it (children or continue-as-new links)."""
        workflow = pick_root_workflow(self.rng)
        mode, age_us = self._draw_mode_and_age(is_first)
        start_us = truncate_to_ms(self.anchor_us - age_us)

        if workflow.continues_as_new:
            length = min(self.rng.choice((1, 1, 1, 2, 2, 3)), remaining)
            return self._plan_chain(workflow, start_us, mode, length)

        child_count = 0
        if workflow.spawns_children and mode != "stuck":
            child_count = min(self.rng.randint(2, 4), remaining - 1)
        return self._plan_chain(workflow, start_us, mode, 1, child_count)

    def _draw_mode_and_age(self, is_first: bool) -> tuple[str, int]:
        """Draw whether a family ends before the anchor ("final"), after it ("open") or never ("stuck")."""
        if is_first:
            return self._recent_mode(), int(self.rng.uniform(2, 8) * US_PER_MINUTE)

        draw = self.rng.random()
        if draw < 0.045:
            return self._recent_mode(), int(self.rng.uniform(1, 60) * US_PER_MINUTE)
        if draw < 0.06:
            return "stuck", int(self.rng.uniform(2, 12) * US_PER_HOUR)
        return "final", int(self.rng.uniform(10 * US_PER_MINUTE, HISTORY_SPAN_DAYS * 24 * US_PER_HOUR))

    def _recent_mode(self) -> str:
        return "open" if self.rng.random() < 0.55 else "final"

    def _plan_chain(self, workflow: WorkflowType, start_us: int, mode: str, length: int,
                    child_count: int = 0) -> list[RunPlan]:
        """Plan `length` runs of one execution linked by continue-as-new, where the last one gets `mode`."""
        targets = [self._draw_event_target(workflow) for _ in range(length)]
        durations_us = [self._draw_run_duration_us(workflow, target) for target in targets]
        gaps_us = [int(self.rng.uniform(5, 60) * US_PER_MS) for _ in range(length - 1)]
        self._fit_before_anchor(start_us, mode, durations_us, gaps_us)

        execution_id = self._new_uuid()
        family: list[RunPlan] = []
        link_start_us = start_us
        for position in range(length):
            is_last = position == length - 1
            plan = self._new_plan(workflow, execution_id, execution_id, None, None, link_start_us, targets[position])
            plan.first_run_id = family[0].run_id if family else plan.run_id

            if is_last:
                self._close_last_link(plan, mode, durations_us[position])
            else:
                plan.end_us = plan.last_event_us = truncate_to_ms(link_start_us + durations_us[position])
                plan.final_status = "CONTINUED_AS_NEW"
                link_start_us = plan.end_us + gaps_us[position] - gaps_us[position] % US_PER_MS

            if family:
                family[-1].next_run_id = plan.run_id
                plan.previous_run_id = family[-1].run_id
            family.append(plan)

        if child_count:
            family.extend(self._plan_children(family[-1], child_count))
        return family

    def _fit_before_anchor(self, start_us: int, mode: str, durations_us: list[int], gaps_us: list[int]) -> None:
        """Squeeze durations so that every link meant to be closed closes before the anchor."""
        age_us = self.anchor_us - start_us
        closed_links = len(durations_us) if mode == "final" else len(durations_us) - 1
        closed_total = sum(durations_us[:closed_links]) + sum(gaps_us)
        limit_us = (age_us - US_PER_S) * (1.0 if mode == "final" else 0.8)
        if closed_total <= limit_us or closed_total == 0:
            return

        factor = max(limit_us, US_PER_S) * self.rng.uniform(0.5, 0.95) / closed_total
        for position in range(closed_links):
            durations_us[position] = max(int(durations_us[position] * factor), 20 * US_PER_MS)
        for position in range(len(gaps_us)):
            gaps_us[position] = max(int(gaps_us[position] * factor), US_PER_MS)

    def _close_last_link(self, plan: RunPlan, mode: str, duration_us: int) -> None:
        """Set the closing of a family's last run: before the anchor, after it, or never."""
        if mode == "stuck":
            plan.end_us = None
            plan.final_status = None
            plan.open_status = "RUNNING" if self.rng.random() < 0.75 else "RETRYING_AFTER_ERROR"
            span_us = min(self.anchor_us - plan.start_us, 10 * US_PER_MINUTE) * self.rng.uniform(0.2, 0.5)
            plan.last_event_us = truncate_to_ms(plan.start_us + int(span_us))
            return

        if mode == "open":
            plan.end_us = truncate_to_ms(self.anchor_us + int(self.rng.uniform(0.5, 30) * US_PER_MINUTE))
            plan.open_status = "RETRYING_AFTER_ERROR" if self.rng.random() < 0.25 else "RUNNING"
        else:
            plan.end_us = truncate_to_ms(plan.start_us + duration_us)
        plan.last_event_us = plan.end_us
        plan.final_status = self._draw_final_status()

    def _plan_children(self, parent: RunPlan, count: int) -> list[RunPlan]:
        """Plan child runs inside the parent's window and record them on the parent."""
        workflow = WORKFLOW_BY_NAME["embed-batch"]
        window_us = parent.end_us - parent.start_us
        children: list[RunPlan] = []
        for position in range(count):
            start_us = truncate_to_ms(parent.start_us + int(window_us * (0.10 + 0.02 * position)))
            end_share = 0.30 + 0.55 * (position + 1) / (count + 0.5) + self.rng.uniform(-0.02, 0.02)
            end_us = truncate_to_ms(parent.start_us + int(window_us * end_share))

            child = self._new_plan(workflow, self._new_uuid(), parent.root_execution_id, parent.execution_id,
                                   parent.run_id, start_us, self._draw_event_target(workflow))
            child.end_us = child.last_event_us = max(end_us, start_us + US_PER_MS)
            child.final_status = "COMPLETED"
            child.deployment_name = parent.deployment_name
            child.user_id = parent.user_id
            children.append(child)

        parent.children = tuple(
            ChildLink(child.run_id, child.execution_id, child.workflow_name, child.start_us, child.end_us,
                      child.history_seed)
            for child in children
        )
        return children

    def _plan_single_from(self, start_us: int) -> RunPlan:
        """Plan one root run that starts at `start_us` and closes after its drawn duration."""
        workflow = pick_root_workflow(self.rng)
        execution_id = self._new_uuid()
        target = self._draw_event_target(workflow)
        plan = self._new_plan(workflow, execution_id, execution_id, None, None, start_us, target)
        plan.end_us = plan.last_event_us = truncate_to_ms(start_us + self._draw_run_duration_us(workflow, target))
        plan.final_status = self._draw_final_status()
        return plan

    def _new_plan(self, workflow: WorkflowType, execution_id: str, root_execution_id: str,
                  parent_execution_id: str | None, parent_run_id: str | None, start_us: int,
                  event_target: int) -> RunPlan:
        """Create a plan with its identity drawn. The caller sets how it closes."""
        run_id = self._new_uuid()
        plan = RunPlan(
            index=len(self.plans),
            run_id=run_id,
            execution_id=execution_id,
            workflow_name=workflow.name,
            workflow_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"mistral-workflows/{workflow.name}")),
            root_execution_id=root_execution_id,
            parent_execution_id=parent_execution_id,
            parent_run_id=parent_run_id,
            deployment_name=self.rng.choice(DEPLOYMENTS),
            user_id=self.rng.choice(self.users),
            start_us=start_us,
            end_us=None,
            final_status=None,
            open_status="RUNNING",
            last_event_us=start_us,
            event_target=event_target,
            history_seed=self.rng.getrandbits(64),
            search_keys=search_keys_for(self.rng, workflow.name),
            first_run_id=run_id,
        )
        self.plans.append(plan)
        return plan

    def _draw_event_target(self, workflow: WorkflowType) -> int:
        """Draw how many events a run's full history has.

        With `events_per_run` set, the factors come in pairs (f, 2 - f) after a first
        factor of 1, so the mean stays at the target and a single run gets it exactly.
        """
        if self.events_per_run is None:
            return self.rng.randint(*workflow.events_range)

        if self._pending_event_factor is not None:
            factor, self._pending_event_factor = self._pending_event_factor, None
        else:
            factor = self.rng.uniform(0.6, 1.4)
            self._pending_event_factor = 2.0 - factor
        return max(5, round(self.events_per_run * factor))

    def _draw_run_duration_us(self, workflow: WorkflowType, event_target: int) -> int:
        """Draw a run's duration, where longer histories take proportionally longer."""
        typical_events = sum(workflow.events_range) / 2
        median_ms = workflow.duration_median_s * 1000 * max(event_target / typical_events, 0.3)
        return max(int(draw_duration_ms(self.rng, median_ms, 0.7) * US_PER_MS), US_PER_S)

    def _draw_final_status(self) -> str:
        statuses = list(FINAL_STATUS_WEIGHTS)
        return self.rng.choices(statuses, weights=list(FINAL_STATUS_WEIGHTS.values()))[0]

    def _new_uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
