"""The list endpoint's query parameters, filters, sort order and page tokens.

Validation errors use FastAPI's 422 shape, `{"detail": [{"loc", "msg", "type"}]}`,
because that is what the real API returns. The page token is opaque to clients but
only encodes an offset into the filtered, sorted list, so a list that changes between
two pages shifts under the client as a real offset-paginated list does.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from itertools import islice

import orjson

from mistral_workflows.emulator.timeutil import parse_iso_us

KNOWN_STATUSES = (
    "RUNNING", "COMPLETED", "FAILED", "CANCELED", "TERMINATED", "CONTINUED_AS_NEW", "TIMED_OUT",
    "RETRYING_AFTER_ERROR",
)
TIME_FILTERS = ("start_time_after", "start_time_before", "end_time_after", "end_time_before")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
MAX_SEARCH_KEYS = 3


class ValidationFailure(Exception):
    """A request parameter failed validation. `errors` contains FastAPI-style error items."""

    def __init__(self, errors: list[dict]) -> None:
        super().__init__(errors)
        self.errors = errors


def validation_error(location: str, name: str, message: str, error_type: str, value: object) -> dict:
    """Build one FastAPI-style validation error item."""
    return {"loc": [location, name], "msg": message, "type": error_type, "input": value}


@dataclass
class PageToken:
    """Content of a next_page_token: an offset, and whether it leads to a trailing empty page."""

    offset: int
    is_trailing_empty: bool = False

    def encode(self) -> str:
        payload = {"v": 1, "offset": self.offset}
        if self.is_trailing_empty:
            payload["empty"] = True
        return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> PageToken:
        """Decode a token; raises ValidationFailure when it was not issued by this server."""
        try:
            payload = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            offset = payload["offset"]
            if payload.get("v") != 1 or not isinstance(offset, int) or offset < 0:
                raise ValueError("unexpected token content")
        except (binascii.Error, orjson.JSONDecodeError, ValueError, TypeError, KeyError) as error:
            raise ValidationFailure([validation_error(
                "query", "next_page_token", f"Value error, invalid page token: {error}", "value_error", text,
            )]) from error
        return cls(offset, bool(payload.get("empty")))


@dataclass
class ListQuery:
    """A validated list request."""

    page_size: int = DEFAULT_PAGE_SIZE
    token: PageToken | None = None
    raw_token: str | None = None
    statuses: list[str] = field(default_factory=list)
    equals: dict[str, str] = field(default_factory=dict)
    workflow_identifier: str | None = None
    search: str | None = None
    search_keys: list[tuple[str, str]] = field(default_factory=list)
    sort_by: str = "start_time"
    descending: bool = True
    time_bounds: dict[str, int] = field(default_factory=dict)


def parse_list_query(params: dict[str, list[str]], legacy_api: bool) -> ListQuery:
    """Validate the list endpoint's query; with `legacy_api`, sorting and time windows are ignored unread."""
    query = ListQuery()
    errors: list[dict] = []

    query.page_size = _parse_page_size(params, errors)
    query.statuses = _parse_statuses(params, errors)
    _parse_plain_filters(params, query)
    query.search_keys = _parse_search_keys(params, errors)
    if not legacy_api:
        _parse_sort(params, query, errors)
        _parse_time_bounds(params, query, errors)

    raw_token = _last(params, "next_page_token")
    if raw_token:
        try:
            query.token = PageToken.decode(raw_token)
            query.raw_token = raw_token
        except ValidationFailure as failure:
            errors.extend(failure.errors)

    if errors:
        raise ValidationFailure(errors)
    return query


