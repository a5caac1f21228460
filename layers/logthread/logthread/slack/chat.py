"""The chat seam: what logthread says in Slack, behind a small base class.

:class:`SlackChat` speaks to Slack through ``slack_sdk``'s ``WebClient`` (built by
:func:`make_web_client` with slack_sdk's own retry handlers) and ``WebhookClient``
for ``response_url``. Every failure that survives the retries is a
:class:`ChatError` that carries Slack's error code and the exact call, so a
dead-letter path can store it and :meth:`ChatError.replay` it later.
"""

from __future__ import annotations

import copy
import http.client
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.error import URLError
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
)
from slack_sdk.models.blocks import Block
from slack_sdk.web import WebClient
from slack_sdk.webhook import WebhookClient

from logthread import telemetry
from logthread.slack.lookup import find_marked, marker_metadata
from logthread.slack.pacing import ChannelPacer, Pacer
from logthread.slack.webclient import retry_after

logger = Logger(service="logthread", child=True)

SLACK_HOOKS_HOST = "hooks.slack.com"  # where Slack response_urls live

_SLACK_CODE = re.compile(r"[a-z0-9_]+")

Blocks = Sequence[Block | dict[str, Any]]
T = TypeVar("T")

# Errors a later attempt may cure; the rest (not_in_channel, invalid_auth...) won't.
TRANSIENT = frozenset(
    {"ratelimited", "timeout", "connection_error", "fatal_error", "internal_error"}
)
# Calls that add something each time they run: after a timeout nobody knows whether
# Slack did it (chat.update is idempotent and so never in doubt).
NOT_IDEMPOTENT = frozenset({"post", "post_ephemeral", "respond", "upload"})

SETTLE_STEP = 0.25  # seconds between looks while a timed-out post may still land
CONNECTION_BACKOFF = (0.5, 1.0, 2.0)  # re-sends of a marked post after a dropped connection


