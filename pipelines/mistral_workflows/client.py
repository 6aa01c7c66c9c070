"""HTTP client of the Workflows runs API: one httpx client, retries, request counts.

The API is in beta and sits behind gateways, so every response is checked: a body
that is not the expected JSON (an HTML page with status 200, a cut-off body) is a
transient error, never data. 401/403 stop the sync at once; 429, 5xx, dropped
connections and timeouts are retried by tenacity with bounded exponential backoff
and jitter, waiting at least as long as `Retry-After` requests.
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import tenacity

from .concurrency import AdaptiveLimit
from .errors import (
    ApiError,
    AuthError,
    InvalidResponse,
    PaginationError,
    RateLimited,
    RequestRejected,
    RunNotFound,
    TransientApiError,
)

logger = logging.getLogger(__name__)

RUNS_PATH = "/v1/workflows/runs"
# A 429 whose Retry-After is longer than this ends the sync at once: a cron job should
# fail and try again at its next slot rather than sleep for an hour holding its lock.
MAX_RETRY_AFTER_S = 60.0
# Retries are logged one by one up to this many per sync, then only counted.
MAX_RETRY_WARNINGS = 10


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a transient failure."""

    max_attempts: int = 6
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 30.0


class WorkflowsClient:
    """Read-only client of the three endpoints, safe to share between threads."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout_s: float = 30.0,
        retry: RetryPolicy = RetryPolicy(),
        concurrency: int = 8,
    ):
        self.base_url = base_url.rstrip("/")
        self.retry = retry
        self.limit = AdaptiveLimit(concurrency)
        self.requests: Counter[str] = Counter()
        self.retries = 0
        self._lock = threading.Lock()
        self._headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
        self._api_key = api_key
        self._timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)).as_dict()
        # Requests go straight to httpx's transport, its connection pool, because the sync
        # needs none of the Client's cookies, redirects or auth flows. Skipping them cut the
        # CPU cost of a request from about 500 to 330 microseconds (measured on a 2-core
        # test machine against the emulator), and that cost bounds the sync at low latency.
        self._transport = httpx.HTTPTransport(
            limits=httpx.Limits(max_connections=concurrency + 2, max_keepalive_connections=concurrency + 2),
            # Proxy settings from the environment are honoured for a remote API but
            # never for a loopback emulator, which a proxy could not reach.
            proxy=None if _is_loopback(self.base_url) else _environment_proxy(self.base_url),
        )

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> WorkflowsClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def list_runs(self, params: dict[str, Any]) -> Iterator[list[dict]]:
        """Yield the run list page by page until the last page.

        An empty page ends the listing even when it carries a token. A token that was
        already handed out in this listing raises PaginationError instead of looping.
        """
        seen_tokens: set[str] = set()
        token: str | None = None
        page_number = 0
        while True:
            query = dict(params)
            if token is not None:
                query["next_page_token"] = token
            body = self._get_json(RUNS_PATH, query, endpoint="list")
            executions, token = _check_page(body)
            page_number += 1
            logger.debug("Run list page %d: %d runs", page_number, len(executions))

            if executions:
                yield executions
            if not executions or token is None:
                return
            if token in seen_tokens:
                raise PaginationError(
                    f"GET {RUNS_PATH} returned page token {token[:40]!r} again on page {page_number}; "
                    "stopping instead of listing the same pages forever",
                    endpoint="list",
                )
            seen_tokens.add(token)

    def get_run(self, run_id: str) -> dict:
        """Fetch one run's details, `result` included."""
        body = self._get_json(f"{RUNS_PATH}/{run_id}", {}, endpoint="detail")
        if not isinstance(body, dict) or "execution_id" not in body:
            raise InvalidResponse(
                f"GET {RUNS_PATH}/{run_id} returned {_describe(body)}, expected a run object with execution_id",
                endpoint="detail",
            )
        return body

    def get_history(self, run_id: str, *, decode_payloads: bool) -> dict | list:
        """Fetch one run's Temporal event history as parsed JSON."""
        query = {"decode_payloads": "true" if decode_payloads else "false"}
        body = self._get_json(f"{RUNS_PATH}/{run_id}/history", query, endpoint="history")
        if isinstance(body, list) or (isinstance(body, dict) and isinstance(body.get("events"), list)):
            return body
        raise InvalidResponse(
            f"GET {RUNS_PATH}/{run_id}/history returned {_describe(body)}, expected an object with an events list",
            endpoint="history",
        )

    def _get_json(self, path: str, params: dict[str, Any], *, endpoint: str) -> Any:
        """GET a path and parse its JSON body, retrying transient failures.

        The first attempt runs without tenacity, because setting tenacity up cost more
        CPU than a fast request itself. Tenacity takes over after the first transient
        failure, with one attempt already spent.
        """
        try:
            return self._get_json_once(path, params, endpoint)
        except ApiError as error:
            if not error.retriable or self.retry.max_attempts <= 1:
                raise
            first_error = error
        self._log_first_retry(first_error)
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(lambda error: getattr(error, "retriable", False)),
            stop=tenacity.stop_after_attempt(self.retry.max_attempts - 1),
            wait=self._wait_after_attempt(1),
            before_sleep=self._log_retry,
            reraise=True,
        )
        return retrying(self._get_json_once, path, params, endpoint)

    # NOTE: a request still costs 300-700 microseconds of CPU in httpx and h11, and a
    # run needs two. At zero latency that caps a sync near 16,000-20,000 events per CPU
    # second on a 2-core test machine, short of a 25,000 target. An asyncio or HTTP/2
    # client would be the next step.
    def _get_json_once(self, path: str, params: dict[str, Any], endpoint: str) -> Any:
        request = httpx.Request(
            "GET", self.base_url + path, params=params, headers=self._headers, extensions={"timeout": self._timeout}
        )
        with self.limit:
            with self._lock:
                self.requests[endpoint] += 1
            try:
                response = self._transport.handle_request(request)
                response.read()
            except httpx.TimeoutException as error:
                raise TransientApiError(f"GET {path} timed out ({type(error).__name__})", endpoint=endpoint) from None
            except httpx.TransportError as error:
                raise TransientApiError(
                    f"GET {path} failed: cannot reach {self.base_url} ({type(error).__name__}: {error})",
                    endpoint=endpoint,
                ) from None

        if response.status_code == 429:
            self.limit.on_rate_limited()
        else:
            self.limit.on_success()
        try:
            _raise_for_status(response, path, endpoint)
            return _parse_json(response, path, endpoint)
        except ApiError as error:
            # A gateway or proxy may echo the request headers into its error page.
            error.args = (_redact(str(error), self._api_key),)
            raise

    def _wait_after_attempt(self, attempts_before: int):
        """Return tenacity's wait function, counting the attempts made before tenacity took over."""

        def wait(retry_state: tenacity.RetryCallState) -> float:
            error = retry_state.outcome.exception() if retry_state.outcome else None
            return self._backoff_s(retry_state.attempt_number + attempts_before, error)

        return wait

    def _backoff_s(self, attempt: int, error: BaseException | None) -> float:
        """Compute the exponential backoff with jitter, at least as long as a Retry-After requests."""
        backoff = min(self.retry.max_backoff_s, self.retry.initial_backoff_s * 2 ** (attempt - 1))
        jittered = backoff / 2 + random.random() * backoff / 2
        retry_after = getattr(error, "retry_after_s", None)
        if retry_after is not None:
            return max(min(retry_after, MAX_RETRY_AFTER_S), jittered)
        return jittered

    def _log_first_retry(self, error: ApiError) -> None:
        wait_s = self._backoff_s(1, error)
        self._warn_retry(error, 1, wait_s)
        time.sleep(wait_s)

    def _log_retry(self, retry_state: tenacity.RetryCallState) -> None:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        wait_s = retry_state.next_action.sleep if retry_state.next_action else 0.0
        self._warn_retry(error, retry_state.attempt_number + 1, wait_s)

    def _warn_retry(self, error: BaseException | None, attempt: int, wait_s: float) -> None:
        with self._lock:
            self.retries += 1
            count = self.retries
        if count <= MAX_RETRY_WARNINGS:
            logger.warning("%s; retry %d of %d in %.2f s", error, attempt, self.retry.max_attempts - 1, wait_s)
            if count == MAX_RETRY_WARNINGS:
                logger.warning("Further retries in this sync are only counted in the summary")


