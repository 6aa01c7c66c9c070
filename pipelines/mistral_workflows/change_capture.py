"""Change capture: the runs one sync must fetch, and the state it keeps for the next one.

Runs are mutable: a RUNNING run later completes, fails or is retried, and its
history grows. Following `start_time` alone would leave such runs at RUNNING
forever, so the sync keeps, in dlt's resource state (committed with each load):

- `cursor`: the newest `start_time` loaded. The next listing starts `lookback`
  earlier, which catches runs that are listed late.
- `open_runs`: every run not known to be final, with the size of the history last
  loaded. Each sync re-checks them with one history request, and fetches the
  detail only when the history moved. A run whose history has closed while its
  detail still reads as open is re-checked with one detail request instead.
- `recent_final`: final runs inside the lookback window, so that listing them again
  costs nothing.
- `missing_runs`: runs listed but not found (404) or unreadable when fetched. The
  next syncs try them again, even once they are outside the lookback window.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .history import FINAL_STATUSES, parse_api_time

logger = logging.getLogger(__name__)

# A run that is still not found after this many syncs is dropped from the retry list.
MAX_MISSING_ATTEMPTS = 10
# A run whose history closed while its detail still reads as open has its detail
# re-checked for this many syncs, then is taken as done with the status the API gave.
MAX_DETAIL_LAG_SYNCS = 10


@dataclass
class OpenRun:
    """State of a run that was not final when last loaded."""

    status: str | None
    event_count: int
    last_event_id: int
    closed_seen: bool = False
    detail_checks: int = 0  # syncs that re-read the detail after the history closed

    def to_state(self) -> dict:
        return {
            "status": self.status,
            "event_count": self.event_count,
            "last_event_id": self.last_event_id,
            "closed_seen": self.closed_seen,
            "detail_checks": self.detail_checks,
        }

    @classmethod
    def from_state(cls, value: dict) -> OpenRun:
        return cls(
            status=value.get("status"),
            event_count=int(value.get("event_count", 0)),
            last_event_id=int(value.get("last_event_id", 0)),
            closed_seen=bool(value.get("closed_seen", False)),
            detail_checks=int(value.get("detail_checks", 0)),
        )


@dataclass
class ListedRun:
    """One run from the list, reduced to what the plan needs."""

    key: str
    status: str | None
    start_time: datetime | None


@dataclass
class SyncPlan:
    """The runs one sync fetches, in the order it fetches them."""

    new_runs: list[ListedRun] = field(default_factory=list)
    open_runs: dict[str, OpenRun] = field(default_factory=dict)
    listed_status: dict[str, str | None] = field(default_factory=dict)
    newest_start: datetime | None = None
    listed: int = 0
    duplicates: int = 0
    outside_window: int = 0


def run_key(item: dict) -> str | None:
    """Return the id for the API's path: `run_id` when given, else `execution_id`."""
    value = item.get("run_id") or item.get("execution_id")
    return str(value) if value else None


def listing_window_start(
    cursor: datetime | None, lookback: timedelta, since: datetime | None
) -> datetime | None:
    """Return where the listing starts: `since` for a backfill, else the cursor minus the lookback."""
    if since is not None:
        return since
    if cursor is None:
        return None
    return cursor - lookback


def is_final(status: Any) -> bool:
    return isinstance(status, str) and status in FINAL_STATUSES


