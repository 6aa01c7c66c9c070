"""Render the benchmark's results as the Markdown page `benchmarks/results.md`."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata

from scenarios import ContenderResult, ScenarioResult
from targets import TargetOutcome

COLUMNS = (
    "contender", "wall s", "CPU s", "requests", "events loaded", "events per wall s", "events per CPU s",
    "peak RSS MB",
)


@dataclass
class RunContext:
    """The command line, settings and machine load of one benchmark run, for the header of the page."""

    command: str
    concurrency: int
    quick: bool
    note: str | None
    skipped: list[str]
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    code_before: str
    code_after: str


def render_page(context: RunContext, scenarios: list[ScenarioResult], targets: list[TargetOutcome]) -> str:
    """Return the whole page: machine, targets, then one section per scenario."""
    sections = [
        _header(context),
        _machine(context),
        _targets(targets),
        *(_scenario(result, context.concurrency) for result in scenarios),
    ]
    return "\n\n".join(section.rstrip() for section in sections) + "\n"


def _header(context: RunContext) -> str:
    written = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmark results",
        "",
        f"Written by `{context.command}` on {written}. How the benchmark works: [README.md](README.md).",
    ]
    if context.quick:
        lines += ["", "**Quick mode**: tiny sizes for the smoke test. These numbers say nothing about performance."]
    lines += ["", f"Code measured: {context.code_before}."]
    if context.code_after != context.code_before:
        lines.append(
            f"The code changed while the benchmark ran; at the end: {context.code_after}. Each contender "
            "process ran the code as it was when that process started."
        )
    if context.note:
        lines += ["", f"Note: {context.note}"]
    for skipped in context.skipped:
        lines += ["", f"Skipped: {skipped}"]
    return "\n".join(lines)


def _machine(context: RunContext) -> str:
    versions = ", ".join(
        f"{name} {_version(name)}" for name in ("dlt", "duckdb", "httpx", "pandas", "pyarrow")
    )
    return "\n".join([
        "## Machine and versions",
        "",
        f"- CPUs (`os.cpu_count()`): {os.cpu_count()}",
        f"- CPU model: {_cpu_model()}",
        f"- Python {platform.python_version()} on {platform.system()} {platform.release()}",
        f"- {versions}",
        f"- Load average (1, 5, 15 min) at the start: {_load(context.load_before)}; at the end: "
        f"{_load(context.load_after)}. A load above the CPU count means other processes competed for the CPUs, "
        "which lengthens wall times more than CPU times.",
    ])


def _load(averages: tuple[float, float, float]) -> str:
    return ", ".join(f"{value:.2f}" for value in averages)


def _targets(targets: list[TargetOutcome]) -> str:
    lines = ["## Targets", "", "| target | scenario | measured | met |", "|---|---|---|---|"]
    for outcome in targets:
        met = {True: "met", False: "**not met**", None: "not measured"}[outcome.met]
        lines.append(f"| {outcome.target} | {outcome.scenario} | {outcome.measured} | {met} |")
    return "\n".join(lines)


def _scenario(result: ScenarioResult, concurrency: int) -> str:
    spec = result.spec
    lines = [
        f"## Scenario `{spec.key}`: {spec.title}",
        "",
        f"Emulator: {_count(spec.runs, 'run')}, about {spec.events_per_run} events per run on average, "
        f"{spec.latency_ms:g} ms added to every request, fixed clock. Our sync runs with `--concurrency "
        f"{concurrency}`; the baselines send one request at a time.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += [_table_row(row) for row in result.rows]
    lines += ["", *_scenario_notes(result)]
    return "\n".join(lines)


def _table_row(row: ContenderResult) -> str:
    cells = [
        row.contender,
        _number(row.wall_s, 2),
        _number(row.cpu_s, 2),
        _number(row.requests, 0),
        _number(row.events, 0),
        _number(row.events_per_wall_s, 0),
        _number(row.events_per_cpu_s, 0),
        _number(row.peak_rss_mb, 0),
    ]
    return "| " + " | ".join(cells) + " |"


def _scenario_notes(result: ScenarioResult) -> list[str]:
    notes = []
    for row in result.rows:
        by_endpoint = ", ".join(f"{name} {count}" for name, count in row.requests_by_endpoint.items() if count)
        details = "; ".join(part for part in (f"requests: {by_endpoint}" if by_endpoint else "", row.note) if part)
        if details:
            notes.append(f"- {row.contender}: {details}")

    if result.no_change is not None:
        check = result.no_change
        verdict = "as expected" if check.requests_as_expected else "NOT as expected"
        notes.append(
            f"- Sync with nothing new: {_count(check.open_runs, 'open run')}, so "
            f"{_count(check.expected_list_pages, 'list page')} and {check.open_runs} history requests expected; "
            f"requests {verdict}."
        )
    if result.row_check is not None:
        verdict = "rows equal" if result.row_check.passed else "ROWS DIFFER"
        notes.append(f"- Row check ({verdict}), run ids and (run_id, event_id) pairs compared with ours:")
        notes += [f"  - {line}" for line in result.row_check.describe().splitlines()]
    elif not result.spec.run_baselines:
        notes.append("- Row check: not run, because the baselines were skipped in this scenario.")
    notes += [f"- {note}" for note in result.notes]
    notes += [f"- FAILED: {failure.splitlines()[0]}" for failure in result.failures]
    return notes


def _count(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _number(value: float | int | None, decimals: int) -> str:
    if value is None:
        return "-"
    if decimals == 0:
        return f"{value:,.0f}"
    return f"{value:,.{decimals}f}"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"
