"""Settings of one sync, with their defaults in one place.

This module imports nothing heavy, so the CLI can read settings and take the
database lock before it loads dlt, pandas and pyarrow.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

DEFAULT_BASE_URL = "https://api.mistral.ai"
DEFAULT_DUCKDB_PATH = Path("mistral_runs.duckdb")
DEFAULT_DATASET = "mistral_workflows"
# The API accepts up to 1000; 500 keeps each page well under a few hundred kilobytes.
DEFAULT_PAGE_SIZE = 500
DEFAULT_LOOKBACK = timedelta(hours=1)
DEFAULT_CONCURRENCY = 8
# Larger attribute objects are stored truncated; 64 KiB keeps any one event row small
# while leaving room for typical LLM prompts and tool outputs.
DEFAULT_MAX_EVENT_BYTES = 64 * 1024
PIPELINE_NAME = "mistral_workflows_sync"
# dlt rewrites other dataset names (my-runs becomes my_runs), after which the views
# and the report would look for the wrong schema: such names are rejected instead.
DATASET_NAME_PATTERN = re.compile(r"[a-z_][a-z0-9_]{0,62}")


@dataclass
class SyncOptions:
    """Everything one sync needs to know; built by the CLI or by tests."""

    api_key: str
    base_url: str = DEFAULT_BASE_URL
    duckdb_path: Path = DEFAULT_DUCKDB_PATH
    dataset: str = DEFAULT_DATASET
    page_size: int = DEFAULT_PAGE_SIZE
    lookback: timedelta = DEFAULT_LOOKBACK
    since: datetime | None = None
    full_refresh: bool = False
    with_history: bool = True
    decode_payloads: bool = True
    drop_payloads: bool = False
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
    concurrency: int = DEFAULT_CONCURRENCY
    timeout_s: float = 30.0
    max_attempts: int = 6
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    show_progress: bool = False

    def __post_init__(self) -> None:
        self.duckdb_path = Path(self.duckdb_path).expanduser().resolve()

    @property
    def pipelines_dir(self) -> Path:
        """dlt's working folder, kept beside the database so each file has its own state."""
        return self.duckdb_path.parent / f".{self.duckdb_path.name}.dlt"

    @property
    def pipeline_name(self) -> str:
        """dlt pipeline name, one per dataset, so that each dataset keeps its own cursor."""
        return f"{PIPELINE_NAME}__{self.dataset}"

    @property
    def lock_path(self) -> Path:
        return self.duckdb_path.parent / f".{self.duckdb_path.name}.lock"

    def validate(self) -> None:
        """Raise InvalidOption (or ConfigError for the key) for settings that cannot work."""
        from .errors import ConfigError, InvalidOption

        if not DATASET_NAME_PATTERN.fullmatch(self.dataset):
            raise InvalidOption(
                f"Invalid --dataset {self.dataset!r}: use lowercase letters, digits and underscores, "
                "starting with a letter or underscore (for example mistral_workflows)"
            )
        if self.duckdb_path.stem.lower() == self.dataset.lower():
            raise InvalidOption(
                f"The database file {self.duckdb_path.name} is named like the dataset {self.dataset!r}, which makes "
                f"{self.dataset}.runs ambiguous in DuckDB; choose another --duckdb file name or --dataset"
            )
        if not re.fullmatch(r"https?://[^/\s]+(/[^\s]*)?", self.base_url):
            raise InvalidOption(f"Invalid --base-url {self.base_url!r}: expected http:// or https:// and a host")
        if not 1 <= self.page_size <= 1000:
            raise InvalidOption(f"--page-size must be between 1 and 1000, got {self.page_size}")
        if self.concurrency < 1:
            raise InvalidOption(f"--concurrency must be at least 1, got {self.concurrency}")
        if not math.isfinite(self.lookback.total_seconds()):
            raise InvalidOption("--lookback must be a finite number of minutes")
        if self.api_key and not re.fullmatch(r"[\x21-\x7e]+", self.api_key):
            raise ConfigError(
                "MISTRAL_API_KEY contains spaces, line breaks or non-ASCII characters; copy the key again without them"
            )

    def __repr__(self) -> str:
        # The key must never reach a log line or a traceback through a repr.
        return f"SyncOptions(base_url={self.base_url!r}, duckdb_path={str(self.duckdb_path)!r}, dataset={self.dataset!r})"


def api_key_from_environment() -> str | None:
    """Read MISTRAL_API_KEY; empty counts as missing."""
    value = os.environ.get("MISTRAL_API_KEY", "").strip()
    return value or None


def base_url_from_environment() -> str:
    return os.environ.get("MISTRAL_API_BASE_URL", "").strip() or DEFAULT_BASE_URL
