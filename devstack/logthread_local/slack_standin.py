"""A Slack Web API stand-in: real HTTP on 127.0.0.1 for the real ``slack_sdk`` clients.

It serves what logthread uses (``chat.postMessage``, ``chat.update``, ``chat.delete``,
``chat.postEphemeral``, ``auth.test``, the three-step ``files_upload_v2`` flow and
``response_url`` posts), keeps the conversation (channels, threads, files) so
tests read what a person would see, and records every call. Faults are scripted
(:meth:`SlackStandin.fail_next`) or drawn at a fixed rate from a seeded RNG
(:meth:`SlackStandin.fault_rate`); a per-channel rate limit answers 429 with
``Retry-After`` like Slack's ~1 message/s per channel. It is strict where Slack is
(block limits, token, channel membership) so the renderer's limits are checked
by something other than itself.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import socket
import struct
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from logthread_local.slack_workspace import RESPONSE_URL_POSTS, SlackWorkspace

__all__ = ["RESET", "RESPONSE_URL_POSTS", "SLOW", "Call", "SlackStandin", "SlackWorkspace"]

RESET = "reset"  # a fault "status" that drops the connection without an answer
# A fault_rate kind: answer (and do the work) only after ``slow_seconds``, so a client
# with a shorter timeout gives up on a call that lands anyway, as Slack's slow answers do.
SLOW = "slow"


@dataclass(frozen=True, slots=True)
class Call:
    """One request the stand-in received, whatever it answered."""

    method: str  # "chat.postMessage"..., "upload" (file bytes) or "response_url"
    params: dict[str, Any]  # JSON-string fields (blocks, files) decoded
    time: float  # clock() when it arrived
    status: int  # HTTP status answered (0 = connection reset)
    error: str = ""  # Slack error code answered, "" when ok
    fault: str = ""  # injected fault: "429", "500", "reset", "slow", "ratelimit", an error code


@dataclass(slots=True)
class _Fault:
    status: int | str = 429
    retry_after: int = 1
    delay: float = 0.0
    error: str = ""
    match: Callable[[dict[str, Any]], bool] | None = None


class SlackStandin(SlackWorkspace):
    """The stand-in server. Use as a context manager or call :meth:`start` / :meth:`stop`.

    Parameters
    ----------
    token:
        The bot token the clients must send (``invalid_auth`` otherwise).
    seed:
        Seed of the RNG behind :meth:`fault_rate`, so a chaos run repeats exactly.
    clock:
        Epoch seconds; drives ``ts`` values, call times and the rate limit.
    """

    def __init__(
        self,
        token: str = "xoxb-logthread-standin",
        *,
        team_id: str = "T0STANDIN",
        bot_user_id: str = "U0LOGTHREAD",
        seed: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(team_id=team_id, bot_user_id=bot_user_id, clock=clock)
        self.token = token
        self._rng = random.Random(seed)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.clear()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> SlackStandin:
        handler = type("_BoundHandler", (_Handler,), {"standin": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown() waits up to one poll
            name="slack-standin",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> SlackStandin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base(self) -> str:
        """``http://127.0.0.1:<port>``."""
        if self._server is None:
            raise RuntimeError("stand-in not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        """The ``base_url`` for ``WebClient`` (ends in ``/api/``)."""
        return f"{self.base}/api/"

    # -- setup -------------------------------------------------------------------------------

    def clear(self) -> None:
        """Forget conversation, calls, faults and channel settings."""
        with self._lock:
            self._clear_workspace()
            self._calls: list[Call] = []
            self._scripted: dict[str, deque[_Fault]] = defaultdict(deque)
            self._rate = 0.0
            self._rate_kinds: tuple[int | str, ...] = ()
            self._rate_methods: frozenset[str] | None = None
            self._slow_seconds = 0.0
            self._delays: dict[str, float] = {}
            self._limit: tuple[float, float] | None = None
            self._buckets: dict[str, tuple[float, float]] = {}

    def fail_next(
        self,
        method: str = "*",
        status: int | str = 429,
        retry_after: int = 1,
        count: int = 1,
        *,
        delay: float = 0.0,
        error: str = "",
        match: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        """Script the next ``count`` answers to ``method`` ("*" = any).

        ``status`` 429 carries ``Retry-After: retry_after``; 500/503 answer a server
        error; ``"reset"`` drops the connection; 200 with ``delay`` is a slow success;
        ``error`` answers HTTP 200 ``{"ok": false, "error": error}``. With ``match``,
        only calls whose params it accepts draw these faults (e.g. thread replies).
        """
        with self._lock:
            for _ in range(count):
                self._scripted[method].append(_Fault(status, retry_after, delay, error, match))

    def fault_rate(
        self,
        rate: float,
        kinds: Iterable[int | str] = (429, 500, 503, RESET),
        *,
        methods: Iterable[str] | None = None,
        seed: int | None = None,
        slow_seconds: float = 2.0,
    ) -> None:
        """Fail a fraction ``rate`` of calls with a fault drawn from ``kinds`` (seeded).

        A kind :data:`SLOW` answers successfully after ``slow_seconds``.
        """
        with self._lock:
            self._rate = rate
            self._rate_kinds = tuple(kinds)
            self._rate_methods = None if methods is None else frozenset(methods)
            self._slow_seconds = slow_seconds
            if seed is not None:
                self._rng.seed(seed)

    def slow(self, seconds: float, method: str = "*") -> None:
        """Delay every answer to ``method`` by ``seconds`` (0 removes the delay)."""
        with self._lock:
            self._delays[method] = seconds

    def rate_limit(self, per_second: float | None = 1.0, burst: float = 1.0) -> None:
        """Limit ``chat.postMessage`` per channel (token bucket); ``None`` turns it off."""
        with self._lock:
            self._limit = None if per_second is None else (per_second, burst)
            self._buckets.clear()

    # -- reading the conversation ------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    # -- request handling (called on server threads) -----------------------------------------

    def _handle(self, h: _Handler) -> None:
        parts = urlsplit(h.path)
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        path = parts.path
        if path.startswith("/api/"):
            method, key = path[len("/api/") :], ""
        elif path.startswith("/upload/v1/"):
            method, key = "upload", path.rsplit("/", 1)[-1]
        elif path.startswith("/response/"):
            method, key = "response_url", path.rsplit("/", 1)[-1]
        else:
            h.answer(404, "text/plain", b"not found")
            return
        params = _params(parts.query, h.headers.get("Content-Type", ""), body, method)
        fault, delay = self._draw_fault(method, params)
        if delay:
            time.sleep(delay)
        if fault is not None and fault.status == RESET:
            self._record(method, params, 0, "", RESET)
            h.reset()
            return
        if fault is not None and fault.status != 200:
            self._answer_fault(h, method, params, fault)
            return
        if fault is not None and fault.error:
            self._record(method, params, 200, fault.error, fault.error)
            h.answer_json(200, {"ok": False, "error": fault.error})
            return
        slow = "slow" if delay else ""
        if method == "upload":
            status, text = self._upload(key, body)
            self._record(method, {"file_id": key, "bytes": len(body)}, status, "", slow)
            h.answer(status, "text/plain", text.encode())
        elif method == "response_url":
            status, text = self._respond(key, params)
            self._record(method, params, status, "" if status == 200 else text, slow)
            h.answer(status, "text/plain", text.encode())
        else:
            result = self._api(method, params, h.headers.get("Authorization", ""))
            self._record(method, params, 200, result.get("error", ""), slow)
            h.answer_json(200, result)

    def _draw_fault(self, method: str, params: dict[str, Any]) -> tuple[_Fault | None, float]:
        with self._lock:
            delay = self._delays.get(method, self._delays.get("*", 0.0))
            for key in (method, "*"):
                queue = self._scripted.get(key) or deque()
                fault = next((f for f in queue if f.match is None or f.match(params)), None)
                if fault is not None:
                    queue.remove(fault)
                    return fault, fault.delay or delay
            wanted = self._rate_methods is None or method in self._rate_methods
            if self._rate and wanted and self._rng.random() < self._rate:
                kind = self._rng.choice(self._rate_kinds)
                if kind == SLOW:
                    return _Fault(200, delay=self._slow_seconds), self._slow_seconds
                return _Fault(kind), delay
            if method == "chat.postMessage" and self._limit is not None:
                wait = self._take_token(str(params.get("channel", "")))
                if wait:
                    return _Fault(429, wait, error="ratelimit"), delay
        return None, delay

    def _take_token(self, channel: str) -> int:
        assert self._limit is not None
        per_second, burst = self._limit
        now = self._clock()
        tokens, last = self._buckets.get(channel, (burst, now))
        tokens = min(burst, tokens + (now - last) * per_second)
        if tokens >= 1:
            self._buckets[channel] = (tokens - 1, now)
            return 0
        self._buckets[channel] = (tokens, now)
        return max(1, math.ceil((1 - tokens) / per_second))

    def _answer_fault(self, h: _Handler, method: str, params: dict[str, Any], f: _Fault) -> None:
        status = int(f.status)
        label = f.error or str(status)
        if status == 429:
            self._record(method, params, 429, "ratelimited", label)
            h.answer_json(
                429, {"ok": False, "error": "ratelimited"}, {"Retry-After": f.retry_after}
            )
        else:
            self._record(method, params, status, f"http_{status}", label)
            # Like an edge proxy's error page: not JSON, so clients can't lean on a body.
            h.answer(status, "text/html", f"<html><body>{status}</body></html>".encode())

    def _record(
        self, method: str, params: dict[str, Any], status: int, err: str, fault: str
    ) -> None:
        with self._lock:
            self._calls.append(Call(method, params, self._clock(), status, err, fault))

    def _api(self, method: str, p: dict[str, Any], authorization: str) -> dict[str, Any]:
        token = authorization[7:] if authorization.startswith("Bearer ") else p.get("token", "")
        if not token:
            return {"ok": False, "error": "not_authed"}
        if token != self.token:
            return {"ok": False, "error": "invalid_auth"}
        return self.call_method(method, p)


def _params(query: str, content_type: str, body: bytes, method: str) -> dict[str, Any]:
    """Slack takes form-encoded or JSON bodies (and query strings); decode JSON-string fields."""
    params: dict[str, Any] = dict(parse_qsl(query))
    if method == "upload":
        return params
    if "json" in content_type or method == "response_url":
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            data = {}
        params.update(data if isinstance(data, dict) else {})
    else:
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    for key in ("blocks", "files", "attachments", "metadata"):
        if isinstance(params.get(key), str):
            with contextlib.suppress(ValueError):
                params[key] = json.loads(params[key])
    return params


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a storm test opens many connections at once (default 5)


class _Handler(BaseHTTPRequestHandler):
    standin: SlackStandin
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.standin._handle(self)

    def do_GET(self) -> None:
        # For a dev page: the whole conversation as JSON.
        path = urlsplit(self.path).path
        if path == "/_standin/conversation":
            self.answer_json(200, self.standin.conversation())
        elif path.startswith("/api/"):
            self.standin._handle(self)  # slack_sdk reads conversations.* with GET
        else:
            self.answer(404, "text/plain", b"not found")

    def answer(
        self, status: int, content_type: str, body: bytes, headers: dict[str, Any] | None = None
    ) -> None:
        # The client may have timed out and gone: nothing to answer then.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, str(v))
            self.end_headers()
            self.wfile.write(body)

    def answer_json(self, status: int, data: Any, headers: dict[str, Any] | None = None) -> None:
        body = json.dumps(data, default=_json_default).encode()
        self.answer(status, "application/json; charset=utf-8", body, headers)

    def reset(self) -> None:
        # SO_LINGER 0 makes close() send RST: the client sees "connection reset by peer".
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _json_default(obj: Any) -> Any:
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    raise TypeError(type(obj).__name__)
