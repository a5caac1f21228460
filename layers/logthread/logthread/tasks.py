"""The messages on the task topic: the project's own versioned JSON.

Three kinds, all published by the ingress only: a search task (``/logsearch`` or
a result's button), an alarm rescan ("Search logs again" on an alarm thread) and
an alarm claim ("I'm on it" on an alarm message).
The worker serves both the alarm topic and the task topic and tells them apart
by the message itself (:func:`logthread.worker.inbox.decode`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from logthread.query import SearchQuery, TimeWindow

MARKER = "logthread.task"
VERSION = 1


@dataclass(frozen=True, slots=True)
class ReplyTo:
    """Where the worker answers."""

    channel: str
    thread_ts: str = ""  # "" = start a new parent message
    response_url: str = ""  # fallback when the bot can't post in the channel
    user_id: str = ""
    team_id: str = ""


@dataclass(frozen=True, slots=True)
class SearchTask:
    query: SearchQuery
    reply: ReplyTo
    origin: str = "command"  # command | button
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        q = self.query
        return json.dumps(
            {
                "type": MARKER,
                "version": VERSION,
                "kind": "search",
                "origin": self.origin,
                "query": {
                    "request_id": q.request_id,
                    "functions": list(q.functions),
                    "log_groups": list(q.log_groups),
                    "window": None
                    if q.window is None
                    else {"start_ms": q.window.start_ms, "end_ms": q.window.end_ms},
                    "context_lines": q.context_lines,
                    "max_lines": q.max_lines,
                },
                "reply": {
                    "channel": self.reply.channel,
                    "thread_ts": self.reply.thread_ts,
                    "response_url": self.reply.response_url,
                    "user_id": self.reply.user_id,
                    "team_id": self.reply.team_id,
                },
                "extra": self.extra,
            },
            separators=(",", ":"),
        )


class NotATask(ValueError):
    """The message is not one of ours: treat it as a notification."""


def parse_task(body: str) -> SearchTask:
    """Read a task message; raise :class:`NotATask` for anything else.

    A message that says it is ours but has an unknown version or a broken shape
    raises ``ValueError`` (not ``NotATask``): it must not be posted as an alarm.
    """
    try:
        data = json.loads(body)
    except (TypeError, ValueError, RecursionError) as exc:
        raise NotATask(str(exc)) from None
    if not isinstance(data, dict) or data.get("type") != MARKER:
        raise NotATask("no task marker")
    return task_from_dict(data)


def task_from_dict(data: dict[str, Any]) -> SearchTask:
    """The task in a decoded message whose ``type`` is :data:`MARKER` (ValueError if broken)."""
    if data.get("version") != VERSION:
        raise ValueError(f"unsupported task version: {data.get('version')!r}")
    try:
        q = data["query"]
        r = data["reply"]
        window = q.get("window")
        query = SearchQuery(
            request_id=str(q["request_id"]),
            functions=tuple(str(f) for f in q.get("functions", ())),
            log_groups=tuple(str(g) for g in q.get("log_groups", ())),
            window=None
            if not window
            else TimeWindow(int(window["start_ms"]), int(window["end_ms"])),
            context_lines=int(q.get("context_lines", 0)),
            max_lines=int(q.get("max_lines", 500)),
        )
        reply = ReplyTo(
            channel=str(r["channel"]),
            thread_ts=str(r.get("thread_ts", "")),
            response_url=str(r.get("response_url", "")),
            user_id=str(r.get("user_id", "")),
            team_id=str(r.get("team_id", "")),
        )
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise ValueError(f"malformed task message: {exc}") from None
    return SearchTask(
        query=query,
        reply=reply,
        origin=str(data.get("origin", "command")),
        extra=dict(data.get("extra") or {}),
    )


# -- alarm rescans --------------------------------------------------------------------------

RESCAN_MARKER = "logthread.alarm_rescan"
RESCAN_VERSION = 1


@dataclass(frozen=True, slots=True)
class AlarmRescan:
    """A request to run an alarm's discovery again and answer in its thread.

    It names an episode, never a log group: what is searched is decided again
    by the worker's own configuration (routing, mapping, allowed prefixes).
    """

    episode_key: str
    window: TimeWindow
    channel: str
    thread_ts: str
    user_id: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {
                "type": RESCAN_MARKER,
                "version": RESCAN_VERSION,
                "episode": self.episode_key,
                "window": [self.window.start_ms, self.window.end_ms],
                "reply": {
                    "channel": self.channel,
                    "thread_ts": self.thread_ts,
                    "user_id": self.user_id,
                },
            },
            separators=(",", ":"),
        )


def rescan_from_dict(data: dict[str, Any]) -> AlarmRescan:
    """The rescan in a decoded message whose ``type`` is :data:`RESCAN_MARKER`.

    Raises ``ValueError`` for another version or a broken shape.
    """
    if data.get("version") != RESCAN_VERSION:
        raise ValueError(f"unsupported alarm rescan version: {data.get('version')!r}")
    try:
        start, end = data["window"]
        reply = data["reply"]
        rescan = AlarmRescan(
            episode_key=str(data["episode"]),
            window=TimeWindow(int(start), int(end)),
            channel=str(reply["channel"]),
            thread_ts=str(reply["thread_ts"]),
            user_id=str(reply.get("user_id", "")),
        )
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise ValueError(f"malformed alarm rescan: {exc}") from None
    if not rescan.episode_key or not sane_window(rescan.window):
        raise ValueError("malformed alarm rescan: empty episode or window")
    return rescan


def parse_rescan(body: str) -> AlarmRescan | None:
    """The rescan in ``body``, or None when the body is anything else or broken."""
    try:
        data = json.loads(body)
    except (TypeError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("type") != RESCAN_MARKER:
        return None
    try:
        return rescan_from_dict(data)
    except ValueError:
        return None


def sane_window(window: TimeWindow) -> bool:
    """Whether a window from outside can be rendered as dates (1970 to 3000, start < end)."""
    return 0 <= window.start_ms < window.end_ms < 32_503_680_000_000


# Buttons carry the query they re-run. The value is compact JSON (Slack caps it at
# 2,000 characters); the ingress re-authorizes every log group it names on click,
# so a tampered value can never widen what a user may read.
BUTTON_VALUE_LIMIT = 2000


def button_value(query: SearchQuery) -> str:
    """Encode ``query`` for a button; raises ValueError past Slack's 2,000 chars."""
    value = json.dumps(
        {
            "v": VERSION,
            "id": query.request_id,
            "f": list(query.functions),
            "g": list(query.log_groups),
            "w": None if query.window is None else [query.window.start_ms, query.window.end_ms],
            "c": query.context_lines,
        },
        separators=(",", ":"),
    )
    if len(value) > BUTTON_VALUE_LIMIT:
        raise ValueError("button value over Slack's 2,000 character limit")
    return value


