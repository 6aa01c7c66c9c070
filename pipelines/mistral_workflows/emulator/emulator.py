"""The `Emulator`: the Mistral Workflows runs API on 127.0.0.1, with a clock and controls for tests.

Typical use in a test:

    with Emulator(api_key="test-key", runs=50, now=datetime(2025, 10, 1, tzinfo=timezone.utc)) as emu:
        sync(emu.url, "test-key")
        emu.advance(600)          # runs planned to end in the next ten minutes finish
        emu.faults.inject("503", count=2)
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

from mistral_workflows.emulator.dataset import DatasetPlanner
from mistral_workflows.emulator.faults import FaultInjector
from mistral_workflows.emulator.history_files import load_history_folder
from mistral_workflows.emulator.listing import sort_key_by_start
from mistral_workflows.emulator.records import FixedRun, HistoryCache, SyntheticRun
from mistral_workflows.emulator.server import EmulatorHTTPServer, RequestCounter
from mistral_workflows.emulator.timeutil import datetime_to_us, truncate_to_ms, us_to_datetime

logger = logging.getLogger(__name__)

FINISH_STATUSES = ("COMPLETED", "FAILED", "CANCELED", "TERMINATED", "TIMED_OUT")


class RunNotFoundError(KeyError):
    """No served run has this path id."""


class RunNotOpenError(ValueError):
    """The run is closed at the current clock time, or is not a synthetic run, so it cannot change."""


class Clock:
    """The emulator's clock, in epoch microseconds with millisecond resolution.

    A fixed clock only moves with `advance`; otherwise it follows real time from the
    moment the emulator was created, plus every `advance`.
    """

    def __init__(self, now: datetime | None) -> None:
        self.is_fixed = now is not None
        if now is None:
            self.anchor_us = truncate_to_ms(time.time_ns() // 1000)
        else:
            self.anchor_us = truncate_to_ms(datetime_to_us(now))
        self._started = time.monotonic()
        self._advanced_us = 0

    def now_us(self) -> int:
        now_us = self.anchor_us + self._advanced_us
        if not self.is_fixed:
            now_us += int((time.monotonic() - self._started) * 1_000_000)
        return truncate_to_ms(now_us)

    def advance(self, seconds: float) -> None:
        self._advanced_us += int(round(seconds * 1_000_000))


class Emulator:
    """An HTTP server that behaves like the Workflows runs API, over synthetic runs or history files.

    `runs` is the number of runs visible at the starting clock time. About 5% more
    start later and appear as the clock moves, and `add_runs` creates new ones.
    """

    def __init__(
        self,
        api_key: str | None = "test-key",
        runs: int = 300,
        seed: int = 7,
        now: datetime | None = None,
        events_per_run: int | None = None,
        histories_dir: Path | str | None = None,
        latency_ms: float = 0.0,
        legacy_api: bool = False,
        port: int = 0,
    ) -> None:
        _check_arguments(runs, events_per_run, latency_ms, port)
        self.api_key = api_key
        self.seed = seed
        self.events_per_run = events_per_run
        self.latency_ms = float(latency_ms)
        self.legacy_api = legacy_api
        self.port = port

        self.faults = FaultInjector()
        self.counter = RequestCounter()
        self.stopping = threading.Event()
        self._clock = Clock(now)
        self._lock = threading.RLock()
        self._cache = HistoryCache()
        self._runs: dict[str, SyntheticRun | FixedRun] = {}
        self._runs_by_start: list | None = None
        self._planner: DatasetPlanner | None = None
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

        if histories_dir is not None:
            for run in load_history_folder(Path(histories_dir)):
                self._runs[run.path_id] = run
            self._runs_by_start = None
        else:
            self._register_plans(self._get_planner().plan_dataset(runs))

    # Server lifecycle.

    @property
    def url(self) -> str | None:
        """Base URL while the server is started, else None."""
        if self._server is None:
            return None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> str:
        """Start serving in a background thread and return the base URL."""
        if self._server is not None:
            return self.url

        self._bind()
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="mistral-workflows-emulator", daemon=True)
        self._thread.start()
        return self.url

    def serve_forever(self) -> None:
        """Serve until Ctrl-C or a `stop` from another thread, blocking the calling thread, then stop.

        The server thread is started first when needed, so a caller can read `url` after
        `start()` and then block here.
        """
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(timeout=0.5)
        except KeyboardInterrupt:
            logger.info("interrupted, stopping the emulator")
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop serving and release the port. Requests sleeping in a `slow` fault end at once."""
        server, self._server = self._server, None
        if server is None:
            return

        self.stopping.set()
        server.shutdown()
        server.close_connections()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._thread = None
        server.server_close()
        logger.info("emulator stopped")

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _bind(self) -> None:
        self.stopping.clear()
        self._server = EmulatorHTTPServer(self.port, self)
        visible = len(self.run_ids())
        logger.info(
            "emulator serving %d runs at %s (%d more start as its clock advances)",
            visible, self.url, len(self._runs) - visible,
        )

    # Clock and data controls.

    def now(self) -> datetime:
        """Return the emulator clock as an aware UTC datetime."""
        return us_to_datetime(self._clock.now_us())

    def now_us(self) -> int:
        """Return the emulator clock in epoch microseconds."""
        return self._clock.now_us()

    def advance(self, seconds: float) -> None:
        """Move the clock forward: due runs start, open runs gain events, runs whose end is past close."""
        if seconds < 0:
            raise ValueError(f"the clock only moves forward; got seconds={seconds}")
        with self._lock:
            self._clock.advance(seconds)
        logger.info("clock advanced by %ss to %s", seconds, self.now().isoformat())

    def add_runs(self, count: int) -> list[str]:
        """Create `count` runs starting now, each planned to close later, and return their run ids."""
        if count < 0:
            raise ValueError(f"count must not be negative, got {count}")
        with self._lock:
            plans = self._get_planner().plan_added_runs(count, self.now_us())
            self._register_plans(plans)
        return [plan.run_id for plan in plans]

    def append_events(self, run_id: str, count: int) -> None:
        """Add `count` activity events (scheduled, started, completed, repeated) to an open run at the clock time."""
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count}")
        with self._lock:
            plan = self._open_plan(run_id)
            plan.appended.append((self.now_us(), count))
            plan.version += 1

    def finish_run(self, run_id: str, status: str = "COMPLETED") -> None:
        """Close an open run now with `status`: its closing event appears and list fields change.

        NOTE: a parent's history keeps the child's planned completion time, so finishing
        a child run early leaves its parent's CHILD_WORKFLOW_EXECUTION_COMPLETED where planned.
        """
        if status not in FINISH_STATUSES:
            raise ValueError(f"cannot finish a run with status {status!r}; expected one of {', '.join(FINISH_STATUSES)}")
        with self._lock:
            plan = self._open_plan(run_id)
            if plan.planned_close is None:
                plan.planned_close = (plan.end_us, plan.final_status, plan.last_event_us)
            now_us = self.now_us()
            plan.end_us = plan.last_event_us = now_us
            plan.final_status = status
            plan.version += 1

    def put_run(self, run: dict, history: dict | list) -> None:
        """Insert or replace a run served exactly as given: detail fields and history in any spelling.

        Its path id is its `run_id`, or its `execution_id` when `run_id` is missing.
        """
        if not isinstance(run, dict) or not (run.get("run_id") or run.get("execution_id")):
            raise ValueError("run must be a dict with a run_id or an execution_id")
        if not isinstance(history, (dict, list)):
            raise ValueError(f"history must be a dict or a list, got {type(history).__name__}")
        record = FixedRun(dict(run), history_value=history)
        with self._lock:
            self._runs[record.path_id] = record
            self._runs_by_start = None

    def run_ids(self) -> list[str]:
        """Return the path ids of the runs visible now, newest start first (the list endpoint's default order)."""
        now_us = self.now_us()
        return [run.path_id for run in reversed(self.runs_by_start()) if run.is_visible(now_us)]

    @property
    def requests(self) -> dict[str, int]:
        """Request counts since the last reset, by endpoint.

        "list", "detail" and "history" count authorized API requests, faulted ones included.
        "unauthorized", "admin" and "other" (unknown paths) are counted apart from them.
        """
        return self.counter.snapshot()

    def reset_requests(self) -> None:
        """Set every request count back to zero."""
        self.counter.reset()

    # Lookups used by the request handlers.

    def runs_by_start(self) -> list:
        """Return every run sorted by (start time, path id), rebuilt only after runs are added or replaced."""
        with self._lock:
            if self._runs_by_start is None:
                self._runs_by_start = sorted(self._runs.values(), key=sort_key_by_start)
            return self._runs_by_start

    def find_run(self, path_id: str):
        """Return the run with this path id (any UUID spelling), or None."""
        run = self._runs.get(path_id)
        if run is None:
            try:
                run = self._runs.get(str(uuid.UUID(path_id)))
            except ValueError:
                return None
        return run

    def _open_plan(self, run_id: str):
        run = self.find_run(run_id)
        if run is None:
            raise RunNotFoundError(f"no run with id {run_id}")
        if not isinstance(run, SyntheticRun):
            raise RunNotOpenError(f"run {run_id} comes from a file or put_run, so its history cannot change")
        if run.plan.is_closed_at(self.now_us()) or not run.is_visible(self.now_us()):
            raise RunNotOpenError(f"run {run_id} is not open at {self.now().isoformat()} (status {run.status(self.now_us())})")
        return run.plan

    def _get_planner(self) -> DatasetPlanner:
        if self._planner is None:
            self._planner = DatasetPlanner(self.seed, self._clock.anchor_us, self.events_per_run)
        return self._planner

    def _register_plans(self, plans) -> None:
        for plan in plans:
            self._runs[plan.run_id] = SyntheticRun(plan, self._cache, self._lock)
        self._runs_by_start = None


def _check_arguments(runs: int, events_per_run: int | None, latency_ms: float, port: int) -> None:
    if runs < 0:
        raise ValueError(f"runs must not be negative, got {runs}")
    if events_per_run is not None and events_per_run < 5:
        raise ValueError(f"events_per_run must be at least 5 (the smallest complete history), got {events_per_run}")
    if latency_ms < 0:
        raise ValueError(f"latency_ms must not be negative, got {latency_ms}")
    if not 0 <= port <= 65535:
        raise ValueError(f"port must be within 0..65535, got {port}")
