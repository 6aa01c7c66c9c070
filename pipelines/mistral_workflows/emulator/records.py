"""Served runs: one interface over synthetic plans, history files and runs put by a test.

The listing and the HTTP handlers only talk to these classes. A synthetic run shows
its plan cut at the clock. A fixed run (a history file or `put_run`) shows the same
thing at every clock time.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict

import orjson

from mistral_workflows.emulator.dataset import RunPlan
from mistral_workflows.emulator.history_parts import EventSpec
from mistral_workflows.emulator.history_render import decode_payloads_in, render_history
from mistral_workflows.emulator.timeline import build_history, planned_result
from mistral_workflows.emulator.timeutil import US_PER_MS, format_run_time, parse_iso_us

DETAIL_ONLY_FIELDS = ("result", "search_keys")
LIST_FIELDS = (
    "workflow_name", "execution_id", "parent_execution_id", "root_execution_id", "status",
    "start_time", "end_time", "total_duration_ms", "workflow_id", "deployment_name", "run_id", "user_id",
)


class HistoryCache:
    """An LRU of built synthetic histories, so fetching one long history again skips the build.

    Bounded by the total number of cached events (a built event takes about 800 bytes,
    measured with tracemalloc), so memory stays flat however many runs are served.
    The newest entry is kept even when it alone exceeds the bound.
    """

    def __init__(self, max_events: int = 120_000) -> None:
        self.max_events = max_events
        self._entries: OrderedDict[tuple[str, int], list[EventSpec]] = OrderedDict()
        self._event_count = 0
        self._lock = threading.Lock()

    def get_or_build(self, plan: RunPlan) -> list[EventSpec]:
        """Return the plan's built history, building it outside the lock on a miss."""
        key = (plan.run_id, plan.version)
        with self._lock:
            events = self._entries.get(key)
            if events is not None:
                self._entries.move_to_end(key)
                return events

        events = build_history(plan)
        with self._lock:
            if key not in self._entries:
                self._entries[key] = events
                self._event_count += len(events)
            while self._event_count > self.max_events and len(self._entries) > 1:
                _, evicted = self._entries.popitem(last=False)
                self._event_count -= len(evicted)
        return events


class SyntheticRun:
    """A run drawn by the planner, served as its plan cut at the clock."""

    def __init__(self, plan: RunPlan, cache: HistoryCache, lock: threading.RLock) -> None:
        self.plan = plan
        self.path_id = plan.run_id
        self._cache = cache
        self._lock = lock

    def is_visible(self, now_us: int) -> bool:
        return self.plan.start_us <= now_us

    def start_us(self, now_us: int) -> int | None:
        return self.plan.start_us

    def end_us(self, now_us: int) -> int | None:
        return self.plan.end_us if self.plan.is_closed_at(now_us) else None

    def status(self, now_us: int) -> str | None:
        return self.plan.status_at(now_us)

    def value(self, name: str) -> object:
        """Return one identity field (workflow_name, user_id, ...) for filtering."""
        return getattr(self.plan, name)

    def list_item(self, now_us: int) -> dict:
        plan = self.plan
        is_closed = plan.is_closed_at(now_us)
        return {
            "workflow_name": plan.workflow_name,
            "execution_id": plan.execution_id,
            "parent_execution_id": plan.parent_execution_id,
            "root_execution_id": plan.root_execution_id,
            "status": plan.status_at(now_us),
            "start_time": format_run_time(plan.start_us),
            "end_time": format_run_time(plan.end_us) if is_closed else None,
            "total_duration_ms": (plan.end_us - plan.start_us) // US_PER_MS if is_closed else None,
            "workflow_id": plan.workflow_id,
            "deployment_name": plan.deployment_name,
            "run_id": plan.run_id,
            "user_id": plan.user_id,
        }

    def detail(self, now_us: int) -> dict:
        item = self.list_item(now_us)
        is_completed = item["status"] == "COMPLETED"
        item["result"] = planned_result(self.plan.workflow_name, self.plan.history_seed) if is_completed else None
        item["search_keys"] = self.plan.search_keys
        return item

    def search_keys(self) -> dict | None:
        return self.plan.search_keys

    def history(self, now_us: int, decode_payloads: bool) -> bytes:
        with self._lock:
            snapshot = copy.copy(self.plan)
            snapshot.appended = list(self.plan.appended)
        events = self._cache.get_or_build(snapshot)
        return render_history(events, now_us, decode_payloads)


class FixedRun:
    """A run served the same at every clock time: from a history file or put verbatim by a test.

    `detail` is served as given; list items are the detail without `result` and
    `search_keys`. Times that do not parse make the run drop out of time filters and
    sort last, instead of failing the listing.
    """

    def __init__(self, detail: dict, history_body: bytes | None = None, history_path=None,
                 history_value: object = None) -> None:
        self._detail = detail
        self._history_body = history_body
        self._history_path = history_path
        self._history_value = history_value
        self.path_id = _path_id_of(detail)
        self._start_us = _parse_time(detail.get("start_time"))
        self._end_us = _parse_time(detail.get("end_time"))

    def is_visible(self, now_us: int) -> bool:
        return True

    def start_us(self, now_us: int) -> int | None:
        return self._start_us

    def end_us(self, now_us: int) -> int | None:
        return self._end_us

    def status(self, now_us: int) -> str | None:
        return self._detail.get("status")

    def value(self, name: str) -> object:
        return self._detail.get(name)

    def search_keys(self) -> dict | None:
        keys = self._detail.get("search_keys")
        return keys if isinstance(keys, dict) else None

    def list_item(self, now_us: int) -> dict:
        return {key: value for key, value in self._detail.items() if key not in DETAIL_ONLY_FIELDS}

    def detail(self, now_us: int) -> dict:
        return self._detail

    def history(self, now_us: int, decode_payloads: bool) -> bytes:
        body = self._raw_history()
        if not decode_payloads:
            return body
        return orjson.dumps(decode_payloads_in(orjson.loads(body)))

    def _raw_history(self) -> bytes:
        if self._history_path is not None:
            return self._history_path.read_bytes()
        if self._history_body is None:
            self._history_body = orjson.dumps(self._history_value)
        return self._history_body


def _path_id_of(detail: dict) -> str:
    """Return the id a client puts in the path: run_id when present, else execution_id."""
    run_id = detail.get("run_id")
    if run_id:
        return str(run_id)
    return str(detail.get("execution_id"))


def _parse_time(value: object) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_iso_us(value)
    except ValueError:
        return None
