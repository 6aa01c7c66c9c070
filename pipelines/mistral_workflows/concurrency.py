"""A limit on requests in flight that shrinks when the API rate-limits us.

Additive increase, multiplicative decrease: every 429 halves the limit (down to one
request at a time), and each run of successful responses as long as the current
limit raises it by one, up to the configured maximum. The sync keeps the API busy
without hammering it once it pushes back.
"""

from __future__ import annotations

import logging
import threading

logger = logging.getLogger(__name__)


class AdaptiveLimit:
    """A semaphore whose capacity adapts to 429 responses; use as a context manager."""

    def __init__(self, maximum: int):
        if maximum < 1:
            raise ValueError(f"concurrency must be at least 1, got {maximum}")
        self.maximum = maximum
        self.current = maximum
        self._in_flight = 0
        self._successes = 0
        self.reductions = 0
        self._condition = threading.Condition()

    def __enter__(self) -> AdaptiveLimit:
        with self._condition:
            while self._in_flight >= self.current:
                self._condition.wait()
            self._in_flight += 1
        return self

    def __exit__(self, *exc_info) -> None:
        with self._condition:
            self._in_flight -= 1
            self._condition.notify()

    def on_rate_limited(self) -> None:
        with self._condition:
            lowered = max(1, self.current // 2)
            if lowered < self.current:
                self.reductions += 1
                # Only the first reduction of a sync is logged at info level, so a long run of 429s stays readable.
                level = logging.INFO if self.reductions == 1 else logging.DEBUG
                logger.log(level, "Rate limited: lowering concurrency from %d to %d", self.current, lowered)
            self.current = lowered
            self._successes = 0

    def on_success(self) -> None:
        with self._condition:
            if self.current >= self.maximum:
                return
            self._successes += 1
            if self._successes >= self.current:
                self.current += 1
                self._successes = 0
                self._condition.notify()
