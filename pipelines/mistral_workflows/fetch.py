"""Fetch the runs a sync plans, concurrently, and turn each into rows.

A new run costs two requests (detail, then history). An open run costs one, its
history, which is compared with the size last loaded. Only when it moved (more
events, a closing event, or a new status in the list) is the detail fetched too. Only
events newer than the last loaded one are handed on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Callable

from .change_capture import MAX_DETAIL_LAG_SYNCS, OpenRun, is_final
from .client import WorkflowsClient
from .errors import InvalidResponse, RequestRejected, RunNotFound
from .history import HistoryFormatError, closing_status, normalise_history
from .rows import InvalidRunError, run_row
from .settings import SyncOptions

logger = logging.getLogger(__name__)

# Errors that concern one run only: the sync skips that run, remembers it and goes on.
UNREADABLE_RUN_ERRORS = (RunNotFound, RequestRejected, InvalidResponse, InvalidRunError, HistoryFormatError)


@dataclass
class FetchResult:
    """The outcome for one run: rows to load and what to remember about it."""

    key: str
    outcome: str  # "new", "changed", "unchanged" or "missing" (skipped this sync)
    run_row: dict | None = None
    events: list[dict] = field(default_factory=list)
    open_run: OpenRun | None = None  # None once the run is final and fully loaded
    start_time: datetime | None = None
    error: Exception | None = None  # why a "missing" run was skipped


class RunFetcher:
    """Fetches details and histories for one sync with a bounded pool of threads."""

    def __init__(self, client: WorkflowsClient, options: SyncOptions, synced_at: datetime):
        self.client = client
        self.options = options
        self.synced_at = synced_at

    def fetch_all(
        self, new_keys: Iterable[str], open_runs: dict[str, OpenRun], listed_status: dict[str, str | None]
    ) -> Iterator[FetchResult]:
        """Yield one FetchResult per run, in completion order, with at most 2x concurrency queued."""
        jobs: Iterator[Callable[[], FetchResult]] = _chain(
            (lambda key=key: self.fetch_new(key)) for key in new_keys
        )
        jobs = _chain(
            jobs,
            (
                lambda key=key, open_run=open_run: self.check_open(key, open_run, listed_status.get(key, open_run.status))
                for key, open_run in open_runs.items()
            ),
        )
        yield from _run_bounded(jobs, self.options.concurrency)

    def fetch_new(self, key: str) -> FetchResult:
        """Fetch a run never loaded (or remembered as missing): detail, then history.

        When the detail is readable but the history is not, the run's row is still
        loaded, and the run is re-checked like an open run until its history can be read.
        """
        try:
            detail = self.client.get_run(key)
            row = run_row(detail, key, self.synced_at, drop_payloads=self.options.drop_payloads)
        except UNREADABLE_RUN_ERRORS as error:
            return FetchResult(key=key, outcome="missing", error=error)

        if not self.options.with_history:
            return self._without_history(key, row, "new")
        try:
            history = self.client.get_history(key, decode_payloads=self._server_decodes())
            events = self._normalise(history, key)
        except UNREADABLE_RUN_ERRORS as error:
            # Tracked as an open run with no events loaded: each sync re-checks its history until it can be read.
            awaiting_history = OpenRun(status=row["status"], event_count=0, last_event_id=0)
            return FetchResult(
                key=key, outcome="missing", run_row=row, open_run=awaiting_history, start_time=row["start_time"], error=error
            )

        return FetchResult(
            key=key,
            outcome="new",
            run_row=row,
            events=events,
            open_run=_open_run_after(row["status"], events, _raw_events(history), previous=None),
            start_time=row["start_time"],
        )

    def check_open(self, key: str, previous: OpenRun, listed_status: str | None) -> FetchResult:
        """Re-check an open run: its history first, its detail only if something moved."""
        try:
            if not self.options.with_history:
                return self._check_open_by_detail(key, previous)
            if previous.closed_seen:
                return self._check_closed_by_detail(key, previous)
            history = self.client.get_history(key, decode_payloads=self._server_decodes())
            raw_events = _raw_events(history)
            if not _history_moved(raw_events, previous, listed_status):
                return FetchResult(key=key, outcome="unchanged", open_run=previous)
            if len(raw_events) < previous.event_count:
                logger.warning(
                    "Run %s: the history has %d events, fewer than the %d loaded before; loaded events are kept",
                    key, len(raw_events), previous.event_count,
                )

            events = self._normalise(history, key)
            detail = self.client.get_run(key)
            row = run_row(detail, key, self.synced_at, drop_payloads=self.options.drop_payloads)
        except UNREADABLE_RUN_ERRORS as error:
            # The run stays open, so every sync re-checks it until its history can be read again.
            # NOTE: a run deleted while open (404) is re-checked, with a warning, on every sync.
            return FetchResult(key=key, outcome="missing", open_run=previous, error=error)

        new_events = [event for event in events if event["event_id"] > previous.last_event_id]
        return FetchResult(
            key=key,
            outcome="changed",
            run_row=row,
            events=new_events,
            open_run=_open_run_after(row["status"], events, raw_events, previous=previous),
            start_time=row["start_time"],
        )

    def _check_open_by_detail(self, key: str, previous: OpenRun) -> FetchResult:
        detail = self.client.get_run(key)
        row = run_row(detail, key, self.synced_at, drop_payloads=self.options.drop_payloads)
        if row["status"] == previous.status and not is_final(row["status"]):
            return FetchResult(key=key, outcome="unchanged", open_run=previous)
        return self._without_history(key, row, "changed")

    def _check_closed_by_detail(self, key: str, previous: OpenRun) -> FetchResult:
        """Re-read the detail of a run whose history has closed. The history cannot grow any more."""
        detail = self.client.get_run(key)
        row = run_row(detail, key, self.synced_at, drop_payloads=self.options.drop_payloads)
        if is_final(row["status"]):
            return FetchResult(key=key, outcome="changed", run_row=row, start_time=row["start_time"])

        checks = previous.detail_checks + 1
        if checks >= MAX_DETAIL_LAG_SYNCS:
            logger.warning(
                "Run %s: the history closed %d syncs ago but the detail still reads %r; keeping that status",
                key, checks, row["status"],
            )
            return FetchResult(key=key, outcome="changed", run_row=row, start_time=row["start_time"])
        return FetchResult(key=key, outcome="unchanged", open_run=replace(previous, detail_checks=checks))

    def _without_history(self, key: str, row: dict, outcome: str) -> FetchResult:
        open_run = None if is_final(row["status"]) else OpenRun(status=row["status"], event_count=0, last_event_id=0)
        return FetchResult(key=key, outcome=outcome, run_row=row, open_run=open_run, start_time=row["start_time"])

    def _normalise(self, history: dict | list, key: str) -> list[dict]:
        return normalise_history(
            history,
            key,
            max_event_bytes=self.options.max_event_bytes,
            decode_payloads=self.options.decode_payloads,
            drop_payloads=self.options.drop_payloads,
            release_input=True,
        )

    def _server_decodes(self) -> bool:
        # With --no-payloads the payloads are asked for encoded: their fixed shape is
        # what lets the normaliser find and drop every one of them.
        return self.options.decode_payloads and not self.options.drop_payloads


def _history_moved(raw_events: list, previous: OpenRun, listed_status: str | None) -> bool:
    """Tell from the raw history whether anything about the run changed since the last load."""
    return listed_status != previous.status or len(raw_events) != previous.event_count


def _open_run_after(
    status: str | None, events: list[dict], raw_events: list, previous: OpenRun | None
) -> OpenRun | None:
    """Return what to remember of a run just loaded, or None when nothing about it can change.

    A run is done once its status is final and its history contains the closing event.
    A history that closed while the detail still reads as open is remembered with
    `closed_seen`, and later syncs re-read only its detail.
    """
    # NOTE: a final run whose history has no closing event (an empty history, say) stays
    # open here, so every sync re-checks it with one history request.
    closed = closing_status(events) is not None
    if closed and is_final(status):
        return None
    last_event_id = max((event["event_id"] for event in events), default=0)
    # The raw count, not the normalised one: duplicates in a history must not look like growth.
    return OpenRun(status=status, event_count=len(raw_events), last_event_id=last_event_id, closed_seen=closed)


def _raw_events(history: dict | list) -> list:
    return history["events"] if isinstance(history, dict) else history


def _chain(*iterables):
    for iterable in iterables:
        yield from iterable


def _run_bounded(jobs: Iterator[Callable[[], FetchResult]], concurrency: int) -> Iterator[FetchResult]:
    """Run jobs on `concurrency` threads, keeping at most twice that many queued."""
    max_queued = concurrency * 2
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="fetch") as pool:
        pending: set[Future] = set()
        try:
            for job in jobs:
                pending.add(pool.submit(job))
                if len(pending) >= max_queued:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    yield from (future.result() for future in done)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (future.result() for future in done)
        finally:
            for future in pending:
                future.cancel()
