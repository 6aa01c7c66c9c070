"""Logging for people running the sync from cron: stderr, timestamps, no secrets.

Text lines by default; `--log-format json` writes one JSON object per line for log
shippers. A filter replaces the API key wherever it would appear, as a last line
of defence behind code that never logs it.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

REDACTED = "***"
MIN_SECRET_LENGTH = 6


_SECRETS: list[str] = []


def register_secret(secret: str | None) -> None:
    """Redact this value from every log line from now on, wherever it was read from."""
    # Very short values (a one-letter test key) would mangle every line they occur in.
    if secret and len(secret) >= MIN_SECRET_LENGTH and secret not in _SECRETS:
        _SECRETS.append(secret)


# NOTE: only the exact key is replaced: an echo that changes its case, or quotes only
# part of it, is logged as it came.
class SecretFilter(logging.Filter):
    """Replace each registered secret in a record's final message with ***."""

    @property
    def secrets(self) -> list[str]:
        return _SECRETS

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, REDACTED)
            record.msg, record.args = message, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            if any(secret in text for secret in self.secrets):
                record.exc_info, record.exc_text = None, _redact(text, self.secrets)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message (and error, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["error"] = record.exc_text
        for key in ("summary",):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        return json.dumps(entry, default=str)


def setup_logging(*, log_format: str = "text", verbose: bool = False, secrets: list[str] | None = None) -> None:
    """Send this package's logs, and dlt's errors, to stderr; call once per process."""
    # Each logger gets its own handler: dlt replaces the formatter of the first handler
    # it finds on its logger, which must not be ours.
    for name in ("mistral_workflows", "dlt"):
        package_logger = logging.getLogger(name)
        package_logger.handlers[:] = [_stderr_handler(log_format, secrets or [])]
        package_logger.propagate = False
    logging.getLogger("mistral_workflows").setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("dlt").setLevel(logging.INFO if verbose else logging.ERROR)


def _stderr_handler(log_format: str, secrets: list[str]) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S%z"))
    for secret in secrets:
        register_secret(secret)
    handler.addFilter(SecretFilter())
    return handler


def _redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text
