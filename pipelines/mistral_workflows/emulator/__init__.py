"""An emulator of the Mistral Workflows runs API: a real HTTP server on 127.0.0.1 for demos, tests and benchmarks.

It serves the three read-only endpoints (list, detail, history) over synthetic runs or
a folder of Temporal history files, with a movable clock, fault injection and a
request counter. See `Emulator` for the Python API and `cli.py` for the command.
"""

from mistral_workflows.emulator.emulator import Emulator, RunNotFoundError, RunNotOpenError
from mistral_workflows.emulator.faults import ALL_KINDS, TRANSIENT_KINDS, FaultInjector

__all__ = ["ALL_KINDS", "TRANSIENT_KINDS", "Emulator", "FaultInjector", "RunNotFoundError", "RunNotOpenError"]
