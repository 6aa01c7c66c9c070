"""The `mistral-runs` command: sync, demo, emulator, report.

Expected failures (bad key, unreachable API, a sync already running, a database
held open elsewhere) print one line and exit with their own code, without a
traceback. The lock is taken before dlt, pandas and pyarrow are imported, so when
two syncs start together the first one to start is the one that runs.
"""

from __future__ import annotations

import logging
import math
import signal
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click
import filelock

from .errors import (
    EXIT_UNEXPECTED,
    EXIT_USAGE,
    ConfigError,
    DatabaseBusy,
    InvalidOption,
    SyncAlreadyRunning,
    SyncError,
)
from .logs import register_secret, setup_logging
from .settings import (
    DEFAULT_CONCURRENCY,
    DEFAULT_DATASET,
    DEFAULT_DUCKDB_PATH,
    DEFAULT_MAX_EVENT_BYTES,
    DEFAULT_PAGE_SIZE,
    SyncOptions,
    api_key_from_environment,
    base_url_from_environment,
)

logger = logging.getLogger("mistral_workflows.cli")

EXIT_CODES_HELP = """\b
Exit codes:
  0   success
  1   unexpected error (a bug: please report it with the log)
  2   the API key is missing, malformed or rejected (MISTRAL_API_KEY)
  3   the API failed: unreachable, retries used up, or invalid responses
  4   another sync of the same database is running
  5   the database file is held open by another process, or cannot be written
  64  invalid command-line usage, or a report path that cannot be written
"""


@click.group(epilog=EXIT_CODES_HELP)
@click.version_option(package_name="mistral-workflows-sync")
def cli() -> None:
    """Sync Mistral Workflows runs and their Temporal event histories into DuckDB."""


def _finite(context: click.Context, parameter: click.Parameter, value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number")
    return value


def _database_options(function):
    function = click.option(
        "--dataset",
        default=DEFAULT_DATASET,
        show_default=True,
        help="DuckDB schema that contains the tables and views.",
    )(function)
    function = click.option(
        "--duckdb",
        "duckdb_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=DEFAULT_DUCKDB_PATH,
        show_default=True,
        help="DuckDB file of the synced data. Relative paths are taken from the current folder.",
    )(function)
    return function


def _log_options(function):
    function = click.option("-v", "--verbose", is_flag=True, help="Log every request and dlt's own messages.")(function)
    function = click.option(
        "--log-format",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="Log line format on stderr; json writes one object per line for log shippers.",
    )(function)
    return function


@cli.command(epilog=EXIT_CODES_HELP)
@click.option(
    "--base-url",
    default=None,
    help="API base URL. Default: $MISTRAL_API_BASE_URL, else https://api.mistral.ai.",
)
@_database_options
@click.option("--full-refresh", is_flag=True, help="Drop the tables and the saved sync state, then fetch every run again.")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]),
    default=None,
    help="Backfill: list runs started at or after this UTC date or time instead of using the saved cursor.",
)
@click.option(
    "--lookback",
    "lookback_minutes",
    type=click.FloatRange(min=0),
    default=60,
    show_default=True,
    callback=_finite, help="Minutes before the saved cursor that each listing starts, to catch runs that are listed late.",
)
@click.option("--page-size", type=click.IntRange(1, 1000), default=DEFAULT_PAGE_SIZE, show_default=True, help="Runs per list page (API maximum 1000).")
@click.option("--concurrency", type=click.IntRange(1, 64), default=DEFAULT_CONCURRENCY, show_default=True, help="Maximum requests in flight; lowered automatically on HTTP 429.")
@click.option("--no-history", is_flag=True, help="Load runs only, without their event histories.")
@click.option("--raw-payloads", is_flag=True, help="Keep payloads base64-encoded instead of decoding them to JSON.")
@click.option("--no-payloads", is_flag=True, help="Store no run result and no payload data at all (for sensitive workflow inputs).")
@click.option(
    "--max-event-bytes",
    type=click.IntRange(min=1024),
    default=DEFAULT_MAX_EVENT_BYTES,
    show_default=True,
    help="Bytes of JSON above which an event's attributes are stored truncated, with a marker.",
)
@click.option("--retries", type=click.IntRange(0, 20), default=5, show_default=True, help="Retries of a request after a transient failure (429, 5xx, timeout, dropped connection), with exponential backoff.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=30.0, show_default=True, callback=_finite, help="Seconds to wait for one API response.")
@click.option("--wait", "wait_s", type=click.FloatRange(min=0), default=0.0, show_default=True, callback=_finite, help="Seconds to wait for a running sync or a reader of the database before giving up.")
@_log_options
def sync(base_url, duckdb_path, dataset, full_refresh, since, lookback_minutes, page_size, concurrency, no_history,
         raw_payloads, no_payloads, max_event_bytes, retries, timeout_s, wait_s, log_format, verbose) -> None:
    """Fetch new and changed runs with their histories and merge them into DuckDB.

    Reads the key from MISTRAL_API_KEY (or dlt secrets: sources.mistral_workflows.api_key).
    Safe to re-run and to run from cron: one sync at a time per database file.
    """
    api_key = api_key_from_environment()
    setup_logging(log_format=log_format, verbose=verbose, secrets=[api_key] if api_key else [])
    options = SyncOptions(
        api_key=api_key or "",
        base_url=base_url or base_url_from_environment(),
        duckdb_path=duckdb_path,
        dataset=dataset,
        page_size=page_size,
        lookback=timedelta(minutes=lookback_minutes),
        since=since.replace(tzinfo=since.tzinfo or timezone.utc) if since else None,
        full_refresh=full_refresh,
        with_history=not no_history,
        decode_payloads=not raw_payloads,
        drop_payloads=no_payloads,
        max_event_bytes=max_event_bytes,
        concurrency=concurrency,
        timeout_s=timeout_s,
        max_attempts=retries + 1,
        show_progress=True,
    )
    _exit_on_error(options.validate)
    with _sync_lock(options, wait_s):
        _run_sync_command(options, wait_s, log_format)


@cli.command()
@click.option(
    "--duckdb",
    "duckdb_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("demo/mistral_runs.duckdb"),
    show_default=True,
    help="DuckDB file for the demo; replaced on every demo run.",
)
@click.option("--runs", type=click.IntRange(1, 100_000), default=300, show_default=True, help="Synthetic runs the emulator serves.")
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the synthetic dataset.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Also write the HTML report to this file.")
@_log_options
def demo(duckdb_path, runs, seed, report_path, log_format, verbose) -> None:
    """Run the whole pipeline offline: emulator on a free loopback port, sync, summary."""
    from .demo import run_demo

    setup_logging(log_format=log_format, verbose=verbose)
    _exit_on_error(lambda: run_demo(duckdb_path, runs=runs, seed=seed, report_path=report_path))


@cli.command()
@_database_options
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=Path("report.html"), show_default=True, help="HTML file to write.")
def report(duckdb_path, dataset, out_path) -> None:
    """Write a self-contained HTML report of the views (opens the database read-only)."""
    from .report import write_report

    setup_logging()

    def write() -> None:
        try:
            write_report(duckdb_path, out_path, dataset)
        except OSError as error:
            raise InvalidOption(f"Cannot write the report to {out_path}: {error.strerror or error}") from None
        click.echo(f"Report written to {out_path} ({out_path.stat().st_size:,} bytes)")

    _exit_on_error(write)


