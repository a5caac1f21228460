"""A fault-injecting HTTP proxy in front of the moto server (tests and bench only).

Clients point ``AWS_ENDPOINT_URL`` (or ``endpoint_url``) at :attr:`FaultProxy.url`;
every request is forwarded to moto unchanged, except when a rule picks it.
Rules are per operation, named as the JSON protocol names them in the
``X-Amz-Target`` header (``Logs_20140328.FilterLogEvents``, or just
``FilterLogEvents``), and fire either at a fixed rate drawn from a seeded
random generator (the same seed gives the same sequence of faults) or for a
scripted number of calls:

- :meth:`throttle`: HTTP 400 ``{"__type": "ThrottlingException", ...}``, as
  CloudWatch Logs answers past its ~5 requests per second.
- :meth:`fail`: HTTP 500 or 503 (``ServiceUnavailableException``).
- :meth:`delay`: the request is forwarded after a pause (a slow AWS).
- StopQuery is answered by the proxy itself (moto lacks it).
- :meth:`never_complete`: GetQueryResults answers ``"status": "Running"``
  (a Logs Insights query that never finishes), with the rows found so far
  (CloudWatch returns partial rows while a query runs) or none.

:attr:`FaultProxy.log` records what happened to every request, so tests check
how many calls botocore really made and how many were faults.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = ["FaultProxy", "Rule"]

JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass(slots=True)
class Rule:
    """One fault for one operation: ``kind`` is throttle | 500 | 503 | delay."""

    operation: str
    kind: str
    rate: float = 0.0  # probability per call (seeded); used when count is None
    count: int | None = None  # fire on the next ``count`` calls, then stop
    seconds: float = 0.0  # for delay

    def matches(self, target: str) -> bool:
        return self.operation in ("*", target) or target.endswith("." + self.operation)


def operation_of(target: str) -> str:
    """``FilterLogEvents`` from ``Logs_20140328.FilterLogEvents`` ("" when absent)."""
    return target.rpartition(".")[2]


class FaultProxy:
    """A threaded HTTP proxy on 127.0.0.1 (port 0) that injects AWS faults.

    Parameters
    ----------
    upstream:
        The moto server's URL, e.g. ``http://127.0.0.1:5000``.
    seed:
        Seeds the generator behind rate rules.
    """

    def __init__(self, upstream: str, *, seed: int = 0) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._running_queries: str | None = None  # None | "rows" | "empty"
        self.log: list[tuple[str, str]] = []  # (operation, "ok" | "throttle" | "500" | ...)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                proxy._serve(self)

            do_GET = do_PUT = do_DELETE = do_HEAD = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the test output is for the tests

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                # A delayed call whose client gave up (or whose test ended) finds the
                # socket closed: expected here, not worth a traceback.
                pass

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FaultProxy:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- rules --------------------------------------------------------------------------------

    def throttle(self, operation: str, *, rate: float = 0.0, count: int | None = None) -> Rule:
        """Answer ``operation`` with ThrottlingException (HTTP 400)."""
        return self._add(Rule(operation, "throttle", rate=rate, count=count))

    def fail(
        self, operation: str, *, status: int = 503, rate: float = 0.0, count: int | None = None
    ) -> Rule:
        """Answer ``operation`` with HTTP 500 or 503."""
        if status not in (500, 503):
            raise ValueError("status must be 500 or 503")
        return self._add(Rule(operation, str(status), rate=rate, count=count))

    def delay(self, operation: str, seconds: float, *, count: int | None = None) -> Rule:
        """Forward ``operation`` only after ``seconds`` (every call, or the next ``count``)."""
        return self._add(Rule(operation, "delay", rate=1.0, count=count, seconds=seconds))

    def never_complete(self, *, keep_rows: bool = True) -> None:
        """Make every Logs Insights query look as if it were still running.

        ``keep_rows`` False also withholds the rows (a query that found nothing yet).
        """
        self._running_queries = "rows" if keep_rows else "empty"

    def clear(self) -> None:
        """Remove every rule and forget the log."""
        with self._lock:
            self._rules.clear()
            self.log.clear()
            self._running_queries = None

    def _add(self, rule: Rule) -> Rule:
        with self._lock:
            self._rules.append(rule)
        return rule

    # -- what happened ------------------------------------------------------------------------

    def count(self, operation: str, outcome: str | None = None) -> int:
        """Requests seen for ``operation`` (with ``outcome`` only, when given)."""
        with self._lock:
            return sum(
                1 for op, out in self.log if op == operation and (outcome is None or out == outcome)
            )

    def summary(self) -> dict[str, Counter[str]]:
        """``{operation: Counter(outcome)}`` over every request seen."""
        with self._lock:
            out: dict[str, Counter[str]] = {}
            for op, outcome in self.log:
                out.setdefault(op, Counter())[outcome] += 1
            return out

    # -- serving ------------------------------------------------------------------------------

    def _pick(self, target: str) -> list[Rule]:
        """The rules that fire for this call (at most one fault, any number of delays)."""
        fired: list[Rule] = []
        with self._lock:
            for rule in self._rules:
                if not rule.matches(target):
                    continue
                if rule.kind != "delay" and any(r.kind != "delay" for r in fired):
                    continue  # one fault per call; the later rule waits for the next call
                if rule.count is not None:
                    if rule.count <= 0:
                        continue
                    rule.count -= 1
                elif self._random.random() >= rule.rate:
                    continue
                fired.append(rule)
        return fired

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("content-length") or 0)
        body = request.rfile.read(length) if length else b""
        target = request.headers.get("x-amz-target", "")
        operation = operation_of(target) or request.command
        fired = self._pick(target) if target else []
        for rule in fired:
            if rule.kind == "delay":
                time.sleep(rule.seconds)
        fault = next((r for r in fired if r.kind != "delay"), None)
        if fault is not None:
            self._record(operation, fault.kind)
            self._answer_fault(request, fault.kind)
            return
        if operation == "StopQuery":
            # moto does not implement StopQuery; CloudWatch answers {"success": true}.
            self._record(operation, "stopped")
            self._answer(request, 200, {"success": True})
            return
        status, headers, payload = self._forward(request, body)
        if operation == "GetQueryResults" and self._running_queries and status == 200:
            payload = _still_running(payload, keep_rows=self._running_queries == "rows")
            self._record(operation, "running")
        else:
            self._record(operation, "delayed" if fired else "ok")
        request.send_response(status)
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP:
                request.send_header(name, value)
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)

    def _record(self, operation: str, outcome: str) -> None:
        with self._lock:
            self.log.append((operation, outcome))

    def _forward(
        self, request: BaseHTTPRequestHandler, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(*self._upstream, timeout=60)
        try:
            headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
            headers["Host"] = f"{self._upstream[0]}:{self._upstream[1]}"
            headers["Content-Length"] = str(len(body))
            conn.request(request.command, request.path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()

    @staticmethod
    def _answer_fault(request: BaseHTTPRequestHandler, kind: str) -> None:
        status, error = {
            "throttle": (400, "ThrottlingException"),
            "500": (500, "InternalFailure"),
            "503": (503, "ServiceUnavailableException"),
        }[kind]
        FaultProxy._answer(request, status, {"__type": error, "message": f"{error} (injected)"})

    @staticmethod
    def _answer(request: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", JSON_CONTENT_TYPE)
        request.send_header("x-amzn-RequestId", f"fault-{time.monotonic_ns()}")
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)


def _still_running(payload: bytes, *, keep_rows: bool) -> bytes:
    try:
        data = json.loads(payload)
    except ValueError:
        return payload
    if isinstance(data, dict):
        data["status"] = "Running"
        if not keep_rows:
            data["results"] = []
    return json.dumps(data).encode()
