"""A one-line progress counter on stderr, shown only when stderr is a terminal."""

from __future__ import annotations

import sys
import time


class Progress:
    """Overwrite one stderr line with `fetched N of M runs`, at most ten times a second."""

    def __init__(self, total: int, *, enabled: bool):
        self.total = total
        self.done = 0
        self.enabled = enabled and total > 0 and sys.stderr.isatty()
        self._last_draw = 0.0

    def advance(self) -> None:
        self.done += 1
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last_draw >= 0.1 or self.done == self.total:
            self._last_draw = now
            sys.stderr.write(f"\rfetched {self.done} of {self.total} runs")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()