def _add_emulator_command() -> None:
    from .emulator.cli import emulator_command

    cli.add_command(emulator_command, name="emulator")


def _sync_lock(options: SyncOptions, wait_s: float):
    """Take the sync lock of the database. The returned context releases it.

    filelock uses flock on Linux, so the kernel frees the lock when its holder dies and
    a lock left by a killed sync does not block the next one.
    """
    _create_database_folder(options.duckdb_path.parent)
    lock = filelock.FileLock(str(options.lock_path), timeout=wait_s)
    try:
        held = lock.acquire()
    except filelock.Timeout:
        _fail(SyncAlreadyRunning(
            f"Another sync of {options.duckdb_path} is running (lock {options.lock_path}); "
            "exiting. Pass --wait SECONDS to wait for it instead"
        ))
    except OSError as error:  # after Timeout, which is an OSError too
        _fail(DatabaseBusy(
            f"Cannot create the lock file {options.lock_path}: {error.strerror or error}. "
            "The folder of --duckdb must be writable"
        ))
    return held


def _create_database_folder(folder: Path) -> None:
    """Create the folder of --duckdb when it is missing, with a warning.

    The warning makes a typo in a cron path visible instead of silently starting a new database.
    """
    if folder.is_dir():
        return

    nearest_existing = next((parent for parent in (folder, *folder.parents) if parent.exists()), None)
    if nearest_existing is not None and not nearest_existing.is_dir():
        _fail(InvalidOption(f"Invalid --duckdb path: {nearest_existing} is a file, not a folder"))
    try:
        folder.mkdir(parents=True)
    except OSError as error:
        _fail(DatabaseBusy(
            f"Cannot create the folder {folder} for --duckdb: {error.strerror or error}. Its parent must be writable"
        ))
    logger.warning("Created the folder %s for the database, which did not exist", folder)


def _run_sync_command(options: SyncOptions, wait_s: float, log_format: str) -> None:
    def run() -> None:
        from .sync import run_sync

        if not options.api_key:
            options.api_key = _api_key_from_dlt_secrets() or ""
            register_secret(options.api_key)
        if not options.api_key:
            raise ConfigError("No API key: set MISTRAL_API_KEY (or sources.mistral_workflows.api_key in .dlt/secrets.toml)")
        summary = run_sync(options, wait_s=wait_s)
        logger.info(summary.line(), extra={"summary": summary.as_dict()})

    _exit_on_error(run)


def _api_key_from_dlt_secrets() -> str | None:
    import dlt

    try:
        value = dlt.secrets.get("sources.mistral_workflows.api_key")
    except Exception:  # a malformed secrets.toml is reported as a missing key
        return None
    return str(value) if value else None


def _exit_on_error(action) -> None:
    try:
        action()
    except SyncError as error:
        _fail(error)
    except KeyboardInterrupt as interrupt:
        # dlt installs its own handler while it normalises and loads, and raises an
        # interrupt carrying the signal number instead of calling ours.
        signal_number = getattr(interrupt, "signal_code", None) or _interrupting_signal
        logger.error("Interrupted; the next sync loads whatever this one had extracted")
        sys.exit(128 + signal_number)
    except Exception:
        logger.exception("Unexpected error; please report it with this log")
        sys.exit(EXIT_UNEXPECTED)


def _fail(error: SyncError) -> None:
    logger.error("%s", error)
    sys.exit(error.exit_code)


_interrupting_signal = signal.SIGINT


def _interrupt_on_sigterm() -> None:
    """Turn SIGTERM (from cron, systemd or kill) into the same clean stop as Ctrl-C."""

    def interrupt(signal_number, frame) -> None:
        global _interrupting_signal
        _interrupting_signal = signal_number
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script; usage errors exit 64, not click's 2 (2 means a bad key)."""
    _add_emulator_command()
    _interrupt_on_sigterm()
    try:
        cli.main(args=argv, prog_name="mistral-runs", standalone_mode=False)
    except click.exceptions.Exit as exit_request:
        sys.exit(exit_request.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(EXIT_USAGE)
    sys.exit(0)


if __name__ == "__main__":
    main()
