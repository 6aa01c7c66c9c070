"""The API emulator in its own process, so that its CPU time never counts against a contender.

It runs `mistral-runs emulator --port 0` (as `python -m mistral_workflows.cli`), which
picks a free port and prints one line with the base URL. The request counter is read and reset through
the emulator's admin endpoints, which are not counted as API requests.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import threading
from pathlib import Path

import httpx

logger = logging.getLogger(__name__)

API_KEY = "bench-key"
URL_PATTERN = re.compile(r"http://127\.0\.0\.1:\d+")
API_ENDPOINTS = ("list", "detail", "history")


class EmulatorStartError(RuntimeError):
    """The emulator process exited or printed no URL in time."""


class EmulatorProcess:
    """One emulator serving `runs` synthetic runs at a fixed clock, until `stop`."""

    def __init__(self, runs: int, events_per_run: int, latency_ms: float, now: str, log_path: Path,
                 seed: int = 7) -> None:
        self.command = [
            sys.executable, "-m", "mistral_workflows.cli", "emulator",
            "--port", "0",
            "--api-key", API_KEY,
            "--runs", str(runs),
            "--events-per-run", str(events_per_run),
            "--latency-ms", str(latency_ms),
            "--now", now,
            "--seed", str(seed),
        ]
        self.log_path = log_path
        self.url: str | None = None
        self._process: subprocess.Popen | None = None
        self._http: httpx.Client | None = None

    def start(self, timeout_s: float = 300.0) -> str:
        """Start the process, wait for the line with its URL and return the URL."""
        self._log_file = open(self.log_path, "wb")
        self._process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=self._log_file, text=True)
        line = self._read_first_line(timeout_s)
        match = URL_PATTERN.search(line or "")
        if match is None:
            self.stop()
            raise EmulatorStartError(
                f"the emulator printed no URL within {timeout_s:.0f} s (first line: {line!r}); see {self.log_path}"
            )

        self.url = match.group(0)
        self._http = httpx.Client(base_url=self.url, timeout=30.0)
        logger.info("Emulator serving at %s", self.url)
        return self.url

    def reset_requests(self) -> None:
        response = self._http.post("/_emulator/reset-requests")
        response.raise_for_status()

    def requests(self) -> dict[str, int]:
        """Return the API requests served since the last reset, by endpoint, plus rejected ones."""
        response = self._http.get("/_emulator/requests")
        response.raise_for_status()
        counts = response.json()
        return {key: counts.get(key, 0) for key in (*API_ENDPOINTS, "unauthorized", "other")}

    def stop(self) -> None:
        """Terminate the emulator, and kill it if it has not exited 10 s later.

        SIGTERM rather than SIGINT, because a non-interactive shell starts background
        commands with SIGINT ignored, and their children inherit that. The emulator has
        nothing to save.
        """
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._process is None:
            return

        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                logger.warning("The emulator did not stop within 10 s of SIGTERM; killing it")
                self._process.kill()
                self._process.wait()
        self._process.stdout.close()
        self._log_file.close()
        self._process = None

    def __enter__(self) -> EmulatorProcess:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _read_first_line(self, timeout_s: float) -> str | None:
        """Read the first stdout line in a thread, giving up after timeout_s if the emulator prints nothing."""
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(self._process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout_s)
        return lines[0] if lines else None