def query_from_button(value: str) -> SearchQuery:
    """Decode a button value; raises ValueError for anything malformed."""
    try:
        data = json.loads(value)
        if not isinstance(data, dict) or data.get("v") != VERSION:
            raise ValueError("unknown button value version")
        window = data.get("w")
        return SearchQuery(
            request_id=str(data["id"]),
            functions=tuple(str(f) for f in data.get("f") or ()),
            log_groups=tuple(str(g) for g in data.get("g") or ()),
            window=None if not window else TimeWindow(int(window[0]), int(window[1])),
            context_lines=int(data.get("c") or 0),
        )
    except (KeyError, TypeError, IndexError, OverflowError, ValueError) as exc:
        # OverflowError: JSON allows Infinity and 1e400, and int() of them overflows.
        raise ValueError(f"malformed button value: {exc}") from None


# -- follow-ups ------------------------------------------------------------------------------

FOLLOW_UP_MARKER = "logthread.follow_up"
FOLLOW_UP_VERSION = 1


@dataclass(frozen=True, slots=True)
class FollowUp:
    """ "Look at this alarm's logs again": the worker's message to itself, through a delay queue.

    It names an episode (its alarm key and start) and the follow-up's number; the
    episode record says whether it is still the one pending (see
    :mod:`logthread.alarms.follow_up`).
    """

    episode_key: str
    started_ms: int
    seq: int
    due_ms: int = 0  # when it should run (SQS may bring it back sooner)

    def to_json(self) -> str:
        return json.dumps(
            {
                "type": FOLLOW_UP_MARKER,
                "version": FOLLOW_UP_VERSION,
                "episode": self.episode_key,
                "started_ms": self.started_ms,
                "seq": self.seq,
                "due_ms": self.due_ms,
            },
            separators=(",", ":"),
        )


