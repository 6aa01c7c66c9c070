"""A response as the handlers build it, before it is written to the socket."""

from __future__ import annotations

import orjson


class Response:
    """Status, body bytes, content type and extra headers of one response."""

    __slots__ = ("status", "body", "content_type", "headers")

    def __init__(self, status: int, body: bytes, content_type: str = "application/json",
                 headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers or {}


def json_response(status: int, value: object, headers: dict[str, str] | None = None) -> Response:
    """Build a JSON response."""
    return Response(status, orjson.dumps(value), headers=headers)
