"""`mistral-runs emulator`: serve the API emulator in the foreground until Ctrl-C."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import click

from mistral_workflows.emulator.emulator import Emulator


def _parse_now(context: click.Context, parameter: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter(f"expected an ISO 8601 date-time such as 2025-10-01T12:00:00Z, got {value!r}") from error
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


@click.command("emulator")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="TCP port on 127.0.0.1, or 0 for a free port.")
@click.option("--api-key", default="demo-key", show_default=True,
              help="API key clients must send as 'Authorization: Bearer KEY'.")
@click.option("--runs", type=click.IntRange(min=0), default=300, show_default=True,
              help="Number of synthetic runs visible at the start (ignored with --histories).")
@click.option("--seed", type=int, default=7, show_default=True,
              help="Seed of the synthetic data. The same seed and --now give the same responses.")
@click.option("--events-per-run", type=click.IntRange(min=5), default=None,
              help="Target average number of history events per run  [default: a realistic mix of about 10 to 80].")
@click.option("--histories", "histories_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="Folder of Temporal history JSON files to serve, one run per file, instead of synthetic runs.")
@click.option("--latency-ms", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Delay added to every API request, in milliseconds.")
@click.option("--now", callback=_parse_now, default=None,
              help="Fix the emulator clock at this ISO 8601 time (UTC when no offset)  [default: real time].")
@click.option("--legacy-api", is_flag=True, default=False,
              help="Behave like an older API that ignores sort_by, order and the start/end time filters.")
def emulator_command(port: int, api_key: str, runs: int, seed: int, events_per_run: int | None,
                     histories_dir: Path | None, latency_ms: float, now: datetime | None, legacy_api: bool) -> None:
    """Serve an emulator of the Mistral Workflows runs API on 127.0.0.1 until Ctrl-C.

    It serves GET /v1/workflows/runs, /v1/workflows/runs/{run_id} and
    /v1/workflows/runs/{run_id}/history like the real API, and offers admin
    endpoints under /_emulator/ (requests, reset-requests, advance, add-runs,
    faults, now) to drive it from another process.
    """
    emulator = Emulator(api_key=api_key, runs=runs, seed=seed, now=now, events_per_run=events_per_run,
                        histories_dir=histories_dir, latency_ms=latency_ms, legacy_api=legacy_api, port=port)
    try:
        url = emulator.start()
    except OSError as error:
        raise click.ClickException(
            f"Cannot serve on 127.0.0.1:{port} ({error.strerror}); pick another --port, or 0 for a free one"
        ) from None
    run_count = len(emulator.run_ids())
    click.echo(f"Serving the Mistral Workflows API emulator at {url} ({run_count} runs, api key: {api_key})")
    emulator.serve_forever()
