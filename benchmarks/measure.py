"""Run one command in its own process and measure its wall time, CPU time and peak memory.

The figures come from `os.wait4` on that one child, so they belong to it alone:
the emulator and the benchmark process itself are never counted.
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)


@dataclass
class ProcessUsage:
    """Resources one finished process used. `peak_rss_mb` is in MB of 10**6 bytes (Linux reports ru_maxrss in KiB)."""

    exit_code: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    timed_out: bool = False


def run_measured(command: list[str], env: dict[str, str], cwd: Path, log_path: Path,
                 timeout_s: float) -> ProcessUsage:
    """Run `command` to completion with stdout and stderr in `log_path`; kill it after `timeout_s`."""
    logger.debug("Running %s", " ".join(command))
    with open(log_path, "wb") as log_file:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=log_file, stderr=subprocess.STDOUT)
        timed_out = threading.Event()
        killer = threading.Timer(timeout_s, _kill, args=(process, timed_out))
        killer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            killer.cancel()
        wall_s = time.perf_counter() - started

    # wait4 reaped the child, so Popen must not try to wait for it again.
    process.returncode = os.waitstatus_to_exitcode(status)
    return ProcessUsage(
        exit_code=process.returncode,
        wall_s=wall_s,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss * 1024 / 1_000_000,
        timed_out=timed_out.is_set(),
    )


def _kill(process: subprocess.Popen, timed_out: threading.Event) -> None:
    logger.warning("Killing %s after its timeout", process.args[1] if len(process.args) > 1 else process.args[0])
    timed_out.set()
    process.kill()


def tail(path: Path, lines: int = 15) -> str:
    """Return the last `lines` lines of a log file, to show why a contender failed."""
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])
