"""One sync: finish what a killed sync left, extract and load, then views and sync_log.

The caller (the CLI) holds the database lock. Order matters for crash safety: dlt's
`pipeline.run()` loads a package left by a killed sync and then returns without
extracting anything new, so leftovers are loaded first, in their own step, and the
extract always starts from a clean pipeline.
"""

from __future__ import annotations

import gc
import logging
import os
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone

os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"  # before dlt reads its config: cron runs outside the repo
# dlt warns on every batch that the declared json type overrides Arrow's string type,
# which is intended here; its errors still show.
os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")

import dlt  # noqa: E402
import duckdb  # noqa: E402
from dlt.pipeline.exceptions import PipelineStepFailed  # noqa: E402

from .client import RetryPolicy, WorkflowsClient  # noqa: E402
from .database import MEMORY_LIMIT, open_for_write, wait_until_writable, write_sync_log  # noqa: E402
from .errors import DatabaseBusy, SyncError  # noqa: E402
from .settings import SyncOptions  # noqa: E402
from .source import CHUNK_RUNS, SyncCounts, SyncProgress, mistral_workflows  # noqa: E402
from .views import create_views  # noqa: E402

logger = logging.getLogger(__name__)



@dataclass
class SyncSummary:
    """The figures of one finished sync."""

    started_at: datetime
    duration_s: float
    counts: SyncCounts
    requests: dict
    retries: int
    leftover_packages: int

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    def line(self) -> str:
        counts = self.counts
        by_endpoint = ", ".join(f"{name} {self.requests.get(name, 0)}" for name in ("list", "detail", "history"))
        return (
            f"Sync finished in {self.duration_s:.1f} s: {counts.listed} runs listed, {counts.new_runs} new, "
            f"{counts.changed_runs} changed, {counts.unchanged_runs} unchanged, {counts.missing_runs} skipped; "
            f"{counts.events} events added; {self.total_requests} requests ({by_endpoint}), "
            f"{self.retries} retries; {counts.open_after} runs still open"
        )

    def as_dict(self) -> dict:
        return {
            "started_at": self.started_at.isoformat(),
            "duration_s": round(self.duration_s, 3),
            "runs_listed": self.counts.listed,
            "runs_new": self.counts.new_runs,
            "runs_changed": self.counts.changed_runs,
            "runs_unchanged": self.counts.unchanged_runs,
            "runs_skipped": self.counts.missing_runs,
            "events_added": self.counts.events,
            "runs_open": self.counts.open_after,
            "requests": dict(self.requests),
            "retries": self.retries,
        }


def run_sync(options: SyncOptions, *, wait_s: float = 0.0) -> SyncSummary:
    """Bring the DuckDB file up to date with the API; raise SyncError on expected failures."""
    options.validate()
    # Everything imported so far lives as long as the process: moving it out of the
    # garbage collector's sight keeps each collection proportional to the sync's own
    # rows, not to the whole of dlt, pyarrow and DuckDB.
    gc.freeze()
    started_at = datetime.now(timezone.utc)
    clock = time.monotonic()
    options.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    wait_until_writable(options.duckdb_path, wait_s)

    pipeline = _pipeline(options)
    leftovers = _load_leftovers(pipeline)
    counts = SyncCounts()
    deadline = time.monotonic() + wait_s
    progress = SyncProgress(synced_at=started_at, show_progress=options.show_progress)
    with _client(options) as client:
        while not progress.finished:
            source = mistral_workflows(client, options, counts, progress, CHUNK_RUNS)
            _extract(pipeline, source, refresh=options.full_refresh and progress.plan is None)
            _load_waiting(pipeline, options, deadline)
        requests = {endpoint: client.requests.get(endpoint, 0) for endpoint in ("list", "detail", "history")}
        retries = client.retries

    summary = SyncSummary(started_at, time.monotonic() - clock, counts, requests, retries, leftovers)
    wait_until_writable(options.duckdb_path, max(0.0, deadline - time.monotonic()))
    _after_load(options, summary)
    _delete_loaded_packages(options)
    return summary


