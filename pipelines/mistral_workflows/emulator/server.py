"""The HTTP side of the emulator: routing, auth, request counting, faults and the three API endpoints.

A stdlib `ThreadingHTTPServer` speaking HTTP/1.1 with keep-alive: every response has
a Content-Length and goes out in one write with Nagle's algorithm off, so a client
reusing its connection pays no delayed-ACK stall per request.
"""

from __future__ import annotations

import logging
import re
import socket
import sys
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from mistral_workflows.emulator.admin import handle_admin
from mistral_workflows.emulator.faults import Fault
from mistral_workflows.emulator.listing import (
    PageToken,
    ValidationFailure,
    parse_list_query,
    select_page,
    validation_error,
)
from mistral_workflows.emulator.responses import Response, json_response

if TYPE_CHECKING:
    from mistral_workflows.emulator.emulator import Emulator

logger = logging.getLogger(__name__)

RUN_PATH = re.compile(r"^/v1/workflows/runs/(?P<run_id>[^/]+)(?P<history>/history)?/?$")
LIST_PATH = re.compile(r"^/v1/workflows/runs/?$")
COUNTED_KEYS = ("list", "detail", "history", "unauthorized", "admin", "other")
TRUE_WORDS = {"true", "1", "yes", "on", "t", "y"}
FALSE_WORDS = {"false", "0", "no", "off", "f", "n"}
GATEWAY_HTML = (
    b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
    b"</center><hr><center>nginx</center></body></html>"
)


class RequestCounter:
    """Counts requests by endpoint; rejected and admin requests have their own keys."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, key: str) -> None:
        with self._lock:
            self._counts[key] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {key: self._counts.get(key, 0) for key in COUNTED_KEYS}

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


class EmulatorHTTPServer(ThreadingHTTPServer):
    """Threaded server bound to 127.0.0.1, whose daemon handler threads do not delay shutdown."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, port: int, emulator: Emulator) -> None:
        self.emulator = emulator
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), RequestHandler)

    def process_request(self, request: socket.socket, client_address) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut down every open keep-alive connection, so no client is served after a stop."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError as error:
                logger.debug("connection already closed: %s", error)

    def handle_error(self, request, client_address) -> None:
        """Log a failed connection instead of printing a traceback to stderr."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            logger.debug("client %s closed the connection: %s", client_address, error)
        else:
            logger.exception("connection from %s failed", client_address)


class RequestHandler(BaseHTTPRequestHandler):
    """Reads one request, builds the response through `handle_request`, and writes it in one piece."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "mistral-workflows-emulator"
    sys_version = ""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def log_message(self, format: str, *args) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""

        try:
            response = handle_request(self.server.emulator, self, method, body)
        except Exception as error:
            logger.exception("failed to handle %s %s", method, self.path)
            response = json_response(500, {"detail": f"emulator error: {type(error).__name__}: {error}"})
        if response is None:
            self.close_connection = True
            return
        self._send(response)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)


def handle_request(emulator: Emulator, handler: RequestHandler, method: str, body: bytes) -> Response | None:
    """Build the response to one request, or return None to close the connection without one."""
    parts = urlsplit(handler.path)
    params = parse_qs(parts.query, keep_blank_values=True)

    if parts.path.startswith("/_emulator/"):
        response = handle_admin(emulator, method, parts.path, params, body)
        emulator.counter.add("admin")
        return response

    route = _route(parts.path)
    if route is None or method != "GET":
        emulator.counter.add("other")
        if route is None:
            return json_response(404, {"detail": "Not Found"})
        return json_response(405, {"detail": "Method Not Allowed"}, headers={"Allow": "GET"})

    if emulator.latency_ms > 0:
        time.sleep(emulator.latency_ms / 1000)

    rejection = _check_auth(emulator, handler.headers.get("Authorization"))
    if rejection is not None:
        emulator.counter.add("unauthorized")
        return rejection

    endpoint, run_id = route
    emulator.counter.add(endpoint)
    return _answer_with_faults(emulator, endpoint, run_id, params)


def _route(path: str) -> tuple[str, str | None] | None:
    if LIST_PATH.match(path):
        return "list", None
    match = RUN_PATH.match(path)
    if match is None:
        return None
    return ("history" if match.group("history") else "detail"), match.group("run_id")