def follow_up_from_dict(data: dict[str, Any]) -> FollowUp:
    """The follow-up in a decoded message whose ``type`` is :data:`FOLLOW_UP_MARKER`.

    Raises ``ValueError`` for another version or a broken shape.
    """
    if data.get("version") != FOLLOW_UP_VERSION:
        raise ValueError(f"unsupported follow-up version: {data.get('version')!r}")
    try:
        follow = FollowUp(
            str(data["episode"]),
            int(data["started_ms"]),
            int(data["seq"]),
            int(data.get("due_ms") or 0),
        )
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"malformed follow-up: {exc}") from None
    if not follow.episode_key or follow.started_ms <= 0 or follow.seq <= 0:
        raise ValueError("malformed follow-up: empty episode, start or number")
    return follow


# -- "I'm on it" ---------------------------------------------------------------------------

CLAIM_MARKER = "logthread.alarm_claim"
CLAIM_VERSION = 1
CLAIM_ACTION_ID = "logthread.alarm_claim"
# SNS takes 256 KB; the clicked message's blocks ride along up to this, else are left out
# (the worker then answers in the thread instead of editing the message).
CLAIM_BLOCKS_LIMIT = 120_000


@dataclass(frozen=True, slots=True)
class AlarmClaim:
    """Someone clicked "I'm on it" (or "Take over") on an alarm message.

    ``text`` and ``blocks`` are the clicked message as Slack sent it with the
    click: the worker edits the claim into them, so what the message showed
    (the found requests, the buttons) stays as it was.
    """

    episode_key: str
    channel: str
    thread_ts: str
    user_id: str
    team_id: str = ""
    text: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> str:
        blocks = self.blocks
        if len(json.dumps(blocks)) > CLAIM_BLOCKS_LIMIT:
            blocks = []
        return json.dumps(
            {
                "type": CLAIM_MARKER,
                "version": CLAIM_VERSION,
                "episode": self.episode_key,
                "reply": {
                    "channel": self.channel,
                    "thread_ts": self.thread_ts,
                    "user_id": self.user_id,
                    "team_id": self.team_id,
                },
                "message": {"text": self.text[:4000], "blocks": blocks},
            },
            separators=(",", ":"),
        )


def claim_value(episode_key: str) -> str:
    """The claim button's value: the episode, nothing else."""
    return json.dumps({"v": CLAIM_VERSION, "k": episode_key}, separators=(",", ":"))


def claim_key(value: str) -> str:
    """The episode key a claim button carries; ValueError for anything malformed."""
    try:
        data = json.loads(value)
        key = str(data["k"]) if isinstance(data, dict) and data.get("v") == CLAIM_VERSION else ""
    except (KeyError, TypeError, ValueError, RecursionError) as exc:
        raise ValueError(f"malformed claim button value: {exc}") from None
    if not key or len(key) > BUTTON_VALUE_LIMIT:
        raise ValueError("malformed claim button value: no episode")
    return key


def claim_from_dict(data: dict[str, Any]) -> AlarmClaim:
    """The claim in a decoded message whose ``type`` is :data:`CLAIM_MARKER`."""
    if data.get("version") != CLAIM_VERSION:
        raise ValueError(f"unsupported alarm claim version: {data.get('version')!r}")
    try:
        reply, message = data["reply"], data.get("message") or {}
        blocks = message.get("blocks") or []
        if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
            raise TypeError("blocks must be a list of objects")
        claim = AlarmClaim(
            episode_key=str(data["episode"]),
            channel=str(reply["channel"]),
            thread_ts=str(reply["thread_ts"]),
            user_id=str(reply["user_id"]),
            team_id=str(reply.get("team_id", "")),
            text=str(message.get("text") or ""),
            blocks=blocks,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"malformed alarm claim: {exc}") from None
    if not (claim.episode_key and claim.channel and claim.thread_ts and claim.user_id):
        raise ValueError("malformed alarm claim: empty episode, place or user")
    return claim
