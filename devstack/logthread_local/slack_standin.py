"""A Slack Web API stand-in: real HTTP on 127.0.0.1 for the real ``slack_sdk`` clients.

It serves what logthread uses (``chat.postMessage``, ``chat.update``,
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
import copy
import json
import math
import random
import socket
import struct
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from logthread.slack.blocks import MESSAGE_TEXT, block_errors

RESET = "reset"  # a fault "status" that drops the connection without an answer
RESPONSE_URL_POSTS = 5  # Slack takes 5 posts per response_url


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


@dataclass(slots=True)
class _Channel:
    state: str = "ok"  # ok | not_in_channel | channel_not_found
    messages: list[dict[str, Any]] = field(default_factory=list)  # parents and replies, by ts


class SlackStandin:
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
        self.token = token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self._clock = clock
        self._lock = threading.RLock()
        self._rng = random.Random(seed)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.clear()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> SlackStandin:
        handler = type("_BoundHandler", (_Handler,), {"standin": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
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
            self._channels: dict[str, _Channel] = defaultdict(_Channel)
            self._calls: list[Call] = []
            self._ephemerals: list[dict[str, Any]] = []
            self._files: dict[str, dict[str, Any]] = {}
            self._responses: dict[str, dict[str, Any]] = {}
            self._scripted: dict[str, deque[_Fault]] = defaultdict(deque)
            self._rate = 0.0
            self._rate_kinds: tuple[int | str, ...] = ()
            self._rate_methods: frozenset[str] | None = None
            self._delays: dict[str, float] = {}
            self._limit: tuple[float, float] | None = None
            self._buckets: dict[str, tuple[float, float]] = {}
            self._last_us = 0
            self._seq = 0

    def set_channel(self, channel: str, state: str = "ok") -> None:
        """Make ``channel`` answer ``not_in_channel`` or ``channel_not_found`` (or ``ok``)."""
        if state not in {"ok", "not_in_channel", "channel_not_found"}:
            raise ValueError(f"unknown channel state {state!r}")
        with self._lock:
            self._channels[channel].state = state

    def fail_next(
        self,
        method: str = "*",
        status: int | str = 429,
        retry_after: int = 1,
        count: int = 1,
        *,
        delay: float = 0.0,
        error: str = "",
    ) -> None:
        """Script the next ``count`` answers to ``method`` ("*" = any).

        ``status`` 429 carries ``Retry-After: retry_after``; 500/503 answer a server
        error; ``"reset"`` drops the connection; 200 with ``delay`` is a slow success;
        ``error`` answers HTTP 200 ``{"ok": false, "error": error}``.
        """
        with self._lock:
            for _ in range(count):
                self._scripted[method].append(_Fault(status, retry_after, delay, error))

    def fault_rate(
        self,
        rate: float,
        kinds: Iterable[int | str] = (429, 500, 503, RESET),
        *,
        methods: Iterable[str] | None = None,
        seed: int | None = None,
    ) -> None:
        """Fail a fraction ``rate`` of calls with a fault drawn from ``kinds`` (seeded)."""
        with self._lock:
            self._rate = rate
            self._rate_kinds = tuple(kinds)
            self._rate_methods = None if methods is None else frozenset(methods)
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

    def response_url(self, channel: str = "", user: str = "") -> str:
        """A fresh response_url; ``in_channel`` posts to it land in ``channel``."""
        with self._lock:
            self._seq += 1
            key = f"R{self._seq:06d}"
            self._responses[key] = {"channel": channel, "user": user, "posts": []}
        return f"{self.base}/response/{key}"

    # -- reading the conversation ------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Top-level messages of ``channel``, oldest first (replies are in :meth:`thread`)."""
        with self._lock:
            msgs = self._channels[channel].messages if channel in self._channels else []
            return [copy.deepcopy(m) for m in msgs if m.get("thread_ts", m["ts"]) == m["ts"]]

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The parent message ``ts`` followed by its replies, oldest first."""
        with self._lock:
            msgs = self._channels[channel].messages if channel in self._channels else []
            return [copy.deepcopy(m) for m in msgs if m["ts"] == ts or m.get("thread_ts") == ts]

    def replies(self, channel: str, ts: str) -> list[dict[str, Any]]:
        return self.thread(channel, ts)[1:]

    def conversation(self) -> dict[str, list[dict[str, Any]]]:
        """Every channel → its top-level messages, each with ``replies`` (JSON-ready)."""
        with self._lock:
            channels = [c for c, ch in self._channels.items() if ch.messages]
        return {
            c: [{**m, "replies": self.replies(c, m["ts"])} for m in self.messages(c)]
            for c in channels
        }

    def ephemerals(self, channel: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(e) for e in self._ephemerals if channel in (None, e["channel"])]

    def responses(self, url: str | None = None) -> list[dict[str, Any]]:
        """Bodies posted to ``url`` (or to every response_url), oldest first."""
        with self._lock:
            return [
                copy.deepcopy(p)
                for key, r in self._responses.items()
                if url is None or url.rstrip("/").endswith("/" + key)
                for p in r["posts"]
            ]

    def file(self, file_id: str) -> dict[str, Any]:
        """An uploaded file: ``name``, ``title``, ``content`` (bytes), ``channel``, ``thread_ts``."""
        with self._lock:
            return copy.deepcopy(self._files[file_id])

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
                if self._scripted.get(key):
                    fault = self._scripted[key].popleft()
                    return fault, fault.delay or delay
            wanted = self._rate_methods is None or method in self._rate_methods
            if self._rate and wanted and self._rng.random() < self._rate:
                return _Fault(self._rng.choice(self._rate_kinds)), delay
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

    def _next_ts(self) -> str:
        us = max(int(self._clock() * 1_000_000), self._last_us + 1)
        self._last_us = us
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    def _api(self, method: str, p: dict[str, Any], authorization: str) -> dict[str, Any]:
        token = authorization[7:] if authorization.startswith("Bearer ") else p.get("token", "")
        if not token:
            return {"ok": False, "error": "not_authed"}
        if token != self.token:
            return {"ok": False, "error": "invalid_auth"}
        handler = _API.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        with self._lock:
            return handler(self, p)

    def _check_channel(self, channel: str) -> str:
        if not channel:
            return "channel_not_found"
        state = self._channels[channel].state
        return "" if state == "ok" else state

    def _check_message(self, p: dict[str, Any]) -> str:
        text, blocks = p.get("text") or "", p.get("blocks")
        if not text and not blocks:
            return "no_text"
        if len(text) > MESSAGE_TEXT:
            return "msg_too_long"
        return "invalid_blocks" if blocks is not None and block_errors(blocks) else ""

    def _find(self, channel: str, ts: str) -> dict[str, Any] | None:
        return next((m for m in self._channels[channel].messages if m["ts"] == ts), None)

    def _add_message(
        self, channel: str, thread_ts: str, fields: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, str]:
        parent = None
        if thread_ts:
            parent = self._find(channel, thread_ts)
            if parent is None:
                return None, "thread_not_found"
            # A reply to a reply joins the parent's thread, as in Slack.
            parent = self._find(channel, parent.get("thread_ts", parent["ts"])) or parent
        ts = self._next_ts()
        msg = {"type": "message", "ts": ts, "channel": channel, "user": self.bot_user_id}
        msg.update({k: v for k, v in fields.items() if v is not None})
        if parent is not None:
            msg["thread_ts"] = parent["ts"]
            parent["thread_ts"] = parent["ts"]
            parent["reply_count"] = parent.get("reply_count", 0) + 1
        self._channels[channel].messages.append(msg)
        return msg, ""

    def _post_message(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = str(p.get("channel", ""))
        err = self._check_channel(channel) or self._check_message(p)
        if err:
            return _error(err, p.get("blocks"))
        fields = {"text": p.get("text", ""), "blocks": p.get("blocks")}
        msg, err = self._add_message(channel, str(p.get("thread_ts") or ""), fields)
        if msg is None:
            return _error(err)
        return {"ok": True, "channel": channel, "ts": msg["ts"], "message": copy.deepcopy(msg)}

    def _update(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = str(p.get("channel", ""))
        err = self._check_channel(channel) or self._check_message(p)
        if err:
            return _error(err, p.get("blocks"))
        msg = self._find(channel, str(p.get("ts", "")))
        if msg is None:
            return _error("message_not_found")
        msg["text"] = p.get("text", "")
        msg["blocks"] = p.get("blocks") or []
        msg["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {"ok": True, "channel": channel, "ts": msg["ts"], "text": msg["text"]}

    def _post_ephemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = str(p.get("channel", ""))
        err = self._check_channel(channel) or self._check_message(p)
        if err:
            return _error(err, p.get("blocks"))
        if not p.get("user"):
            return _error("user_not_in_channel")
        ts = self._next_ts()
        keep = ("user", "text", "blocks", "thread_ts")
        self._ephemerals.append({"channel": channel, "message_ts": ts, **_pick(p, keep)})
        return {"ok": True, "message_ts": ts}

    def _auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://logthread-standin.slack.com/",
            "team": "logthread stand-in",
            "user": "logthread",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": "B0LOGTHREAD",
            "is_enterprise_install": False,
        }

    def _get_upload_url(self, p: dict[str, Any]) -> dict[str, Any]:
        try:
            length = int(p.get("length", ""))
        except ValueError:
            return _error("invalid_arguments")
        if not p.get("filename"):
            return _error("invalid_arguments")
        self._seq += 1
        file_id = f"F{self._seq:08d}"
        self._files[file_id] = {
            "id": file_id,
            "name": str(p["filename"]),
            "title": str(p["filename"]),
            "length": length,
            "content": None,
            "channel": "",
            "thread_ts": "",
        }
        return {"ok": True, "upload_url": f"{self.base}/upload/v1/{file_id}", "file_id": file_id}

    def _upload(self, file_id: str, body: bytes) -> tuple[int, str]:
        with self._lock:
            f = self._files.get(file_id)
            if f is None:
                return 404, "file not found"
            f["content"] = body
        return 200, f"OK - {len(body)}"

    def _complete_upload(self, p: dict[str, Any]) -> dict[str, Any]:
        items = p.get("files")
        if not isinstance(items, list) or not items:
            return _error("invalid_arguments")
        files = [self._files.get(str(i.get("id"))) for i in items if isinstance(i, dict)]
        if len(files) != len(items) or any(f is None or f["content"] is None for f in files):
            return _error("file_not_found")
        channel, thread_ts = str(p.get("channel_id") or ""), str(p.get("thread_ts") or "")
        err = self._check_channel(channel) if channel else ""
        if err:
            return _error(err)
        shown = []
        for f, item in zip(files, items, strict=True):
            assert f is not None
            f.update(title=str(item.get("title") or f["name"]), channel=channel)
            f["size"] = len(f["content"])
            shown.append(_public_file(f))
        if channel:
            # Slack shares the files as one message by the bot, in the thread given.
            fields = {"text": p.get("initial_comment") or "", "files": shown}
            msg, err = self._add_message(channel, thread_ts, fields)
            if msg is None:
                return _error(err)
            for f in files:
                assert f is not None
                f["thread_ts"] = msg.get("thread_ts", "")
        return {"ok": True, "files": shown}

    def _respond(self, key: str, body: dict[str, Any]) -> tuple[int, str]:
        with self._lock:
            r = self._responses.get(key)
            if r is None:
                return 404, "invalid_url"
            if len(r["posts"]) >= RESPONSE_URL_POSTS:
                return 404, "used_url"
            if not body.get("text") and not body.get("blocks"):
                return 400, "no_text"
            if body.get("blocks") is not None and block_errors(body["blocks"]):
                return 400, "invalid_blocks"
            r["posts"].append(copy.deepcopy(body))
            if body.get("response_type") == "in_channel" and r["channel"]:
                fields = {"text": body.get("text", ""), "blocks": body.get("blocks")}
                self._add_message(r["channel"], str(body.get("thread_ts") or ""), fields)
            elif r["channel"]:
                keep = ("text", "blocks")
                self._ephemerals.append(
                    {"channel": r["channel"], "user": r["user"], "message_ts": self._next_ts()}
                    | _pick(body, keep)
                )
        return 200, "ok"


_API: dict[str, Callable[[SlackStandin, dict[str, Any]], dict[str, Any]]] = {
    "chat.postMessage": SlackStandin._post_message,
    "chat.update": SlackStandin._update,
    "chat.postEphemeral": SlackStandin._post_ephemeral,
    "auth.test": SlackStandin._auth_test,
    "files.getUploadURLExternal": SlackStandin._get_upload_url,
    "files.completeUploadExternal": SlackStandin._complete_upload,
}


def _error(code: str, blocks: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"ok": False, "error": code}
    if code == "invalid_blocks" and blocks is not None:
        out["response_metadata"] = {"messages": [f"[ERROR] {e}" for e in block_errors(blocks)]}
    return out


def _pick(d: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    return {k: d[k] for k in keys if d.get(k) is not None}


def _public_file(f: dict[str, Any]) -> dict[str, Any]:
    text = f["content"].decode("utf-8", "replace")
    return {"id": f["id"], "name": f["name"], "title": f["title"], "size": f["size"], "text": text}


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
    for key in ("blocks", "files", "attachments"):
        if isinstance(params.get(key), str):
            with contextlib.suppress(ValueError):
                params[key] = json.loads(params[key])
    return params


class _Handler(BaseHTTPRequestHandler):
    standin: SlackStandin
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.standin._handle(self)

    def do_GET(self) -> None:
        # For a dev page: the whole conversation as JSON.
        if urlsplit(self.path).path == "/_standin/conversation":
            self.answer_json(200, self.standin.conversation())
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
