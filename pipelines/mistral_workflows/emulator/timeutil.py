"""Instants as integer microseconds since the Unix epoch, and their ISO 8601 forms.

The emulator keeps every instant as an int of microseconds (UTC) so that plans stay
small and comparisons stay cheap. Text only appears when a response is rendered.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
US_PER_MS = 1_000
US_PER_S = 1_000_000


def datetime_to_us(moment: datetime) -> int:
    """Convert a datetime to epoch microseconds; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)

    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * US_PER_S + delta.microseconds


def us_to_datetime(instant_us: int) -> datetime:
    """Convert epoch microseconds to an aware UTC datetime."""
    return EPOCH + timedelta(microseconds=instant_us)


_SECOND_PREFIXES: dict[int, str] = {}
_MAX_CACHED_SECONDS = 4096


def format_us(instant_us: int) -> str:
    """Render an instant as ISO 8601 with microseconds and `Z`, as Temporal writes event times.

    Events of one history cluster within a few seconds, so the date-and-time part is
    cached per second, because this function dominates the time to render a long history.
    """
    seconds, micros = divmod(instant_us, US_PER_S)
    prefix = _SECOND_PREFIXES.get(seconds)
    if prefix is None:
        if len(_SECOND_PREFIXES) >= _MAX_CACHED_SECONDS:
            _SECOND_PREFIXES.clear()
        prefix = f"{us_to_datetime(seconds * US_PER_S):%Y-%m-%dT%H:%M:%S}"
        _SECOND_PREFIXES[seconds] = prefix
    return f"{prefix}.{micros:06d}Z"


def format_run_time(instant_us: int) -> str:
    """Render a run's start or end time like the API: milliseconds when that is exact, else microseconds."""
    moment = us_to_datetime(instant_us)
    if moment.microsecond % US_PER_MS == 0:
        return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // US_PER_MS:03d}Z"
    return format_us(instant_us)


def parse_iso_us(text: str) -> int:
    """Parse ISO 8601 text with any offset and up to nanoseconds into epoch microseconds.

    Digits beyond microseconds are dropped. Raises ValueError on text that is not a
    date-time; a value without an offset is taken as UTC.
    """
    return datetime_to_us(datetime.fromisoformat(text))


def truncate_to_ms(instant_us: int) -> int:
    """Drop the sub-millisecond part, so that run times print exactly with three digits."""
    return instant_us - instant_us % US_PER_MS
