"""Helpers for tests that read the emulator over plain HTTP."""

from __future__ import annotations

from datetime import datetime

import httpx


def list_all(client: httpx.Client, **params) -> list[dict]:
    """Follow next_page_token to the end and return every execution."""
    executions, token = [], None
    for _ in range(1000):
        query = dict(params, page_size=params.get("page_size", 1000))
        if token:
            query["next_page_token"] = token
        page = client.get("/v1/workflows/runs", params=query)
        assert page.status_code == 200, page.text
        body = page.json()
        executions.extend(body["executions"])
        token = body["next_page_token"]
        if token is None:
            return executions
    raise AssertionError("pagination did not end after 1000 pages")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)
