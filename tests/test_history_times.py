"""parse_api_time and parse_event_time: ISO 8601 with any offset and precision, and nanoseconds."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from mistral_workflows.history import HistoryFormatError, normalise_history, parse_api_time, parse_event_time

UTC = timezone.utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-10-07T20:56:01.974Z", datetime(2025, 10, 7, 20, 56, 1, 974000, tzinfo=UTC)),
        ("2025-10-07T20:56:01Z", datetime(2025, 10, 7, 20, 56, 1, tzinfo=UTC)),
        ("2025-10-07T20:56:01.9Z", datetime(2025, 10, 7, 20, 56, 1, 900000, tzinfo=UTC)),
        ("2025-10-07T20:56:01.123456Z", datetime(2025, 10, 7, 20, 56, 1, 123456, tzinfo=UTC)),
        ("2025-10-07T20:56:01.1234567Z", datetime(2025, 10, 7, 20, 56, 1, 123456, tzinfo=UTC)),
        ("2025-10-07T20:56:01.999999999Z", datetime(2025, 10, 7, 20, 56, 1, 999999, tzinfo=UTC)),
        ("2025-12-31T23:59:59.9999999Z", datetime(2025, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2025-10-07T20:56:01.974+00:00", datetime(2025, 10, 7, 20, 56, 1, 974000, tzinfo=UTC)),
        ("2025-10-07T22:56:01.5+02:00", datetime(2025, 10, 7, 20, 56, 1, 500000, tzinfo=UTC)),
        ("2025-10-07T16:26:01.123456789-04:30", datetime(2025, 10, 7, 20, 56, 1, 123456, tzinfo=UTC)),
        ("2025-10-07T19:56:01-01:00", datetime(2025, 10, 7, 20, 56, 1, tzinfo=UTC)),
        ("2025-10-08T01:56:01.000000001+05:00", datetime(2025, 10, 7, 20, 56, 1, tzinfo=UTC)),
        ("2025-10-07T20:56:01.974", datetime(2025, 10, 7, 20, 56, 1, 974000, tzinfo=UTC)),
    ],
)
def test_api_time_parsed_to_utc(text, expected):
    parsed = parse_api_time(text)

    assert parsed == expected
    assert parsed.tzinfo is UTC
    assert parsed.microsecond == expected.microsecond


def test_api_time_none():
    assert parse_api_time(None) is None


@pytest.mark.parametrize(
    "value",
    ["", "yesterday", "2025-13-07T20:56:01Z", "2025-10-07T20:56:01.12345x789Z", "2025-10-07T25:00:00Z", 1700000000],
)
def test_api_time_garbage_raises(value):
    with pytest.raises(HistoryFormatError) as raised:
        parse_api_time(value)

    assert repr(value) in str(raised.value)
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"eventTime": "2025-10-07T20:56:01.974123Z"}, datetime(2025, 10, 7, 20, 56, 1, 974123, tzinfo=UTC)),
        ({"timestamp": 1574707009824799000}, datetime(2019, 11, 25, 18, 36, 49, 824799, tzinfo=UTC)),
        ({"timestamp": 1574707009824799999}, datetime(2019, 11, 25, 18, 36, 49, 824799, tzinfo=UTC)),
        ({"timestamp": "1574707009824799000"}, datetime(2019, 11, 25, 18, 36, 49, 824799, tzinfo=UTC)),
        ({"timestamp": -1}, datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        ({"eventTime": {"seconds": "1574707009", "nanos": 824799999}}, datetime(2019, 11, 25, 18, 36, 49, 824799, tzinfo=UTC)),
        ({}, None),
        ({"eventTime": None, "timestamp": None}, None),
    ],
)
def test_event_time(event, expected):
    assert parse_event_time(event) == expected


@pytest.mark.parametrize(
    "event",
    [{"eventTime": "soon"}, {"eventTime": 12.5}, {"timestamp": "1.5e18"}, {"timestamp": True}, {"timestamp": 10**30}],
)
def test_event_time_garbage_raises(event):
    with pytest.raises(HistoryFormatError):
        parse_event_time(event)


def test_mixed_time_spellings_in_one_history():
    events = [
        {"eventId": "1", "eventType": "TimerStarted", "eventTime": "2025-10-07T20:56:01Z"},
        {"eventId": 2, "eventType": "TimerStarted", "eventTime": "2025-10-07T22:56:01.5+02:00"},
        {"eventId": "3", "eventType": "TimerStarted", "eventTime": "2025-10-07T16:56:01.123456789-04:00"},
        {"eventId": 4, "eventType": "TimerStarted", "timestamp": 1759870561999999999},
        {"eventId": "5", "eventType": "TimerStarted", "eventTime": "not a time"},
    ]

    rows = normalise_history(events, "run-times")

    assert [row["event_time"] for row in rows] == [
        datetime(2025, 10, 7, 20, 56, 1, tzinfo=UTC),
        datetime(2025, 10, 7, 20, 56, 1, 500000, tzinfo=UTC),
        datetime(2025, 10, 7, 20, 56, 1, 123456, tzinfo=UTC),
        datetime(2025, 10, 7, 20, 56, 1, 999999, tzinfo=UTC),
        None,
    ]


def test_unreadable_time_logged_once(caplog):
    events = [{"eventId": str(i), "eventType": "TimerFired", "eventTime": "never"} for i in range(1, 4)]

    with caplog.at_level("WARNING", logger="mistral_workflows"):
        normalise_history(events, "run-bad-times")

    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1
    assert "run run-bad-times: 3 history events have an unreadable time" in warnings[0]
    assert "'never'" in warnings[0]
