"""The error raised for a history or a time the normaliser cannot read."""

from __future__ import annotations


class HistoryFormatError(ValueError):
    """A history body, one of its events, or an API time does not have the expected shape."""
