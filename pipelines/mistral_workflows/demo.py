"""The offline demo: the bundled emulator, a full sync, and a summary read from the views."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

import click
import duckdb
import filelock

from .emulator import Emulator
from .errors import InvalidOption, SyncAlreadyRunning
from .settings import DEFAULT_DATASET, SyncOptions
from .sync import run_sync

logger = logging.getLogger(__name__)

DEMO_API_KEY = "demo-key"


def run_demo(duckdb_path: Path, *, runs: int, seed: int, report_path: Path | None) -> None:
    """Serve `runs` synthetic runs on 127.0.0.1, sync them into a fresh file, print a summary."""
    clock = time.monotonic()
    options = SyncOptions(api_key=DEMO_API_KEY, duckdb_path=duckdb_path)
    options.validate()
    options.duckdb_path.parent.mkdir(parents=True, exist_ok=True)

    with _demo_lock(options):
        _remove_previous_demo(options)
        with Emulator(api_key=DEMO_API_KEY, runs=runs, seed=seed) as emulator:
            options.base_url = emulator.url
            summary = run_sync(options)
        _demo_marker(options).touch()
    logger.info(summary.line())

    if report_path is not None:
        from .report import write_report

        write_report(options.duckdb_path, report_path, DEFAULT_DATASET)
    _print_summary(options.duckdb_path, DEFAULT_DATASET, time.monotonic() - clock, summary.total_requests, report_path)


def _demo_lock(options: SyncOptions):
    """Take the sync lock of the demo file, released when the returned context exits."""
    lock = filelock.FileLock(str(options.lock_path), timeout=0)
    try:
        return lock.acquire()
    except filelock.Timeout:
        raise SyncAlreadyRunning(f"A sync of {options.duckdb_path} is running; the demo does not replace it") from None


def _demo_marker(options: SyncOptions) -> Path:
    return options.duckdb_path.parent / f".{options.duckdb_path.name}.demo"


def _remove_previous_demo(options: SyncOptions) -> None:
    """Delete the previous demo database and state, and nothing that the demo did not write.

    The demo dataset is anchored at the current time, so each demo starts from an empty
    file. A file without the demo's marker beside it is someone's data and is kept.
    """
    if options.duckdb_path.exists() and not _demo_marker(options).exists():
        raise InvalidOption(
            f"{options.duckdb_path} exists and was not written by the demo; "
            "pass another --duckdb path (the demo replaces its file on every run)"
        )
    for path in (options.duckdb_path, options.duckdb_path.with_name(options.duckdb_path.name + ".wal")):
        path.unlink(missing_ok=True)
    shutil.rmtree(options.pipelines_dir, ignore_errors=True)


def _print_summary(duckdb_path: Path, dataset: str, elapsed_s: float, requests: int, report_path: Path | None) -> None:
    connection = duckdb.connect(str(duckdb_path), read_only=True)
    try:
        run_count = connection.execute(f'select count(*) from "{dataset}".runs').fetchall()[0][0]
        event_count = connection.execute(f'select count(*) from "{dataset}".run_events').fetchall()[0][0]
        statuses = connection.execute(
            f'select coalesce(status, \'(null)\'), count(*) from "{dataset}".runs_enriched group by 1 order by 2 desc'
        ).fetchall()
        workflows = connection.execute(
            f"""
            select workflow_name, runs, count_completed, count_failed, success_rate, p95_duration_s
            from "{dataset}".workflow_stats
            order by runs desc
            """
        ).fetchall()
    finally:
        connection.close()

    click.echo("")
    click.echo(f"Demo finished in {elapsed_s:.1f} s: {run_count:,} runs and {event_count:,} history events "
               f"loaded with {requests:,} requests into {duckdb_path}")
    click.echo("Runs by status: " + ", ".join(f"{status} {count}" for status, count in statuses))
    click.echo("")
    click.echo(f"{'workflow':<24} {'runs':>6} {'completed':>10} {'failed':>7} {'success':>8} {'p95 duration s':>15}")
    for name, total, completed, failed, success, p95 in workflows:
        success_text = f"{success:.0%}" if success is not None else "-"
        p95_text = f"{p95:.1f}" if p95 is not None else "-"
        click.echo(f"{name:<24} {int(total):>6} {int(completed):>10} {int(failed):>7} {success_text:>8} {p95_text:>15}")
    click.echo("")
    if report_path is not None:
        click.echo(f"Report: {report_path.resolve()}")
    click.echo(f"Explore: notebooks/ (set MISTRAL_RUNS_DUCKDB={duckdb_path}) or query the views in schema {dataset}.")
