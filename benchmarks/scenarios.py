"""One benchmark scenario: an emulator, the contenders run one after another against it, and the row check.

Every contender runs in its own process against the same emulator, which keeps a
fixed clock, so all of them see exactly the same runs and histories. The
emulator's request counter is reset before each contender and read after it.
"""

from __future__ import annotations

import logging
import math
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from emulator_process import API_ENDPOINTS, API_KEY, EmulatorProcess
from measure import run_measured, tail
from row_checks import RowCheck, compare_rows, count_events, ours_tables, plain_tables, rest_api_tables

from mistral_workflows.settings import DEFAULT_LOOKBACK, DEFAULT_PAGE_SIZE

logger = logging.getLogger(__name__)

BENCH_DIR = Path(__file__).resolve().parent
FIXED_NOW = "2025-10-01T12:00:00Z"
SUMMARY_DURATION = re.compile(r"Sync finished in ([0-9.]+) s")

OURS_FULL = "ours: full sync"
OURS_NO_CHANGE = "ours: sync with nothing new"
REST_API = "dlt rest_api source"
PLAIN = "plain sequential script"
FLOOR = "floor (computed)"


@dataclass(frozen=True)
class ScenarioSpec:
    """Sizes of one scenario's emulator and the contenders that run against it."""

    key: str
    title: str
    runs: int
    events_per_run: int
    latency_ms: float
    run_baselines: bool = True
    run_no_change: bool = True


@dataclass
class ContenderResult:
    """One row of a scenario table. None marks a figure that does not apply, such as the floor's CPU time."""

    contender: str
    wall_s: float
    cpu_s: float | None = None
    requests: int | None = None
    requests_by_endpoint: dict = field(default_factory=dict)
    events: int | None = None
    peak_rss_mb: float | None = None
    exit_code: int = 0
    note: str = ""

    @property
    def events_per_wall_s(self) -> float | None:
        if self.events is None or not self.wall_s:
            return None
        return self.events / self.wall_s

    @property
    def events_per_cpu_s(self) -> float | None:
        if self.events is None or not self.cpu_s:
            return None
        return self.events / self.cpu_s


@dataclass
class NoChangeCheck:
    """Expected and sent requests of a sync with nothing new: list pages plus one history request per open run."""

    expected_list_pages: int
    open_runs: int
    requests_by_endpoint: dict
    wall_s: float
    sync_reported_s: float | None

    @property
    def expected_requests(self) -> dict:
        return {"list": self.expected_list_pages, "detail": 0, "history": self.open_runs}

    @property
    def requests_as_expected(self) -> bool:
        return all(self.requests_by_endpoint.get(name, 0) == count for name, count in self.expected_requests.items())


@dataclass
class ScenarioResult:
    spec: ScenarioSpec
    rows: list[ContenderResult] = field(default_factory=list)
    row_check: RowCheck | None = None
    no_change: NoChangeCheck | None = None
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def row(self, contender: str) -> ContenderResult | None:
        return next((row for row in self.rows if row.contender == contender), None)