def _raise_for_status(response: httpx.Response, path: str, endpoint: str) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    if status in (401, 403):
        raise AuthError(
            f"The API rejected the key (HTTP {status} on GET {path}): check MISTRAL_API_KEY",
            endpoint=endpoint,
            status_code=status,
        )
    if status == 404:
        raise RunNotFound(f"GET {path}: HTTP 404, not found", endpoint=endpoint, status_code=status)
    if status == 429:
        retry_after = _parse_retry_after(response.headers.get("retry-after"))
        if retry_after is not None and retry_after > MAX_RETRY_AFTER_S:
            raise ApiError(
                f"GET {path}: HTTP 429, rate limited for {retry_after:.0f} s (Retry-After); "
                "stopping this sync so that the next one retries",
                endpoint=endpoint,
                status_code=status,
            )
        raise RateLimited(
            f"GET {path}: HTTP 429, rate limited", retry_after_s=retry_after, endpoint=endpoint, status_code=status
        )
    if status >= 500:
        raise TransientApiError(
            f"GET {path}: HTTP {status}",
            retry_after_s=_parse_retry_after(response.headers.get("retry-after")),
            endpoint=endpoint,
            status_code=status,
        )
    raise RequestRejected(
        f"GET {path}: HTTP {status}: {_short_text(response)}", endpoint=endpoint, status_code=status
    )