class ChatError(Exception):
    """A chat call that failed for good (after retries).

    Attributes
    ----------
    code:
        Slack's error string (``not_in_channel``, ``ratelimited``, ``invalid_blocks``...),
        ``http_<status>`` when the answer carried none, ``timeout`` or
        ``connection_error`` when no answer came.
    operation, arguments:
        The :class:`Chat` method and its keyword arguments (blocks as plain dicts), so
        ``getattr(chat, operation)(**arguments)`` replays the call.
    status:
        The HTTP status, when there was an answer.
    retry_after:
        Seconds Slack asked to wait (429), if it said.
    """

    def __init__(
        self,
        code: str,
        *,
        operation: str = "",
        arguments: dict[str, Any] | None = None,
        status: int | None = None,
        retry_after: int | None = None,
        detail: str = "",
    ) -> None:
        super().__init__(
            f"{operation or 'chat'} failed: {code}" + (f" ({detail})" if detail else "")
        )
        self.code = code
        self.operation = operation
        self.arguments = dict(arguments or {})
        self.status = status
        self.retry_after = retry_after
        self.detail = detail

    @property
    def transient(self) -> bool:
        """True when the same call may well succeed later (rate limit, 5xx, network)."""
        return self.code in TRANSIENT or (self.status or 0) >= 500

    @property
    def uncertain(self) -> bool:
        """True when the call may have landed anyway: no answer came before the timeout.

        slack_sdk never retries a read timeout, and Slack's ``chat.postMessage`` has
        no idempotency key, so repeating such a call may post twice.
        """
        return self.code == "timeout" and self.operation in NOT_IDEMPOTENT

    def replay(self, chat: Chat) -> Any:
        """Run the failed call again on ``chat``."""
        return getattr(chat, self.operation)(**self.arguments)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for a dead-letter record)."""
        return {
            "code": self.code,
            "operation": self.operation,
            "arguments": self.arguments,
            "status": self.status,
            "retry_after": self.retry_after,
            "detail": self.detail,
        }


class Chat(ABC):
    """Where logthread talks. ``blocks`` are slack_sdk Block models or plain dicts.

    Each method names its Slack call and arguments once and hands them to
    :meth:`invoke`, the one method a chat implements; so a wrapper (the
    dead-letter deferral) or a replay handles every call the same way.
    """

    def post(
        self,
        channel: str,
        *,
        text: str,
        blocks: Blocks | None = None,
        thread_ts: str | None = None,
        marker: str = "",
    ) -> str:
        """Post a message (in the thread ``thread_ts`` if given); return its ts.

        ``marker`` (a stable id of this post) goes into the message's metadata, so
        :meth:`find` can tell whether a post whose answer was lost is in Slack.
        """
        args = {"channel": channel, "text": text, "blocks": blocks, "thread_ts": thread_ts}
        if marker:
            args["marker"] = marker
        return str(self.invoke("post", args))

    def find(
        self, channel: str, marker: str, *, thread_ts: str | None = None, oldest: float = 0.0
    ) -> str:
        """The ts of the message posted with ``marker`` (in thread ``thread_ts``), or "".

        Best effort: "" also when Slack can't be asked (no history scope, the bot not
        in the channel); never raises.
        """
        args = {"channel": channel, "marker": marker, "thread_ts": thread_ts, "oldest": oldest}
        return str(self.invoke("find", args) or "")

    def update(self, channel: str, ts: str, *, text: str, blocks: Blocks | None = None) -> None:
        """Replace the text and blocks of message ``ts``."""
        self.invoke("update", {"channel": channel, "ts": ts, "text": text, "blocks": blocks})

    def edit(self, channel: str, ts: str, *, text: str, blocks: Blocks | None = None) -> None:
        """:meth:`update` made now or never: a failure is raised, not deferred.

        For an edit whose content another delivery may outdate (the alarm message, which
        an OK resolves): replayed later from a dead letter, it could bring back a state
        Slack no longer should show, so its delivery is retried instead.
        """
        self.invoke("edit", {"channel": channel, "ts": ts, "text": text, "blocks": blocks})

    def delete(self, channel: str, ts: str) -> None:
        """Delete the bot's own message ``ts``, now or never (never deferred, like
        :meth:`edit`); one already gone counts as deleted."""
        self.invoke("delete", {"channel": channel, "ts": ts})

    def post_ephemeral(
        self, channel: str, user: str, *, text: str, blocks: Blocks | None = None
    ) -> None:
        """Post a message only ``user`` sees."""
        args = {"channel": channel, "user": user, "text": text, "blocks": blocks}
        self.invoke("post_ephemeral", args)

    def respond(
        self,
        response_url: str,
        *,
        text: str,
        blocks: Blocks | None = None,
        response_type: str = "ephemeral",
        replace_original: bool = False,
    ) -> None:
        """Answer through a slash command's or an interaction's ``response_url``."""
        args = {
            "response_url": response_url,
            "text": text,
            "blocks": blocks,
            "response_type": response_type,
            "replace_original": replace_original,
        }
        self.invoke("respond", args)

    def upload(
        self, channel: str, thread_ts: str, *, filename: str, content: str | bytes, title: str
    ) -> str:
        """Upload ``content`` (text, or an image's bytes) as a file shared in the thread;
        return the file id."""
        args = {
            "channel": channel,
            "thread_ts": thread_ts,
            "filename": filename,
            "content": content,
            "title": title,
        }
        return str(self.invoke("upload", args))

    @abstractmethod
    def invoke(self, operation: str, arguments: dict[str, Any]) -> Any:
        """Make one call (``post``, ``find``, ``update``, ``edit``, ``delete``, ``post_ephemeral``,
        ``respond``, ``upload``).

        Returns the ts of a post, the file id of an upload, None otherwise; raises
        :class:`ChatError` when Slack refused or could not be reached.
        """


class SlackChat(Chat):
    """:class:`Chat` over a slack_sdk ``WebClient`` (see :func:`make_web_client`).

    ``pacer`` paces ``chat.postMessage`` per channel (:class:`ChannelPacer`, or
    :class:`~logthread.slack.pacing.SharedChannelPacer` across worker instances);
    by default posts to a channel are serialized within the process.
    """

    def __init__(self, web_client: WebClient, *, pacer: Pacer | None = None) -> None:
        self.client = web_client
        self.pacer = pacer or ChannelPacer()
        self._marked_client: WebClient | None = None

    def invoke(self, operation: str, arguments: dict[str, Any]) -> Any:
        calls: dict[str, Callable[[dict[str, Any]], Any]] = {
            "post": self._post,
            "find": self._find,
            "update": self._update,
            "edit": self._edit,
            "delete": self._delete,
            "post_ephemeral": self._post_ephemeral,
            "respond": self._respond,
            "upload": self._upload,
        }
        if operation not in calls:
            raise ValueError(f"not a chat operation: {operation!r}")
        return calls[operation](arguments)

    def _post(self, args: dict[str, Any]) -> str:
        marker = args.get("marker") or ""
        metadata = marker_metadata(marker)

        def send(client: WebClient) -> Any:
            return client.chat_postMessage(
                channel=args["channel"],
                text=args["text"],
                blocks=args.get("blocks"),
                thread_ts=args.get("thread_ts") or None,
                metadata=metadata if marker else None,
                # A CloudWatch link would unfurl into a login page preview.
                unfurl_links=False,
                unfurl_media=False,
            )

        if not marker:
            resp = self.pacer.run(
                args["channel"], lambda: self._call("post", args, lambda: send(self.client))
            )
            return str(resp["ts"])
        return self.pacer.run(args["channel"], lambda: self._post_marked(args, send))

    def _post_marked(self, args: dict[str, Any], send: Callable[[WebClient], Any]) -> str:
        """A post that may be re-sent only once Slack is known not to have it.

        slack_sdk would re-send after a dropped connection, and a timeout leaves the
        outcome unknown; either way the marker is looked up before posting again.
        """
        client = self._without_connection_retries()
        sent = self.client.timeout
        for attempt in range(len(CONNECTION_BACKOFF) + 1):
            started = time.time()
            try:
                return str(self._call("post", args, lambda: send(client))["ts"])
            except ChatError as exc:
                if exc.code not in ("timeout", "connection_error"):
                    raise
                # Slack may still be finishing it: look for as long as a call would wait.
                found = self._look_for(
                    args, oldest=started - 1, settle=sent if exc.uncertain else 0
                )
                if found:
                    return found
                if exc.uncertain or attempt == len(CONNECTION_BACKOFF):
                    raise
                time.sleep(CONNECTION_BACKOFF[attempt])
        raise AssertionError("unreachable")

    def _look_for(self, args: dict[str, Any], *, oldest: float, settle: float) -> str:
        deadline = time.monotonic() + settle
        while True:
            found = self._find({**args, "oldest": oldest})
            if found or time.monotonic() >= deadline:
                return found
            time.sleep(min(SETTLE_STEP, max(0.0, deadline - time.monotonic())))

    def _without_connection_retries(self) -> WebClient:
        if self._marked_client is None:
            client = copy.copy(self.client)
            client.retry_handlers = [
                h
                for h in self.client.retry_handlers
                if not isinstance(h, ConnectionErrorRetryHandler)
            ]
            self._marked_client = client
        return self._marked_client

    def _find(self, args: dict[str, Any]) -> str:
        return find_marked(
            self.client,
            args["channel"],
            args["marker"],
            thread_ts=args.get("thread_ts") or "",
            oldest=float(args.get("oldest") or 0),
        )

    def _update(self, args: dict[str, Any]) -> None:
        self._call("update", args, lambda: self.client.chat_update(**args))

    def _edit(self, args: dict[str, Any]) -> None:
        self._call("edit", args, lambda: self.client.chat_update(**args))

    def _delete(self, args: dict[str, Any]) -> None:
        try:
            self._call("delete", args, lambda: self.client.chat_delete(**args))
        except ChatError as exc:
            if exc.code != "message_not_found":
                raise

    def _post_ephemeral(self, args: dict[str, Any]) -> None:
        self._call("post_ephemeral", args, lambda: self.client.chat_postEphemeral(**args))

    def _respond(self, args: dict[str, Any]) -> None:
        response_url = args["response_url"]
        if not self._trusted_response_url(response_url):
            # A task reaching the worker past the ingress could name any URL: the answer
            # (log lines) goes only to Slack's own hooks, or the API origin in use.
            raise ChatError(
                "untrusted_response_url",
                operation="respond",
                arguments=_plain(args),
                detail="not a Slack response URL",
            )
        webhook = WebhookClient(
            response_url,
            timeout=self.client.timeout,
            ssl=self.client.ssl,
            proxy=self.client.proxy,
            retry_handlers=self.client.retry_handlers,
        )

        def send() -> Any:
            resp = webhook.send(**{k: v for k, v in args.items() if k != "response_url"})
            if resp.status_code != 200:
                code = (resp.body or "").strip() or f"http_{resp.status_code}"
                raise ChatError(
                    code,
                    operation="respond",
                    arguments=_plain(args),
                    status=resp.status_code,
                    retry_after=retry_after(resp.headers),
                )
            return resp

        self._call("respond", args, send)

    def _trusted_response_url(self, url: str) -> bool:
        parts = urlsplit(url)
        if (parts.scheme, parts.hostname) == ("https", SLACK_HOOKS_HOST):
            return True
        api = urlsplit(self.client.base_url)
        return (parts.scheme, parts.netloc) == (api.scheme, api.netloc) and bool(parts.netloc)

    def _upload(self, args: dict[str, Any]) -> str:
        resp = self._call(
            "upload",
            args,
            lambda: self.client.files_upload_v2(**{**args, "thread_ts": args["thread_ts"] or None}),
        )
        file = resp.get("file") or (resp.get("files") or [{}])[0]
        return str(file.get("id", ""))

    def _call(self, operation: str, args: dict[str, Any], fn: Callable[[], T]) -> T:
        try:
            result = self._raw_call(operation, args, fn)
        except ChatError:
            telemetry.count(telemetry.SLACK_ERRORS, dimension=("Operation", operation))
            raise
        telemetry.count(telemetry.SLACK_POSTS, dimension=("Operation", operation))
        return result

    def _raw_call(self, operation: str, args: dict[str, Any], fn: Callable[[], T]) -> T:
        try:
            return fn()
        except SlackApiError as exc:
            resp = exc.response
            data = resp.data if isinstance(resp.data, dict) else {}
            status = int(resp.status_code)
            code = str(data.get("error") or "")
            if not _SLACK_CODE.fullmatch(code):
                # No Slack error code (an error page, a non-JSON body): name the status.
                code = f"http_{status}"
            detail = "; ".join(data.get("response_metadata", {}).get("messages", []))
            raise ChatError(
                code,
                operation=operation,
                arguments=_plain(args),
                status=status,
                retry_after=retry_after(resp.headers),
                detail=detail,
            ) from exc
        except (TimeoutError, ConnectionError, URLError, http.client.HTTPException) as exc:
            timeout = isinstance(exc, TimeoutError) or "timed out" in str(exc)
            raise ChatError(
                "timeout" if timeout else "connection_error",
                operation=operation,
                arguments=_plain(args),
                detail=str(exc),
            ) from exc
        except SlackClientError as exc:  # e.g. the file bytes upload step refused
            raise ChatError(
                "request_error", operation=operation, arguments=_plain(args), detail=str(exc)
            ) from exc


def _plain(args: dict[str, Any]) -> dict[str, Any]:
    out = dict(args)
    if out.get("blocks") is not None:
        out["blocks"] = [b if isinstance(b, dict) else b.to_dict() for b in out["blocks"]]
    return out