def _last(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[-1] if values else None


def _parse_page_size(params: dict[str, list[str]], errors: list[dict]) -> int:
    text = _last(params, "page_size")
    if text is None:
        return DEFAULT_PAGE_SIZE
    try:
        page_size = int(text)
    except ValueError:
        errors.append(validation_error("query", "page_size", "Input should be a valid integer, unable to parse string as an integer", "int_parsing", text))
        return DEFAULT_PAGE_SIZE
    if page_size < 1:
        errors.append(validation_error("query", "page_size", "Input should be greater than or equal to 1", "greater_than_equal", text))
    elif page_size > MAX_PAGE_SIZE:
        errors.append(validation_error("query", "page_size", f"Input should be less than or equal to {MAX_PAGE_SIZE}", "less_than_equal", text))
    return page_size


def _parse_statuses(params: dict[str, list[str]], errors: list[dict]) -> list[str]:
    statuses = params.get("status", [])
    for status in statuses:
        if status not in KNOWN_STATUSES:
            expected = ", ".join(f"'{known}'" for known in KNOWN_STATUSES)
            errors.append(validation_error("query", "status", f"Input should be {expected}", "enum", status))
    return statuses


def _parse_plain_filters(params: dict[str, list[str]], query: ListQuery) -> None:
    for name in ("root_execution_id", "deployment_name", "user_id"):
        value = _last(params, name)
        if value:
            query.equals[name] = value
    query.workflow_identifier = _last(params, "workflow_identifier") or None
    query.search = _last(params, "search") or None


def _parse_search_keys(params: dict[str, list[str]], errors: list[dict]) -> list[tuple[str, str]]:
    raw = params.get("search_key", [])
    if len(raw) > MAX_SEARCH_KEYS:
        errors.append(validation_error("query", "search_key", f"List should have at most {MAX_SEARCH_KEYS} items", "too_long", raw))
        return []

    pairs = []
    for item in raw:
        key, separator, value = item.partition(":")
        if not separator or not key:
            errors.append(validation_error("query", "search_key", "Value error, expected key:value", "value_error", item))
            continue
        pairs.append((key, value))
    return pairs


def _parse_sort(params: dict[str, list[str]], query: ListQuery, errors: list[dict]) -> None:
    sort_by = _last(params, "sort_by")
    if sort_by is not None:
        if sort_by in ("start_time", "end_time"):
            query.sort_by = sort_by
        else:
            errors.append(validation_error("query", "sort_by", "Input should be 'start_time' or 'end_time'", "literal_error", sort_by))

    order = _last(params, "order")
    if order is not None:
        if order in ("asc", "desc"):
            query.descending = order == "desc"
        else:
            errors.append(validation_error("query", "order", "Input should be 'asc' or 'desc'", "literal_error", order))


def _parse_time_bounds(params: dict[str, list[str]], query: ListQuery, errors: list[dict]) -> None:
    for name in TIME_FILTERS:
        text = _last(params, name)
        if not text:
            continue
        try:
            query.time_bounds[name] = parse_iso_us(text)
        except ValueError:
            errors.append(validation_error("query", name, "Input should be a valid datetime", "datetime_parsing", text))


def select_page(runs_by_start: list, query: ListQuery, now_us: int, offset: int) -> tuple[list, bool]:
    """Return one page of the visible runs that match the query, and whether more follow.

    `runs_by_start` must be sorted by (start time, path id) ascending, as
    `Emulator.runs_by_start` keeps it: a run's start never moves with the clock, so
    the default order needs no sort per request, and the scan stops after the page.
    """
    has_filters = _has_filters(query)
    ordered = runs_by_start if not query.descending else reversed(runs_by_start)
    matching = (
        run for run in ordered
        if run.is_visible(now_us) and (not has_filters or _matches(run, query, now_us))
    )
    end = offset + query.page_size

    if query.sort_by != "end_time":
        selected = list(islice(matching, end + 1))
        return selected[offset:end], len(selected) > end

    matching = list(matching)
    ended = [run for run in matching if run.end_us(now_us) is not None]
    open_runs = [run for run in matching if run.end_us(now_us) is None]
    ended.sort(key=lambda run: (run.end_us(now_us), run.path_id), reverse=query.descending)
    selected = ended + open_runs
    return selected[offset:end], len(selected) > end


def sort_key_by_start(run) -> tuple[int, str]:
    """Return the key `select_runs` expects its input sorted by; runs without a start time come first."""
    return _sortable_start(run, 0), run.path_id


def _has_filters(query: ListQuery) -> bool:
    return bool(query.statuses or query.equals or query.workflow_identifier is not None or query.search is not None
                or query.search_keys or query.time_bounds)


def _sortable_start(run, now_us: int) -> int:
    start_us = run.start_us(now_us)
    return start_us if start_us is not None else -1


def _matches(run, query: ListQuery, now_us: int) -> bool:
    if query.statuses and run.status(now_us) not in query.statuses:
        return False
    for name, expected in query.equals.items():
        if run.value(name) != expected:
            return False
    if query.workflow_identifier is not None and query.workflow_identifier not in (
        run.value("workflow_name"), run.value("workflow_id"),
    ):
        return False
    if query.search is not None and not _matches_search(run, query.search):
        return False
    if query.search_keys and not _matches_search_keys(run, query.search_keys):
        return False
    return _within_time_bounds(run, query.time_bounds, now_us)


def _matches_search(run, needle: str) -> bool:
    needle = needle.lower()
    for name in ("workflow_name", "workflow_id", "execution_id", "run_id"):
        value = run.value(name)
        if isinstance(value, str) and needle in value.lower():
            return True
    return False


def _matches_search_keys(run, pairs: list[tuple[str, str]]) -> bool:
    keys = run.search_keys() or {}
    return all(key in keys and str(keys[key]) == value for key, value in pairs)


def _within_time_bounds(run, bounds: dict[str, int], now_us: int) -> bool:
    if not bounds:
        return True

    start_us = run.start_us(now_us)
    if "start_time_after" in bounds and (start_us is None or start_us < bounds["start_time_after"]):
        return False
    if "start_time_before" in bounds and (start_us is None or start_us > bounds["start_time_before"]):
        return False

    end_us = run.end_us(now_us)
    if "end_time_after" in bounds and (end_us is None or end_us < bounds["end_time_after"]):
        return False
    if "end_time_before" in bounds and (end_us is None or end_us > bounds["end_time_before"]):
        return False
    return True