def _parse_json(response: httpx.Response, path: str, endpoint: str) -> Any:
    content_type = response.headers.get("content-type", "")
    if "json" not in content_type:
        raise InvalidResponse(
            f"GET {path} returned {content_type or 'no content type'} instead of JSON: {_short_text(response)}",
            endpoint=endpoint,
        )
    try:
        # NOTE: orjson reads an integer beyond 64 bits as a float, so such a value in a
        # result or an attribute is stored rounded. Scanning each body for one measured
        # nine times the cost of parsing it, so the rare case is left as it is.
        return orjson.loads(response.content)
    except orjson.JSONDecodeError as error:
        raise InvalidResponse(
            f"GET {path} returned invalid JSON ({error}; {len(response.content)} bytes)", endpoint=endpoint
        ) from None


def _check_page(body: Any) -> tuple[list[dict], str | None]:
    if not isinstance(body, dict) or not isinstance(body.get("executions"), list):
        raise InvalidResponse(
            f"GET {RUNS_PATH} returned {_describe(body)}, expected an object with an executions list",
            endpoint="list",
        )
    token = body.get("next_page_token")
    if token is not None and not isinstance(token, str):
        raise ApiError(f"GET {RUNS_PATH} returned a next_page_token of type {type(token).__name__}", endpoint="list")
    return body["executions"], (token or None)


def _parse_retry_after(value: str | None) -> float | None:
    """Read Retry-After as seconds or as an HTTP date; None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, (moment - datetime.now(timezone.utc)).total_seconds())


def _redact(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


def _describe(body: Any) -> str:
    if isinstance(body, dict):
        return f"an object with keys {sorted(body)[:8]}"
    return f"a JSON {type(body).__name__}"


def _short_text(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:160] + ("..." if len(text) > 160 else "")


def _environment_proxy(base_url: str) -> str | None:
    """Return the proxy HTTPS_PROXY or HTTP_PROXY names for the API, unless NO_PROXY exempts its host."""
    parts = urlsplit(base_url)
    exempt = [host.strip().lstrip(".") for host in _environment("NO_PROXY").split(",") if host.strip()]
    if any(parts.hostname == host or (parts.hostname or "").endswith("." + host) for host in exempt) or "*" in exempt:
        return None
    return _environment("HTTPS_PROXY" if parts.scheme == "https" else "HTTP_PROXY") or None


def _environment(name: str) -> str:
    return os.environ.get(name) or os.environ.get(name.lower()) or ""


def _is_loopback(base_url: str) -> bool:
    host = urlsplit(base_url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")
