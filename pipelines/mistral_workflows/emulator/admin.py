"""Admin endpoints under `/_emulator/`, for a client that drives the emulator from another process.

They need no API key and are never counted as list, detail or history requests.
Invalid input gets a 422 response with a message naming the parameter.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import orjson

from mistral_workflows.emulator.responses import Response, json_response
from mistral_workflows.emulator.timeutil import us_to_datetime

if TYPE_CHECKING:
    from mistral_workflows.emulator.emulator import Emulator

logger = logging.getLogger(__name__)


class AdminInputError(ValueError):
    """An admin request carried a missing or invalid parameter."""


def handle_admin(emulator: Emulator, method: str, path: str, params: dict, body: bytes) -> Response:
    """Route one admin request to its action and return the response."""
    routes = {
        ("GET", "/_emulator/requests"): _get_requests,
        ("POST", "/_emulator/reset-requests"): _reset_requests,
        ("POST", "/_emulator/advance"): _advance,
        ("POST", "/_emulator/add-runs"): _add_runs,
        ("POST", "/_emulator/faults"): _set_faults,
        ("DELETE", "/_emulator/faults"): _clear_faults,
        ("GET", "/_emulator/now"): _get_now,
    }
    action = routes.get((method, path.rstrip("/")))
    if action is None:
        return json_response(404, {"detail": f"No admin endpoint {method} {path}"})

    try:
        return json_response(200, action(emulator, params, body))
    except ValueError as error:
        logger.warning("rejected admin request %s %s: %s", method, path, error)
        return json_response(422, {"detail": str(error)})


def _get_requests(emulator: Emulator, params: dict, body: bytes) -> dict:
    return emulator.requests


def _reset_requests(emulator: Emulator, params: dict, body: bytes) -> dict:
    emulator.reset_requests()
    return {"requests": emulator.requests}


def _advance(emulator: Emulator, params: dict, body: bytes) -> dict:
    seconds = _number_param(params, "seconds", float)
    emulator.advance(seconds)
    return {"now": _now_text(emulator)}


def _add_runs(emulator: Emulator, params: dict, body: bytes) -> dict:
    count = _number_param(params, "count", int)
    return {"run_ids": emulator.add_runs(count)}


def _set_faults(emulator: Emulator, params: dict, body: bytes) -> dict:
    """Inject faults from a JSON body: {"kind", "count", "endpoint", ...options} or {"probability", "kinds", ...}."""
    try:
        spec = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError as error:
        raise AdminInputError(f"fault body is not valid JSON: {error}") from error
    if not isinstance(spec, dict):
        raise AdminInputError("fault body must be a JSON object")

    if "probability" in spec:
        options = {key: value for key, value in spec.items() if key not in ("probability", "kinds", "endpoint", "seed")}
        emulator.faults.set_probability(float(spec["probability"]), kinds=spec.get("kinds"),
                                        endpoint=spec.get("endpoint"), seed=int(spec.get("seed", 0)), **options)
    elif "kind" in spec:
        options = {key: value for key, value in spec.items() if key not in ("kind", "count", "endpoint")}
        emulator.faults.inject(str(spec["kind"]), count=int(spec.get("count", 1)), endpoint=spec.get("endpoint"),
                               **options)
    else:
        raise AdminInputError("fault body needs either 'kind' or 'probability'")
    return {"pending": emulator.faults.pending}


def _clear_faults(emulator: Emulator, params: dict, body: bytes) -> dict:
    emulator.faults.clear()
    return {"pending": 0}


def _get_now(emulator: Emulator, params: dict, body: bytes) -> dict:
    return {"now": _now_text(emulator)}


def _now_text(emulator: Emulator) -> str:
    return us_to_datetime(emulator.now_us()).isoformat().replace("+00:00", "Z")


def _number_param(params: dict, name: str, kind: type) -> float | int:
    values = params.get(name)
    if not values:
        raise AdminInputError(f"missing query parameter {name!r}")
    try:
        return kind(values[-1])
    except ValueError as error:
        raise AdminInputError(f"query parameter {name!r} must be a number, got {values[-1]!r}") from error