class ScenarioRunner:
    """Runs the contenders of one scenario in `work_dir/<key>/` and collects their rows."""

    def __init__(self, spec: ScenarioSpec, work_dir: Path, concurrency: int, timeout_s: float) -> None:
        self.spec = spec
        self.directory = work_dir / spec.key
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.result = ScenarioResult(spec)
        self.ours_path = self.directory / "ours.duckdb"
        self.rest_api_path = self.directory / "rest_api.duckdb"
        self.plain_path = self.directory / "plain.duckdb"

    def run(self) -> ScenarioResult:
        """Start the emulator, run every contender, compute the floor and compare the loaded rows."""
        spec = self.spec
        self.directory.mkdir(parents=True, exist_ok=True)
        logger.info("Scenario %s: %d runs x %d events, %g ms latency", spec.key, spec.runs, spec.events_per_run,
                    spec.latency_ms)

        emulator = EmulatorProcess(spec.runs, spec.events_per_run, spec.latency_ms, FIXED_NOW,
                                   self.directory / "emulator.log")
        with emulator:
            self._run_ours(emulator)
            if spec.run_baselines:
                self._run_baselines(emulator)

        self._add_floor()
        if spec.run_baselines and not self.result.failures:
            self.result.row_check = compare_rows(
                ours_tables(self.ours_path),
                [rest_api_tables(self.rest_api_path), plain_tables(self.plain_path)],
            )
        return self.result

    def _run_ours(self, emulator: EmulatorProcess) -> None:
        full = self._measure(emulator, OURS_FULL, self._ours_command(emulator.url), "ours_full.log")
        if full.exit_code != 0:
            return
        full.events = count_events(ours_tables(self.ours_path))
        if not self.spec.run_no_change:
            return

        no_change = self._measure(emulator, OURS_NO_CHANGE, self._ours_command(emulator.url), "ours_no_change.log")
        if no_change.exit_code != 0:
            return
        no_change.events = count_events(ours_tables(self.ours_path)) - full.events
        self.result.no_change = self._no_change_check(no_change)

    def _run_baselines(self, emulator: EmulatorProcess) -> None:
        for contender, script, path in ((REST_API, "contender_rest_api.py", self.rest_api_path),
                                        (PLAIN, "contender_plain.py", self.plain_path)):
            command = [sys.executable, str(BENCH_DIR / script), "--base-url", emulator.url, "--duckdb", str(path)]
            row = self._measure(emulator, contender, command, f"{path.stem}.log")
            if row.exit_code != 0:
                continue
            tables = rest_api_tables(path) if contender == REST_API else plain_tables(path)
            row.events = count_events(tables)

    def _measure(self, emulator: EmulatorProcess, contender: str, command: list[str],
                 log_name: str) -> ContenderResult:
        """Run one contender with a freshly reset request counter and add its row."""
        log_path = self.directory / log_name
        emulator.reset_requests()
        logger.info("Running %s", contender)
        usage = run_measured(command, _contender_environment(), self.directory, log_path, self.timeout_s)
        requests = emulator.requests()

        row = ContenderResult(
            contender=contender,
            wall_s=usage.wall_s,
            cpu_s=usage.cpu_s,
            requests=sum(requests[name] for name in API_ENDPOINTS),
            requests_by_endpoint=requests,
            peak_rss_mb=usage.peak_rss_mb,
            exit_code=usage.exit_code,
        )
        self.result.rows.append(row)
        logger.info("%s: %.1f s wall, %.1f s CPU, %d requests, exit code %d", contender, usage.wall_s, usage.cpu_s,
                    row.requests, usage.exit_code)

        if usage.exit_code != 0:
            reason = f"timed out after {self.timeout_s:.0f} s" if usage.timed_out else f"exit code {usage.exit_code}"
            row.note = f"failed: {reason}"
            self.result.failures.append(
                f"{self.spec.key}: {contender} failed ({reason}); last lines of {log_path}:\n{tail(log_path)}"
            )
        return row

    def _ours_command(self, base_url: str) -> list[str]:
        return [
            sys.executable, "-m", "mistral_workflows.cli", "sync",
            "--base-url", base_url,
            "--duckdb", str(self.ours_path),
            "--concurrency", str(self.concurrency),
        ]

    def _no_change_check(self, row: ContenderResult) -> NoChangeCheck:
        open_runs, window_runs = _open_and_recent_runs(self.ours_path)
        log_text = (self.directory / "ours_no_change.log").read_text(errors="replace")
        reported = SUMMARY_DURATION.search(log_text)
        if reported:
            row.note = f"the sync's own timer: {float(reported.group(1)):.1f} s"

        return NoChangeCheck(
            expected_list_pages=max(1, math.ceil(window_runs / DEFAULT_PAGE_SIZE)),
            open_runs=open_runs,
            requests_by_endpoint=row.requests_by_endpoint,
            wall_s=row.wall_s,
            sync_reported_s=float(reported.group(1)) if reported else None,
        )

    def _add_floor(self) -> None:
        """Add the floor: the full sync's requests at the emulator's latency, `concurrency` at a time."""
        full = self.result.row(OURS_FULL)
        if full is None or full.exit_code != 0:
            return
        floor_s = full.requests * self.spec.latency_ms / 1000 / self.concurrency
        self.result.rows.append(ContenderResult(
            contender=FLOOR,
            wall_s=floor_s,
            requests=full.requests,
            events=full.events,
            note=f"{full.requests} requests x {self.spec.latency_ms:g} ms / {self.concurrency}",
        ))


def _open_and_recent_runs(ours_path: Path) -> tuple[int, int]:
    """Count the runs still open in our file, and the runs a no-change sync lists again.

    A run is open while the API gives it no `end_time`. The no-change sync lists the
    runs started at most the lookback before the newest start time it loaded.
    """
    lookback_minutes = DEFAULT_LOOKBACK.total_seconds() / 60
    connection = duckdb.connect(str(ours_path), read_only=True)
    try:
        open_runs = connection.execute(
            "select count(*) from mistral_workflows.runs where end_time is null"
        ).fetchall()[0][0]
        window_runs = connection.execute(
            "select count(*) from mistral_workflows.runs where start_time >= "
            f"(select max(start_time) from mistral_workflows.runs) - interval {lookback_minutes:g} minute"
        ).fetchall()[0][0]
    finally:
        connection.close()
    return int(open_runs), int(window_runs)


def _contender_environment() -> dict[str, str]:
    environment = dict(os.environ)
    environment["MISTRAL_API_KEY"] = API_KEY
    environment["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    environment.pop("MISTRAL_API_BASE_URL", None)
    return environment
