"""The Slack side of the stand-in: channels, threads, files and response URLs.

:class:`SlackWorkspace` holds the conversation and answers Slack Web API methods
the way Slack does (error codes, thread semantics, file shares), with no HTTP in
it; :class:`logthread_local.slack_standin.SlackStandin` serves it over HTTP and
adds the token check, call recording and fault injection.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from logthread.slack.blocks import MESSAGE_TEXT, block_errors

RESPONSE_URL_POSTS = 5  # Slack takes 5 posts per response_url...
RESPONSE_URL_SECONDS = 30 * 60  # ...within 30 minutes


@dataclass(slots=True)
class _Channel:
    state: str = "ok"  # ok | not_in_channel | channel_not_found
    messages: list[dict[str, Any]] = field(default_factory=list)  # parents and replies, by ts


class SlackWorkspace:
    """One Slack workspace's conversation, as the stand-in's clients see it.

    Public methods are thread-safe; ``_``-methods expect ``self._lock`` held.
    """

    team_id: str
    bot_user_id: str

    def __init__(
        self,
        *,
        team_id: str = "T0STANDIN",
        bot_user_id: str = "U0LOGTHREAD",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self._clock = clock
        self._lock = threading.RLock()
        self._clear_workspace()

    @property
    def base(self) -> str:
        """Where file upload and response URLs point (the stand-in's HTTP root)."""
        return "http://127.0.0.1"

    def use_clock(self, clock: Callable[[], float]) -> None:
        """Take message ts (and rate-limit time) from ``clock`` from now on: a simulation
        gives Slack the worker's clock, as real ones agree to within seconds.
        """
        with self._lock:
            self._clock = clock

    def call_method(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Answer a Web API ``method`` (already authenticated) as Slack would."""
        handler = _API.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        with self._lock:
            return handler(self, params)

    def _clear_workspace(self) -> None:
        with self._lock:
            self._channels: dict[str, _Channel] = defaultdict(_Channel)
            self._ephemerals: list[dict[str, Any]] = []
            self._files: dict[str, dict[str, Any]] = {}
            self._responses: dict[str, dict[str, Any]] = {}
            self._last_us = 0
            self._seq = 0

    def set_channel(self, channel: str, state: str = "ok") -> None:
        """Make ``channel`` answer ``not_in_channel`` or ``channel_not_found`` (or ``ok``)."""
        if state not in {"ok", "not_in_channel", "channel_not_found"}:
            raise ValueError(f"unknown channel state {state!r}")
        with self._lock:
            self._channels[channel].state = state

    def response_url(self, channel: str = "", user: str = "") -> str:
        """A fresh response_url; ``in_channel`` posts to it land in ``channel``."""
        with self._lock:
            self._seq += 1
            key = f"R{self._seq:06d}"
            self._responses[key] = {
                "channel": channel,
                "user": user,
                "posts": [],
                "expires": self._clock() + RESPONSE_URL_SECONDS,
            }
        return f"{self.base}/response/{key}"

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

    def _next_ts(self) -> str:
        us = max(int(self._clock() * 1_000_000), self._last_us + 1)
        self._last_us = us
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

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
        # Kept as Slack keeps them: "Find logs" reads ids from a message's attachments too.
        if isinstance(p.get("attachments"), list):
            fields["attachments"] = p["attachments"]
        metadata = p.get("metadata")
        if metadata is not None:
            if not _valid_metadata(metadata):
                return _error("invalid_metadata_format")
            fields["metadata"] = metadata
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

    def _delete(self, p: dict[str, Any]) -> dict[str, Any]:
        """chat.delete: the bot's own message (a parent's replies stay, as in Slack)."""
        channel = str(p.get("channel", ""))
        err = self._check_channel(channel)
        if err:
            return _error(err)
        msg = self._find(channel, str(p.get("ts", "")))
        if msg is None:
            return _error("message_not_found")
        self._channels[channel].messages.remove(msg)
        return {"ok": True, "channel": channel, "ts": msg["ts"]}

    def _history(self, p: dict[str, Any]) -> dict[str, Any]:
        """conversations.history: top-level messages, newest first, paged by cursor."""
        channel = str(p.get("channel", ""))
        err = self._check_channel(channel)
        if err:
            return _error(err)
        msgs = self._channels[channel].messages
        tops = [m for m in msgs if m.get("thread_ts", m["ts"]) == m["ts"]]
        return _page(tops[::-1], p)

    def _replies(self, p: dict[str, Any]) -> dict[str, Any]:
        """conversations.replies: the parent then its replies, oldest first, paged by cursor."""
        channel = str(p.get("channel", ""))
        err = self._check_channel(channel)
        if err:
            return _error(err)
        parent = self._find(channel, str(p.get("ts", "")))
        if parent is None:
            return _error("thread_not_found")
        root = parent.get("thread_ts", parent["ts"])
        msgs = self._channels[channel].messages
        return _page([m for m in msgs if m["ts"] == root or m.get("thread_ts") == root], p)

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
            if self._clock() > r["expires"]:
                return 404, "expired_url"
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


_API: dict[str, Callable[[SlackWorkspace, dict[str, Any]], dict[str, Any]]] = {
    "chat.postMessage": SlackWorkspace._post_message,
    "chat.update": SlackWorkspace._update,
    "chat.delete": SlackWorkspace._delete,
    "chat.postEphemeral": SlackWorkspace._post_ephemeral,
    "conversations.history": SlackWorkspace._history,
    "conversations.replies": SlackWorkspace._replies,
    "auth.test": SlackWorkspace._auth_test,
    "files.getUploadURLExternal": SlackWorkspace._get_upload_url,
    "files.completeUploadExternal": SlackWorkspace._complete_upload,
}


def _error(code: str, blocks: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"ok": False, "error": code}
    if code == "invalid_blocks" and blocks is not None:
        out["response_metadata"] = {"messages": [f"[ERROR] {e}" for e in block_errors(blocks)]}
    return out


def _valid_metadata(metadata: Any) -> bool:
    # Slack wants {"event_type": str, "event_payload": object}.
    return (
        isinstance(metadata, dict)
        and isinstance(metadata.get("event_type"), str)
        and isinstance(metadata.get("event_payload"), dict)
    )


def _page(msgs: list[dict[str, Any]], p: dict[str, Any]) -> dict[str, Any]:
    """One page of ``msgs`` as Slack pages them: ``oldest``/``latest`` bounds, ``limit``,
    ``cursor``; metadata only with ``include_all_metadata``.
    """
    oldest, latest = float(p.get("oldest") or 0), float(p.get("latest") or "inf")
    within = [m for m in msgs if oldest < float(m["ts"]) <= latest]
    start = int(p.get("cursor") or 0)
    limit = max(1, min(int(p.get("limit") or 100), 999))
    page = within[start : start + limit]
    with_metadata = str(p.get("include_all_metadata", "")).lower() in ("1", "true")
    out = [
        {k: v for k, v in copy.deepcopy(m).items() if with_metadata or k != "metadata"}
        for m in page
    ]
    more = start + limit < len(within)
    return {
        "ok": True,
        "messages": out,
        "has_more": more,
        "response_metadata": {"next_cursor": str(start + limit) if more else ""},
    }


def _pick(d: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    return {k: d[k] for k in keys if d.get(k) is not None}


def _public_file(f: dict[str, Any]) -> dict[str, Any]:
    shown = {"id": f["id"], "name": f["name"], "title": f["title"], "size": f["size"]}
    if f["content"].startswith(b"\x89PNG"):  # an image: Slack gives no text for it
        return {**shown, "mimetype": "image/png", "filetype": "png"}
    return {**shown, "text": f["content"].decode("utf-8", "replace")}
