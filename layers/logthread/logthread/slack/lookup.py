"""Finding a post whose answer was lost, by the marker in its metadata.

Slack's ``chat.postMessage`` has no idempotency key: after a timeout, a dropped
connection or a crash, only Slack knows whether a post landed. logthread's
marked posts carry ``{"event_type": "logthread_post", "event_payload":
{"marker": ...}}`` as message metadata; :func:`find_marked` reads the channel
(``conversations.history``) or the thread (``conversations.replies``) back for it.
That needs the ``channels:history`` / ``groups:history`` scopes and the bot in the
channel; without them it finds nothing, and the caller posts as it would have.
"""

from __future__ import annotations

import functools
import http.client

from aws_lambda_powertools import Logger
from slack_sdk.errors import SlackClientError
from slack_sdk.web import WebClient

logger = Logger(service="logthread", child=True)

METADATA_TYPE = "logthread_post"
PAGE = 200  # messages per page read (newest first, from ``oldest``)
PAGES = 5


def marker_metadata(marker: str) -> dict[str, object]:
    """The message metadata a post made with ``marker`` carries."""
    return {"event_type": METADATA_TYPE, "event_payload": {"marker": marker}}


def find_marked(
    client: WebClient, channel: str, marker: str, *, thread_ts: str = "", oldest: float = 0.0
) -> str:
    """The ts of the message posted with ``marker`` since ``oldest``, or "" (never raises)."""
    cursor = ""
    try:
        for _ in range(PAGES):
            read = client.conversations_history
            if thread_ts:
                read = functools.partial(client.conversations_replies, ts=thread_ts)
            resp = read(
                channel=channel,
                oldest=f"{oldest:.6f}",
                include_all_metadata=True,
                limit=PAGE,
                cursor=cursor or None,
            )
            for msg in resp.get("messages") or []:
                meta = msg.get("metadata") or {}
                if (
                    meta.get("event_type") == METADATA_TYPE
                    and (meta.get("event_payload") or {}).get("marker") == marker
                    and msg.get("ts") != thread_ts  # the parent comes first in replies
                ):
                    return str(msg["ts"])
            cursor = (resp.get("response_metadata") or {}).get("next_cursor") or ""
            if not cursor:
                return ""
    except (SlackClientError, OSError, http.client.HTTPException) as exc:
        # No history scope, the bot not in the channel...: the caller posts as before.
        logger.warning("could not look for an earlier post", extra={"error": str(exc)})
    return ""
