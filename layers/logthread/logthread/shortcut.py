""" "Find logs": the message shortcut that searches the ids any message shows.

On any message (another tool's alarm, a support ticket, a pasted log line) the
shortcut takes the request ids (UUIDs) and X-Ray trace ids from the message's
text, its blocks and its attachments, in the order they appear, each once.
The ingress then searches at most :data:`MAX_IDS` of them, each authorized and
bounded as a typed ``/logsearch <id>`` is, and answers in that message's thread;
the others are listed to the requester.

Pure: no Slack, no AWS (the ingress does the rest).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from logthread.authz import Requester
from logthread.bounds import bound_query
from logthread.config import Config
from logthread.ids import InvalidRequestId, validate_request_id
from logthread.query import SearchQuery
from logthread.tasks import ReplyTo, SearchTask

__all__ = [
    "CALLBACK_ID",
    "MAX_IDS",
    "NO_ID",
    "FindLogs",
    "ack_text",
    "ids_in_message",
    "plan",
    "thread_of",
]

CALLBACK_ID = "logthread.find_logs"
MAX_IDS = 3  # searches one click may start: each is a search task and a thread reply
NO_ID = (
    "I found no request id or trace id in that message. *Find logs* searches for UUIDs "
    "(Lambda request ids) and X-Ray trace ids (`1-5759e988-bd862e3fe1be46a994272793`); "
    "for anything else, type `/logsearch <id>`."
)
# A message's text is read up to this much: an id is never that far into a real one.
MAX_TEXT = 100_000
_WALK_DEPTH = 12

_ID_IN_TEXT = re.compile(
    r"(?<![0-9A-Za-z-])"
    r"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24})"
    r"(?![0-9A-Za-z-])"
)


def ids_in_message(message: Mapping[str, Any]) -> list[str]:
    """Request and trace ids the message shows, first seen first, each once (lower case)."""
    found: list[str] = []
    text = "\n".join(_strings(message, 0))[:MAX_TEXT]
    for match in _ID_IN_TEXT.finditer(text):
        try:
            value = validate_request_id(match[1]).lower()
        except InvalidRequestId:
            continue
        if value not in found:
            found.append(value)
    return found


def _strings(value: Any, depth: int) -> Iterator[str]:
    """Every string in the message: text, blocks, attachments and their fields."""
    if depth > _WALK_DEPTH:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            # The ids of Slack's own objects (users, files, blocks) are not the message's.
            if key not in ("user", "bot_id", "team", "ts", "thread_ts", "block_id", "app_id"):
                yield from _strings(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, depth + 1)


def thread_of(message: Mapping[str, Any], message_ts: str = "") -> str:
    """The thread the message sits in (its own ts when it starts one or stands alone)."""
    return str(message.get("thread_ts") or message.get("ts") or message_ts or "")


@dataclass(frozen=True, slots=True)
class FindLogs:
    """What one use of the shortcut asks: who, the searches to start, the ids left out."""

    requester: Requester
    response_url: str
    tasks: list[SearchTask] = field(default_factory=list)
    rest: list[str] = field(default_factory=list)


def plan(payload: Mapping[str, Any], config: Config, *, now_ms: int) -> FindLogs:
    """The searches a ``message_action`` payload asks for (not yet authorized).

    Each is the query a typed ``/logsearch <id>`` makes (no target: every group the
    caller may read; the configured context; bounded the same way), answering in
    the message's thread. Task ids come from the signed ``trigger_id`` and the id,
    so a replayed request is the same tasks, answered once.
    """
    user = payload.get("user") or {}
    team = payload.get("team") or {}
    channel = payload.get("channel") or {}
    message = payload.get("message") or {}
    requester = Requester(
        team_id=str(team.get("id") or user.get("team_id") or ""),
        channel_id=str(channel.get("id") or ""),
        user_id=str(user.get("id") or ""),
        user_name=str(user.get("username") or user.get("name") or ""),
    )
    response_url = str(payload.get("response_url") or "")
    if not isinstance(message, Mapping):
        return FindLogs(requester, response_url)
    ids = ids_in_message(message)
    reply = ReplyTo(
        channel=requester.channel_id,
        thread_ts=thread_of(message, str(payload.get("message_ts") or "")),
        response_url=response_url,
        user_id=requester.user_id,
        team_id=requester.team_id,
    )
    trigger = str(payload.get("trigger_id") or "")
    tasks = []
    for rid in ids[:MAX_IDS]:
        query = SearchQuery(request_id=rid, context_lines=config.limits.context_lines)
        task_id = hashlib.sha256(f"{trigger}:{rid}".encode()).hexdigest()[:32]
        extra = {"task_id": task_id, "asked_by": requester.user_name}
        bounded = bound_query(query, config, now_ms=now_ms)
        tasks.append(SearchTask(bounded, reply, origin="shortcut", extra=extra))
    return FindLogs(requester, response_url, tasks, ids[MAX_IDS:])


def ack_text(started: list[str], rest: list[str], failed: list[str]) -> str:
    """What the requester is told (only they see it)."""
    parts = []
    if started:
        ids = ", ".join(f"`{rid}`" for rid in started)
        parts.append(f"Searching the logs for {ids}: the results will be in this message's thread.")
    if failed:
        parts.append("Sorry, I couldn't start: " + ", ".join(f"`{rid}`" for rid in failed) + ".")
    if rest:
        listed = ", ".join(f"`{rid}`" for rid in rest)
        parts.append(
            f"Not searched (at most {MAX_IDS} at a time): {listed}. "
            "Use `/logsearch <id>` for these."
        )
    return "\n".join(parts)
