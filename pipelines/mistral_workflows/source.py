"""The dlt source `mistral_workflows`: tables `runs` and `run_events`.

One hidden resource, `run_updates`, lists the runs, plans what changed since the
last sync (see change_capture) and fetches details and histories concurrently. It
yields batches holding both tables' rows, which two transformers turn into Arrow
tables: dlt evaluates the shared parent once and feeds both. Arrow batches load
more than ten times faster than dlt's row-by-row path, and declaring the columns
keeps dlt from inferring types.

Grain:
- `runs`: one row per run, merged on `run_id` (the API's run id, or the
  execution id where the API gives no run id).
- `run_events`: one row per history event, merged on (`run_id`, `event_id`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone

import dlt

from .change_capture import ChangeState, SyncPlan, listing_window_start, plan_listed_runs
from .client import WorkflowsClient
from .errors import RunNotFound
from .fetch import FetchResult, RunFetcher
from .progress import Progress
from .rows import events_table, runs_table
from .schema import EVENT_COLUMNS, EVENT_PRIMARY_KEY, RUN_COLUMNS, RUN_PRIMARY_KEY, dlt_columns
from .settings import SyncOptions

logger = logging.getLogger(__name__)

# A batch is handed to dlt once it contains this many events or runs, which bounds
# memory whatever the number of runs or the length of a history.
BATCH_EVENTS = 5_000
BATCH_RUNS = 500
# Runs fetched per dlt load. Loading in chunks bounds DuckDB's memory for the merge,
# which grew with the size of the load, and keeps the work of finished chunks when a
# later one fails.
CHUNK_RUNS = 2_500


@dataclass
class SyncCounts:
    """Counts of one sync, for the summary line and the sync_log table."""

    listed: int = 0
    new_runs: int = 0
    changed_runs: int = 0
    unchanged_runs: int = 0
    missing_runs: int = 0
    runs_written: int = 0  # rows handed to the `runs` table, skipped runs with a readable detail included
    events: int = 0
    open_after: int = 0


@dataclass
class SyncProgress:
    """The plan of one sync and how far it got, shared by the chunks it loads one by one."""

    synced_at: datetime
    show_progress: bool = False
    plan: SyncPlan | None = None
    jobs: list[tuple[str, str]] = field(default_factory=list)
    position: int = 0
    progress: Progress | None = None

    @property
    def finished(self) -> bool:
        return self.plan is not None and self.position >= len(self.jobs)

    def start(self, plan: SyncPlan, missing_keys: list[str]) -> None:
        """Queue new runs, runs to retry, then open runs to re-check."""
        self.plan = plan
        new_keys = [listed.key for listed in plan.new_runs]
        planned = set(new_keys) | set(plan.open_runs)
        new_keys += [key for key in missing_keys if key not in planned]
        self.jobs = [("new", key) for key in new_keys] + [("open", key) for key in plan.open_runs]
        self.progress = Progress(len(self.jobs), enabled=self.show_progress)

    def next_chunk(self, size: int) -> list[tuple[str, str]]:
        chunk = self.jobs[self.position : self.position + size]
        self.position += len(chunk)
        return chunk


@dataclass
class RowBatch:
    runs: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)

    def is_full(self) -> bool:
        return len(self.events) >= BATCH_EVENTS or len(self.runs) >= BATCH_RUNS


@dlt.source(name="mistral_workflows", max_table_nesting=0)
def mistral_workflows(
    client: WorkflowsClient,
    options: SyncOptions,
    counts: SyncCounts | None = None,
    sync_progress: SyncProgress | None = None,
    chunk_runs: int | None = None,
):
    """Runs and their history events from the Mistral Workflows API.

    `client` carries the API key. It is passed as an object, never as a dlt config
    value, so that the key stays out of dlt's state and traces. Without
    `sync_progress`, one extract fetches everything. With it, each extract of a new
    source instance fetches the next `chunk_runs` runs of the same plan, and the
    caller loads after each one until `sync_progress.finished`.
    """
    counts = counts if counts is not None else SyncCounts()
    if sync_progress is None:
        sync_progress = SyncProgress(synced_at=datetime.now(timezone.utc), show_progress=options.show_progress)
        chunk_runs = None
    updates = dlt.resource(
        _run_updates(client, options, counts, sync_progress, chunk_runs),
        name="run_updates",
        selected=False,
    )
    return updates | _runs_transformer(), updates | _events_transformer()


def _runs_transformer():
    @dlt.transformer(
        name="runs",
        write_disposition="merge",
        primary_key=RUN_PRIMARY_KEY,
        columns=dlt_columns(RUN_COLUMNS),
    )
    def runs(batch: RowBatch):
        yield runs_table(batch.runs)

    return runs


def _events_transformer():
    # delete-insert, not insert-only: insert-only was a third faster on one 200,000-event
    # load, but its anti-join keeps every key of the whole table in memory, while
    # delete-insert joins on the keys of the load, whose size the chunks bound.
    @dlt.transformer(
        name="run_events",
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key=list(EVENT_PRIMARY_KEY),
        columns=dlt_columns(EVENT_COLUMNS),
    )
    def run_events(batch: RowBatch):
        yield events_table(batch.events)

    return run_events


def _run_updates(
    client: WorkflowsClient, options: SyncOptions, counts: SyncCounts, sync: SyncProgress, chunk_runs: int | None
) -> Iterator[RowBatch]:
    """List and plan (first chunk only), fetch one chunk, yield row batches, update the change state."""
    state = ChangeState(dlt.current.resource_state())
    if sync.plan is None:
        _plan(client, options, counts, sync, state)

    chunk = sync.next_chunk(chunk_runs or len(sync.jobs))
    new_keys = [key for kind, key in chunk if kind == "new"]
    open_runs = {key: sync.plan.open_runs[key] for kind, key in chunk if kind == "open"}
    fetcher = RunFetcher(client, options, sync.synced_at)

    batch, batches = RowBatch(), 0
    for result in fetcher.fetch_all(new_keys, open_runs, sync.plan.listed_status):
        _record(result, state, counts, sync.synced_at)
        sync.progress.advance()
        if result.run_row is not None:
            counts.runs_written += 1
            batch.runs.append(result.run_row)
            batch.events.extend(result.events)
        if batch.is_full():
            yield batch
            batch, batches = RowBatch(), batches + 1
    # At least one batch, even empty, so that both tables exist after the first sync.
    if batch.runs or batches == 0:
        yield batch

    # The cursor moves only with the last chunk: after a failure in between, the next
    # sync lists the same window again and skips what the loaded chunks recorded.
    if sync.finished:
        sync.progress.close()
        state.advance_cursor(sync.plan.newest_start)
        state.prune_recent_final(listing_window_start(state.cursor, options.lookback, None))
        counts.open_after = len(state.open_runs())


def _plan(client: WorkflowsClient, options: SyncOptions, counts: SyncCounts, sync: SyncProgress, state: ChangeState) -> None:
    if options.full_refresh:
        state.reset()
    window_start = listing_window_start(state.cursor, options.lookback, options.since)

    pages = client.list_runs(_list_params(options, window_start))
    plan = plan_listed_runs(pages, state, window_start, now=sync.synced_at)
    counts.listed = plan.listed
    _log_plan(plan, window_start, state)
    sync.start(plan, state.missing_runs())


def _list_params(options: SyncOptions, window_start: datetime | None) -> dict:
    params: dict = {"page_size": options.page_size, "sort_by": "start_time", "order": "asc"}
    if window_start is not None:
        params["start_time_after"] = window_start.isoformat().replace("+00:00", "Z")
    return params


def _record(result: FetchResult, state: ChangeState, counts: SyncCounts, now: datetime) -> None:
    if result.outcome == "missing":
        counts.missing_runs += 1
        logger.warning("Skipping run %s for now, will retry next sync: %s", result.key, result.error)
        if result.open_run is not None:
            state.mark_open(result.key, result.open_run)
        else:
            state.mark_missing(result.key, now, may_give_up=isinstance(result.error, RunNotFound))
        return

    if result.outcome == "new":
        counts.new_runs += 1
    elif result.outcome == "changed":
        counts.changed_runs += 1
    else:
        counts.unchanged_runs += 1
    counts.events += len(result.events)

    if result.open_run is None:
        state.mark_final(result.key, result.start_time)
    else:
        state.mark_open(result.key, result.open_run)


def _log_plan(plan, window_start: datetime | None, state: ChangeState) -> None:
    window = f"since {window_start.isoformat()}" if window_start else "all time"
    logger.info(
        "Listed %d runs (%s): %d new, %d open to re-check, %d missing to retry",
        plan.listed,
        window,
        len(plan.new_runs),
        len(plan.open_runs),
        len(state.missing_runs()),
    )
    if plan.duplicates:
        logger.info("The list showed %d runs twice (it shifted while paging); each is fetched once", plan.duplicates)
    if plan.outside_window:
        logger.info(
            "The API returned %d runs older than the requested start_time_after (the server ignored the filter); "
            "they were filtered out here",
            plan.outside_window,
        )
