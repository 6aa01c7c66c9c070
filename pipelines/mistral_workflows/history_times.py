"""Parse the instants of runs and history events into UTC datetimes with microseconds.

The API writes times as ISO 8601 with any offset and up to nine fractional digits
(`2025-10-07T20:56:01.974Z`, `...01.974123456-04:00`); Cadence histories give an
event's time as integer nanoseconds since the epoch instead. DuckDB stores
microseconds, so nanoseconds are truncated, never rounded up: an event must not move
past the next microsecond and change places with a later event.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .history_errors import HistoryFormatError

_UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)
_MICROSECOND_DIGITS = 6


def parse_api_time(value: str | None) -> datetime | None:
    """Parse an ISO 8601 time from the API into an aware UTC datetime; None stays None.

    A time without an offset is taken as UTC. Raises HistoryFormatError (a ValueError)
    naming the value when it is not an ISO 8601 date-time.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise HistoryFormatError(f"time {value!r} is a {type(value).__name__}, expected an ISO 8601 string")

    try:
        return _parse_iso(value)
    except ValueError:
        raise HistoryFormatError(
            f"time {value!r} is not a valid ISO 8601 date-time, expected e.g. '2025-10-07T20:56:01.974Z'"
        ) from None
    except OverflowError:
        raise HistoryFormatError(f"time {value!r} is outside the years 1 to 9999 once converted to UTC") from None


def parse_event_time(event: dict) -> datetime | None:
    """Return the instant of one history event in UTC, or None when the event has none.

    Reads `eventTime` (ISO 8601, or a protobuf `{"seconds", "nanos"}` object), else
    Cadence's `timestamp` in integer nanoseconds since the epoch. Raises
    HistoryFormatError when the value is present but unreadable.
    """
    value = event.get("eventTime")
    if value is None:
        nanos = event.get("timestamp")
        return None if nanos is None else _from_epoch_nanos(nanos)

    if isinstance(value, str):
        return parse_api_time(value)
    if isinstance(value, dict):
        return _from_seconds_and_nanos(value)
    raise HistoryFormatError(f"eventTime {value!r} is a {type(value).__name__}, expected an ISO 8601 string")


def _parse_iso(text: str) -> datetime:
    """Parse ISO 8601 text, first cutting a fraction longer than six digits down to six.

    Python 3.11's `fromisoformat` accepts `Z` and any offset. Cutting the fraction here
    truncates nanoseconds without relying on how a Python version treats extra digits.
    """
    dot = text.find(".")
    if dot != -1:
        fraction_end = _fraction_end(text, dot)
        extra_digits = text[dot + 1 + _MICROSECOND_DIGITS : fraction_end]
        if extra_digits:
            if not (extra_digits.isascii() and extra_digits.isdigit()):
                raise ValueError(f"invalid fraction in {text!r}")
            text = text[: dot + 1 + _MICROSECOND_DIGITS] + text[fraction_end:]

    parsed = datetime.fromisoformat(text)
    offset = parsed.tzinfo
    if offset is _UTC:
        return parsed
    if offset is None:
        return parsed.replace(tzinfo=_UTC)
    return parsed.astimezone(_UTC)


def _fraction_end(text: str, dot: int) -> int:
    """Return the index where the offset after a fraction starts (the text's length if none)."""
    if text[-1] in "Zz":
        return len(text) - 1
    sign = max(text.rfind("+"), text.rfind("-"))
    return sign if sign > dot else len(text)


def _from_epoch_nanos(nanos) -> datetime:
    """Convert integer nanoseconds since the epoch (a number or a digit string) to UTC."""
    if isinstance(nanos, bool) or not isinstance(nanos, (int, str)):
        raise HistoryFormatError(f"timestamp {nanos!r} is not an integer count of nanoseconds")

    try:
        # Floor division truncates towards the earlier microsecond, negative times included.
        return _EPOCH + timedelta(microseconds=int(nanos) // 1000)
    except (ValueError, OverflowError):
        raise HistoryFormatError(f"timestamp {nanos!r} is not an integer count of nanoseconds") from None


def _from_seconds_and_nanos(value: dict) -> datetime:
    """Convert a protobuf Timestamp object, `{"seconds": "...", "nanos": ...}`, to UTC."""
    try:
        seconds = int(value.get("seconds", 0))
        nanos = int(value.get("nanos", 0))
        return _EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000)
    except (TypeError, ValueError, OverflowError):
        raise HistoryFormatError(f"eventTime {value!r} is not a valid protobuf Timestamp") from None