class ChangeState:
    """The sync's view of dlt's resource state, read and written as plain JSON types."""

    def __init__(self, state: dict):
        self._state = state
        state.setdefault("cursor", None)
        state.setdefault("open_runs", {})
        state.setdefault("recent_final", {})
        state.setdefault("missing_runs", {})

    @property
    def cursor(self) -> datetime | None:
        return parse_api_time(self._state["cursor"]) if self._state["cursor"] else None

    def advance_cursor(self, newest_start: datetime | None) -> None:
        if newest_start is not None and (self.cursor is None or newest_start > self.cursor):
            self._state["cursor"] = newest_start.isoformat()

    def open_runs(self) -> dict[str, OpenRun]:
        return {key: OpenRun.from_state(value) for key, value in self._state["open_runs"].items()}

    def missing_runs(self) -> list[str]:
        return list(self._state["missing_runs"])

    def is_recent_final(self, key: str) -> bool:
        return key in self._state["recent_final"]

    def mark_open(self, key: str, open_run: OpenRun) -> None:
        self._state["open_runs"][key] = open_run.to_state()
        self._state["missing_runs"].pop(key, None)

    def mark_final(self, key: str, start_time: datetime | None) -> None:
        self._state["open_runs"].pop(key, None)
        self._state["missing_runs"].pop(key, None)
        self._state["recent_final"][key] = start_time.isoformat() if start_time else None

    def mark_missing(self, key: str, now: datetime, *, may_give_up: bool = True) -> None:
        """Remember a run that could not be fetched, to retry it next sync.

        `may_give_up` is set when the API returned 404, because the run may have been
        deleted. Such a run is dropped after MAX_MISSING_ATTEMPTS syncs. Others are
        retried on every sync.
        """
        self._state["open_runs"].pop(key, None)
        entry = self._state["missing_runs"].setdefault(key, {"since": now.isoformat(), "attempts": 0})
        entry["attempts"] += 1
        if may_give_up and entry["attempts"] >= MAX_MISSING_ATTEMPTS:
            logger.warning(
                "Run %s was not found in %d syncs since %s; no longer retrying it",
                key,
                entry["attempts"],
                entry["since"],
            )
            del self._state["missing_runs"][key]

    def prune_recent_final(self, window_start: datetime | None) -> None:
        """Forget final runs that the next listing window no longer reaches."""
        if window_start is None:
            return
        recent = self._state["recent_final"]
        for key, start in list(recent.items()):
            if start is None or parse_api_time(start) < window_start:
                del recent[key]

    def reset(self) -> None:
        self._state.clear()
        self.__init__(self._state)


def plan_listed_runs(
    pages, state: ChangeState, window_start: datetime | None, now: datetime | None = None
) -> SyncPlan:
    """Decide, page by page, which listed runs are new. Open runs are checked separately.

    The server may ignore the time filter and the sorting (older API versions do), so
    the window is applied here too, and a run listed twice is planned once. A run
    dated after `now` is fetched but does not move the cursor: every run started
    before its date would otherwise fall outside the next listing window.
    """
    plan = SyncPlan(open_runs=state.open_runs())
    seen: set[str] = set()
    for page in pages:
        for item in page:
            listed = _read_listed_run(item)
            if listed is None:
                continue
            plan.listed += 1
            if listed.key in seen:
                plan.duplicates += 1
                continue
            seen.add(listed.key)
            if window_start is not None and listed.start_time is not None and listed.start_time < window_start:
                plan.outside_window += 1
                continue
            if _moves_cursor(listed.start_time, plan.newest_start, now):
                plan.newest_start = listed.start_time

            if listed.key in plan.open_runs:
                plan.listed_status[listed.key] = listed.status
            elif not state.is_recent_final(listed.key):
                plan.new_runs.append(listed)
    return plan


def _moves_cursor(start_time: datetime | None, newest: datetime | None, now: datetime | None) -> bool:
    if start_time is None or (now is not None and start_time > now):
        return False
    return newest is None or start_time > newest


def _read_listed_run(item: Any) -> ListedRun | None:
    if not isinstance(item, dict):
        logger.warning("Skipping a run list item that is not an object: %r", str(item)[:120])
        return None
    key = run_key(item)
    if key is None:
        logger.warning("Skipping a run list item without run_id or execution_id: keys %s", sorted(item)[:10])
        return None
    try:
        start_time = parse_api_time(item.get("start_time"))
    except ValueError:
        logger.warning("Run %s has an unreadable start_time %r; fetching it anyway", key, item.get("start_time"))
        start_time = None
    return ListedRun(key=key, status=item.get("status"), start_time=start_time)
