"""Errors of the sync, each with the exit code the CLI turns it into.

Retriable and fatal API failures are distinguished here and nowhere else: the
client retries exactly the errors whose `retriable` is true.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_AUTH = 2
EXIT_API = 3
EXIT_SYNC_RUNNING = 4
EXIT_DATABASE_BUSY = 5
EXIT_USAGE = 64


class SyncError(Exception):
    """A failure the CLI reports as one line and an exit code, without a traceback."""

    exit_code = EXIT_UNEXPECTED


class ApiError(SyncError):
    """The API returned something the sync cannot use."""

    exit_code = EXIT_API
    retriable = False

    def __init__(self, message: str, *, endpoint: str | None = None, status_code: int | None = None):
        super().__init__(message)
        self.endpoint = endpoint
        self.status_code = status_code


class AuthError(ApiError):
    """401 or 403: the key is missing, wrong or lacks access. Never retried."""

    exit_code = EXIT_AUTH


class RunNotFound(ApiError):
    """404 on a run's detail or history: it was deleted or is not visible yet."""


class RequestRejected(ApiError):
    """422 or another 4xx: the request itself is wrong, so repeating it cannot help."""


class TransientApiError(ApiError):
    """429, 5xx, a dropped connection, a timeout, or a body that is not the expected JSON."""

    retriable = True

    def __init__(self, message: str, *, retry_after_s: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after_s = retry_after_s


class RateLimited(TransientApiError):
    """429 Too Many Requests."""


class InvalidResponse(TransientApiError):
    """A body that is not the JSON the endpoint returns: a proxy's HTML page, truncated or wrongly shaped JSON."""


class PaginationError(ApiError):
    """The run list handed out a page token it had already given in this listing."""


class ConfigError(SyncError):
    """A setting is missing or invalid (for example no API key)."""

    exit_code = EXIT_AUTH


class SyncAlreadyRunning(SyncError):
    """Another sync holds the lock of this database."""

    exit_code = EXIT_SYNC_RUNNING


class DatabaseBusy(SyncError):
    """The DuckDB file is held open by another process (a notebook, say)."""

    exit_code = EXIT_DATABASE_BUSY


class InvalidOption(SyncError):
    """An option value that cannot work, such as a database file named like its dataset."""

    exit_code = EXIT_USAGE
