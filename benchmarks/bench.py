"""Benchmark our sync against dlt's rest_api source, a plain script and the network floor.

Three scenarios, each against its own emulator process with a fixed clock:

- `main`: 2,000 runs x 40 events at 25 ms per request: our full sync, our sync with
  nothing new, the dlt rest_api source, the plain sequential script, and the floor;
- `big`: 20,000 runs x 40 events at 0 ms: our syncs only, because the sequential
  baselines would take most of the time budget (`--big-baselines` adds them);
- `huge`: one run with a 60,000-event history: every contender.

Each contender runs in its own process, so its CPU time and peak RSS are its
alone. The results go to `benchmarks/results.md`. The exit code is 0 even when a
target is missed, 1 when a contender failed or the contenders loaded different rows.

    .venv/bin/python benchmarks/bench.py                              # full run, about 10 minutes
    .venv/bin/python benchmarks/bench.py --quick --skip-big --out /tmp/results.md   # seconds
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

import httpx  # noqa: E402
from emulator_process import EmulatorStartError  # noqa: E402
from results_page import RunContext, render_page  # noqa: E402
from scenarios import ScenarioResult, ScenarioRunner, ScenarioSpec  # noqa: E402
from targets import evaluate_targets  # noqa: E402

logger = logging.getLogger("bench")

BENCH_DIR = Path(__file__).resolve().parent
FULL_SIZES = {
    "runs": 2000, "events": 40, "latency_ms": 25.0,
    "big_runs": 20000, "big_events": 40, "big_latency_ms": 0.0,
    "huge_history_events": 60000,
}
QUICK_SIZES = {
    "runs": 40, "events": 10, "latency_ms": 2.0,
    "big_runs": 200, "big_events": 10, "big_latency_ms": 0.0,
    "huge_history_events": 2000,
}


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, help="Runs in the main scenario (full run: 2000).")
    parser.add_argument("--events", type=int, help="Average events per run in the main scenario (full run: 40).")
    parser.add_argument("--latency-ms", type=float, help="Milliseconds added to every request in the main scenario "
                                                         "(full run: 25).")
    parser.add_argument("--big-runs", type=int, help="Runs in the big scenario (full run: 20000).")
    parser.add_argument("--big-events", type=int, help="Average events per run in the big scenario (full run: 40).")
    parser.add_argument("--big-latency-ms", type=float, help="Milliseconds per request in the big scenario "
                                                             "(full run: 0).")
    parser.add_argument("--huge-history-events", type=int, help="Events in the single run of the huge scenario "
                                                                "(full run: 60000).")
    parser.add_argument("--concurrency", type=int, default=8, help="Requests in flight for our sync (default 8).")
    parser.add_argument("--quick", action="store_true", help="Tiny sizes for the smoke test (40 runs x 10 events, "
                                                             "2 ms); explicit size options still win.")
    parser.add_argument("--skip-big", action="store_true", help="Skip the big scenario (20,000 runs).")
    parser.add_argument("--big-baselines", action="store_true", help="Also run rest_api and the plain script in the "
                                                                     "big scenario (adds a long time: see README.md).")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results.md", help="Results page to write "
                                                                                   "(default benchmarks/results.md).")
    parser.add_argument("--timeout", type=float, default=1800.0, help="Seconds after which a contender is killed "
                                                                      "(default 1800).")
    parser.add_argument("--work-dir", type=Path, help="Keep the DuckDB files and logs here instead of a temporary "
                                                      "folder that is deleted at the end.")
    parser.add_argument("--note", default=os.environ.get("BENCH_NOTE"),
                        help="A sentence written at the top of the results page, such as what else ran on the "
                             "machine (default: $BENCH_NOTE, so that `BENCH_NOTE=... make bench` works).")
    arguments = parser.parse_args(argv)

    sizes = QUICK_SIZES if arguments.quick else FULL_SIZES
    for name, value in sizes.items():
        if getattr(arguments, name) is None:
            setattr(arguments, name, value)
    if arguments.concurrency < 1:
        parser.error(f"--concurrency must be at least 1, got {arguments.concurrency}")
    return arguments


def build_specs(arguments: argparse.Namespace) -> list[ScenarioSpec]:
    """Return the scenarios to run, in order, from the command-line sizes."""
    specs = [ScenarioSpec(
        "main",
        f"{arguments.runs:,} runs x {arguments.events} events, {arguments.latency_ms:g} ms latency",
        arguments.runs, arguments.events, arguments.latency_ms,
    )]
    if not arguments.skip_big:
        specs.append(ScenarioSpec(
            "big",
            f"{arguments.big_runs:,} runs x {arguments.big_events} events, {arguments.big_latency_ms:g} ms latency",
            arguments.big_runs, arguments.big_events, arguments.big_latency_ms,
            run_baselines=arguments.big_baselines,
        ))
    specs.append(ScenarioSpec(
        "huge",
        f"one run with a {arguments.huge_history_events:,}-event history, 0 ms latency",
        1, arguments.huge_history_events, 0.0,
        run_no_change=False,
    ))
    return specs


def run_scenarios(specs: list[ScenarioSpec], work_dir: Path, arguments: argparse.Namespace) -> list[ScenarioResult]:
    results = []
    for spec in specs:
        runner = ScenarioRunner(spec, work_dir, arguments.concurrency, arguments.timeout)
        try:
            results.append(runner.run())
        except (EmulatorStartError, httpx.HTTPError) as error:
            result = ScenarioResult(spec)
            result.failures.append(f"{spec.key}: {error}")
            results.append(result)
    return results


def skipped_parts(arguments: argparse.Namespace) -> list[str]:
    if arguments.skip_big:
        return ["the big scenario (`--skip-big`)."]
    if not arguments.big_baselines:
        return ["the rest_api and plain-script baselines in the big scenario, because at 20,000 runs they would "
                "take far longer than the rest of the benchmark: the rest_api baseline alone takes about 5 minutes "
                "and 7 GB of memory at 2,000 runs (`--big-baselines` runs them)."]
    return []


def code_state() -> str:
    """Describe the checked-out commit and any uncommitted product files, so the page names the code it measured."""
    try:
        commit = _git("rev-parse", "--short", "HEAD").strip()
        changed = _git("status", "--porcelain", "--", "pipelines", "sql", "pyproject.toml")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (git is missing or this is not a git checkout)"

    files = [line[3:] for line in changed.splitlines() if line.strip()]
    if not files:
        return f"commit {commit}, with no uncommitted changes in pipelines/, sql/ or pyproject.toml"
    return f"commit {commit}, with uncommitted changes in {', '.join(files)}"


def _git(*arguments: str) -> str:
    return subprocess.run(["git", *arguments], cwd=BENCH_DIR.parent, capture_output=True, text=True,
                          check=True).stdout


def report_problems(results: list[ScenarioResult]) -> int:
    """Log every failure and row difference; return the exit code."""
    exit_code = 0
    for result in results:
        for failure in result.failures:
            logger.error("%s", failure)
            exit_code = 1
        if result.row_check is not None and not result.row_check.passed:
            logger.error("Scenario %s: the contenders loaded different rows:\n%s", result.spec.key,
                         result.row_check.describe())
            exit_code = 1
    return exit_code


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    arguments = parse_arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # httpx logs every admin request of the emulator client at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)

    specs = build_specs(arguments)
    load_before = os.getloadavg()
    code_before = code_state()
    if arguments.work_dir is not None:
        arguments.work_dir.mkdir(parents=True, exist_ok=True)
        results = run_scenarios(specs, arguments.work_dir.resolve(), arguments)
    else:
        with tempfile.TemporaryDirectory(prefix="mistral-bench-") as work_dir:
            results = run_scenarios(specs, Path(work_dir), arguments)

    by_key = {result.spec.key: result for result in results}
    targets = evaluate_targets(by_key.get("main"), by_key.get("big"), by_key.get("huge"))
    context = RunContext(
        command=" ".join(["benchmarks/bench.py", *argv]).strip(),
        concurrency=arguments.concurrency,
        quick=arguments.quick,
        note=arguments.note,
        skipped=skipped_parts(arguments),
        load_before=load_before,
        load_after=os.getloadavg(),
        code_before=code_before,
        code_after=code_state(),
    )
    page = render_page(context, results, targets)
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(page)
    sys.stdout.write(page)
    logger.info("Results written to %s", arguments.out)

    exit_code = report_problems(results)
    checked = [result.spec.key for result in results if result.row_check is not None]
    if exit_code == 0 and checked:
        logger.info("Row checks passed in %s: every contender loaded the same runs and events", ", ".join(checked))
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
