"""Fault injection: make the next requests, or a random share of them, fail the way real APIs do.

Most faults replace the response before the request is handled (status codes, a
dropped connection, an HTML page, a cut body, a long sleep). Two shape the list
pagination instead and are decided by the list handler, because they only make
sense on some pages: `empty_last_page` on the last page and `repeat_token` on a
page requested with a token.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import Counter
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

ENDPOINTS = ("list", "detail", "history")
TRANSIENT_KINDS = ("429", "500", "502", "503", "504", "drop")
RESPONSE_KINDS = TRANSIENT_KINDS + ("slow", "html200", "truncated_json", "404")
PAGINATION_KINDS = ("empty_last_page", "repeat_token")
ALL_KINDS = RESPONSE_KINDS + PAGINATION_KINDS

# Endpoints each kind applies to. A kind injected for any endpoint waits for a request to one of these.
KIND_ENDPOINTS: dict[str, tuple[str, ...]] = {kind: ENDPOINTS for kind in RESPONSE_KINDS}
KIND_ENDPOINTS["404"] = ("detail", "history")
KIND_ENDPOINTS["empty_last_page"] = ("list",)
KIND_ENDPOINTS["repeat_token"] = ("list",)

DEFAULT_SLOW_SECONDS = 30.0
DEFAULT_RETRY_AFTER = "1"


@dataclass
class Fault:
    """One fault to apply to one response, with its options (retry_after, seconds)."""

    kind: str
    options: dict = field(default_factory=dict)

    @property
    def retry_after(self) -> str | None:
        return self.options.get("retry_after", DEFAULT_RETRY_AFTER)

    @property
    def slow_seconds(self) -> float:
        return float(self.options.get("seconds", DEFAULT_SLOW_SECONDS))


@dataclass
class _PendingFault:
    kind: str
    remaining: int
    endpoint: str | None
    options: dict


@dataclass
class _RandomFaults:
    probability: float
    kinds: tuple[str, ...]
    endpoint: str | None
    rng: random.Random
    options: dict


class FaultInjector:
    """Registry of injected and random faults, shared by all request handler threads under one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[_PendingFault] = []
        self._random: _RandomFaults | None = None
        self._served: Counter[str] = Counter()

    def inject(self, kind: str, count: int = 1, endpoint: str | None = None, **options) -> None:
        """Make the next `count` requests that match `endpoint` (None = any) fail with `kind`."""
        _check_kind(kind)
        _check_endpoint(endpoint)
        if count < 1:
            raise ValueError(f"fault count must be at least 1, got {count}")
        if endpoint is not None and endpoint not in KIND_ENDPOINTS[kind]:
            raise ValueError(f"fault {kind!r} does not apply to the {endpoint} endpoint, only to {', '.join(KIND_ENDPOINTS[kind])}")

        with self._lock:
            self._pending.append(_PendingFault(kind, count, endpoint, dict(options)))
        logger.info("injected fault %s x%d on %s", kind, count, endpoint or "any endpoint")

    def set_probability(self, p: float, kinds: list[str] | None = None, endpoint: str | None = None,
                        seed: int = 0, **options) -> None:
        """Fail a random share `p` of matching requests with one of `kinds` (default: the transient ones)."""
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"fault probability must be within [0, 1], got {p}")
        kinds = tuple(kinds) if kinds else TRANSIENT_KINDS
        for kind in kinds:
            _check_kind(kind)
        _check_endpoint(endpoint)

        with self._lock:
            self._random = _RandomFaults(p, kinds, endpoint, random.Random(seed), dict(options))
        logger.info("random faults at p=%.3f with %s on %s", p, ",".join(kinds), endpoint or "any endpoint")

    def clear(self) -> None:
        """Remove every injected and random fault."""
        with self._lock:
            self._pending.clear()
            self._random = None

    @property
    def served(self) -> dict[str, int]:
        """Count of faults applied so far, by kind."""
        with self._lock:
            return dict(self._served)

    @property
    def pending(self) -> int:
        """Count of injected faults not applied yet."""
        with self._lock:
            return sum(fault.remaining for fault in self._pending)

    def take_response_fault(self, endpoint: str) -> Fault | None:
        """Take the fault that replaces this request's response, if any."""
        return self._take(endpoint, RESPONSE_KINDS)

    def take_pagination_fault(self, kind: str) -> Fault | None:
        """Take a pagination fault of `kind` for a list page where it applies, if one is due."""
        return self._take("list", (kind,))

    def _take(self, endpoint: str, stage_kinds: tuple[str, ...]) -> Fault | None:
        with self._lock:
            for pending in self._pending:
                if pending.kind in stage_kinds and endpoint in KIND_ENDPOINTS[pending.kind] \
                        and pending.endpoint in (None, endpoint):
                    pending.remaining -= 1
                    if pending.remaining == 0:
                        self._pending.remove(pending)
                    return self._serve(Fault(pending.kind, pending.options))

            return self._draw_random(endpoint, stage_kinds)

    def _draw_random(self, endpoint: str, stage_kinds: tuple[str, ...]) -> Fault | None:
        rule = self._random
        if rule is None or rule.endpoint not in (None, endpoint):
            return None
        kinds = [kind for kind in rule.kinds if kind in stage_kinds and endpoint in KIND_ENDPOINTS[kind]]
        if not kinds or rule.rng.random() >= rule.probability:
            return None
        return self._serve(Fault(rule.rng.choice(kinds), rule.options))

    def _serve(self, fault: Fault) -> Fault:
        self._served[fault.kind] += 1
        return fault


def _check_kind(kind: str) -> None:
    if kind not in ALL_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(ALL_KINDS)}")


def _check_endpoint(endpoint: str | None) -> None:
    if endpoint is not None and endpoint not in ENDPOINTS:
        raise ValueError(f"unknown endpoint {endpoint!r}; expected one of {', '.join(ENDPOINTS)} or None")