def _check_auth(emulator: Emulator, header: str | None) -> Response | None:
    if emulator.api_key is None:
        return None
    challenge = {"WWW-Authenticate": "Bearer"}
    if not header:
        return json_response(401, {"detail": "Missing Authorization header, expected 'Bearer <API key>'"}, challenge)
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or key.strip() != emulator.api_key:
        return json_response(401, {"detail": "Invalid API key"}, challenge)
    return None


def _answer_with_faults(emulator: Emulator, endpoint: str, run_id: str | None, params: dict) -> Response | None:
    fault = emulator.faults.take_response_fault(endpoint)
    if fault is not None:
        logger.debug("applying fault %s to a %s request", fault.kind, endpoint)
        if fault.kind == "drop":
            return None
        if fault.kind == "slow":
            emulator.stopping.wait(fault.slow_seconds)
        elif fault.kind != "truncated_json":
            return _fault_response(fault)

    try:
        response = _answer(emulator, endpoint, run_id, params)
    except ValidationFailure as failure:
        response = json_response(422, {"detail": failure.errors})

    if fault is not None and fault.kind == "truncated_json":
        response.body = response.body[: len(response.body) // 2]
    return response


def _fault_response(fault: Fault) -> Response:
    if fault.kind == "429":
        headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
        return json_response(429, {"detail": "Rate limit exceeded"}, headers)
    if fault.kind in ("502", "504"):
        title = b"502 Bad Gateway" if fault.kind == "502" else b"504 Gateway Time-out"
        page = GATEWAY_HTML.replace(b"502 Bad Gateway", title)
        return Response(int(fault.kind), page, "text/html")
    if fault.kind == "html200":
        return Response(200, GATEWAY_HTML.replace(b"502 Bad Gateway", b"Service temporarily unavailable"), "text/html")
    if fault.kind == "404":
        return json_response(404, {"detail": "Workflow run not found"})
    messages = {"500": "Internal Server Error", "503": "Service Unavailable"}
    return json_response(int(fault.kind), {"detail": messages[fault.kind]})


def _answer(emulator: Emulator, endpoint: str, run_id: str | None, params: dict) -> Response:
    if endpoint == "list":
        return _list_runs(emulator, params)

    path_id = _validate_run_id(run_id)
    now_us = emulator.now_us()
    run = emulator.find_run(path_id)
    if run is None or not run.is_visible(now_us):
        return json_response(404, {"detail": f"Workflow run {run_id} not found"})

    if endpoint == "detail":
        return json_response(200, run.detail(now_us))
    decode = _parse_bool(params, "decode_payloads", default=False)
    return Response(200, run.history(now_us, decode))


def _list_runs(emulator: Emulator, params: dict) -> Response:
    """Serve one page: full pages while more runs remain, and a null token on the last one."""
    query = parse_list_query(params, emulator.legacy_api)
    now_us = emulator.now_us()
    page_size = query.page_size
    offset = query.token.offset if query.token else 0

    if query.token is not None and query.token.is_trailing_empty:
        trailing = PageToken(offset + page_size, is_trailing_empty=True).encode()
        return json_response(200, {"executions": [], "next_page_token": trailing})

    page, has_more = select_page(emulator.runs_by_start(), query, now_us, offset)
    next_token = PageToken(offset + page_size).encode() if has_more else None

    if query.raw_token is not None and emulator.faults.take_pagination_fault("repeat_token"):
        next_token = query.raw_token
    elif not has_more and emulator.faults.take_pagination_fault("empty_last_page"):
        next_token = PageToken(offset + page_size, is_trailing_empty=True).encode()

    executions = [run.list_item(now_us) for run in page]
    return json_response(200, {"executions": executions, "next_page_token": next_token})


def _validate_run_id(run_id: str) -> str:
    try:
        uuid.UUID(run_id)
    except ValueError as error:
        raise ValidationFailure([validation_error(
            "path", "run_id", f"Input should be a valid UUID, {error}", "uuid_parsing", run_id,
        )]) from error
    return run_id


def _parse_bool(params: dict, name: str, default: bool) -> bool:
    values = params.get(name)
    if not values:
        return default
    text = values[-1].lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValidationFailure([validation_error(
        "query", name, "Input should be a valid boolean, unable to interpret input", "bool_parsing", values[-1],
    )])