def _delete_loaded_packages(options: SyncOptions) -> None:
    """Delete dlt's archive of packages already loaded, which would grow with every sync.

    Only `load/loaded` is touched: packages still to be loaded live elsewhere.
    """
    loaded = options.pipelines_dir / options.pipeline_name / "load" / "loaded"
    if loaded.is_dir():
        for package in loaded.iterdir():
            shutil.rmtree(package, ignore_errors=True)


def _pipeline(options: SyncOptions) -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name=options.pipeline_name,
        pipelines_dir=str(options.pipelines_dir),
        destination=dlt.destinations.duckdb(
            {"database": str(options.duckdb_path), "global_config": {"memory_limit": MEMORY_LIMIT}}
        ),
        dataset_name=options.dataset,
        progress=None,
    )


def _client(options: SyncOptions) -> WorkflowsClient:
    retry = RetryPolicy(
        max_attempts=options.max_attempts,
        initial_backoff_s=options.initial_backoff_s,
        max_backoff_s=options.max_backoff_s,
    )
    return WorkflowsClient(
        options.base_url,
        options.api_key,
        timeout_s=options.timeout_s,
        retry=retry,
        concurrency=options.concurrency,
    )


def _load_leftovers(pipeline: dlt.Pipeline) -> int:
    """Normalise and load packages a killed sync left behind; return how many were loaded."""
    if not pipeline.has_pending_data:
        return 0
    logger.info("Loading data left by an interrupted sync first")
    with _unwrapped_errors():
        pipeline.normalize()
        info = pipeline.load()
    count = len(info.loads_ids) if info else 0
    logger.info("Loaded %d leftover package(s)", count)
    return count


def _extract(pipeline: dlt.Pipeline, source, *, refresh: bool) -> None:
    with _unwrapped_errors():
        logger.debug("Phase: extract")
        pipeline.extract(source, refresh="drop_sources" if refresh else None)
        logger.debug("Phase: normalize")
        pipeline.normalize()


def _load_waiting(pipeline: dlt.Pipeline, options: SyncOptions, deadline: float) -> None:
    """Load the normalised package, waiting until `deadline` while a reader has the file open.

    A reader can open the file after the first check, while the sync was fetching.
    The package stays on disk until it is loaded, so the load is simply tried again.
    """
    while True:
        try:
            with _unwrapped_errors():
                logger.debug("Phase: load")
                pipeline.load()
                logger.debug("Phase: loaded")
                return
        except DatabaseBusy:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise
            wait_until_writable(options.duckdb_path, remaining)


def _after_load(options: SyncOptions, summary: SyncSummary) -> None:
    connection = open_for_write(options.duckdb_path)
    try:
        views = create_views(connection, options.dataset)
        write_sync_log(connection, options.dataset, summary)
    finally:
        connection.close()
    logger.debug("Created views: %s", ", ".join(views))


class _unwrapped_errors:
    """Turn dlt's PipelineStepFailed back into our SyncError, or a clear DatabaseBusy."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, error, traceback) -> bool:
        if error is None or not isinstance(error, PipelineStepFailed):
            return False
        cause = _root_cause(error)
        if isinstance(cause, KeyboardInterrupt):
            raise cause from None
        if isinstance(cause, SyncError):
            raise cause from None
        if isinstance(cause, duckdb.IOException) and "lock" in str(cause).lower():
            raise DatabaseBusy(f"The database file is in use by another process: {cause}") from None
        return False


def _root_cause(error: BaseException) -> BaseException:
    seen = set()
    while id(error) not in seen:
        seen.add(id(error))
        nested = getattr(error, "exception", None) or error.__cause__ or error.__context__
        if nested is None:
            return error
        if isinstance(nested, SyncError):
            return nested
        error = nested
    return error
