"""Posting a search result where it was asked for.

A new search posts a short parent message and the timeline as a reply in its
thread (plus the full log as a file when the timeline was cut). A search run
from a button answers in the thread it came from. When the bot can't post in
the channel (``not_in_channel``, ``channel_not_found``), the answer goes through
the command's ``response_url`` instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk.models.blocks import ActionsBlock, Block, ContextBlock, MarkdownTextObject

from logthread.query import SearchResult
from logthread.redact import Redactor
from logthread.slack import blocks as limits
from logthread.slack.chat import Chat, ChatError
from logthread.slack.format import escape
from logthread.slack.search_render import RenderedSearch, render_search
from logthread.tasks import ReplyTo

logger = logging.getLogger(__name__)

# The bot can't write there; a response_url still can.
CANT_POST = frozenset({"not_in_channel", "channel_not_found"})


def post_search(
    chat: Chat,
    result: SearchResult,
    reply: ReplyTo,
    *,
    asked_by: str = "",
    redactor: Redactor | None = None,
    account: str = "",
    account_names: Callable[[str], str] | None = None,
) -> str:
    """Post ``result`` in Slack; return the thread ts ("" when answered via response_url).

    Parameters
    ----------
    chat:
        Where to post.
    result:
        The search result (found, nothing found, or partial).
    reply:
        ``reply.thread_ts`` set: answer in that thread only. Otherwise a new parent
        message in ``reply.channel`` with the timeline in its thread.
    asked_by:
        The Slack user id (or name) shown as who asked.
    redactor:
        Hides secrets in every log text before it is posted.
    account:
        mrkdwn naming the account searched, shown with the log groups ("" = not shown).
    account_names:
        Account id → name, for the lines of source accounts.

    Raises
    ------
    ChatError
        When posting failed after retries and no fallback applied (the error
        carries the call, for a dead-letter replay).
    """
    rendered = render_search(
        result, asked_by=asked_by, redactor=redactor, account=account, account_names=account_names
    )
    try:
        if reply.thread_ts:
            thread_ts = reply.thread_ts
            # A re-search that found nothing is still worth its own reply in the thread.
            chat.post(
                reply.channel,
                text=rendered.thread_text,
                blocks=rendered.thread_blocks,
                thread_ts=thread_ts,
            )
        else:
            thread_ts = chat.post(
                reply.channel, text=rendered.parent_text, blocks=rendered.parent_blocks
            )
            if result.found:
                chat.post(
                    reply.channel,
                    text=rendered.thread_text,
                    blocks=rendered.thread_blocks,
                    thread_ts=thread_ts,
                )
    except ChatError as exc:
        if exc.code not in CANT_POST or not reply.response_url:
            raise
        logger.warning(
            "can't post in %s (%s): answering through response_url", reply.channel, exc.code
        )
        respond_instead(chat, rendered, reply.response_url, found=result.found)
        return ""
    if rendered.full_log is not None:
        _attach(chat, reply.channel, thread_ts, rendered)
    return thread_ts


def respond_instead(
    chat: Chat, rendered: RenderedSearch, response_url: str, *, found: bool
) -> None:
    """One response_url message holding the summary and the timeline, within 50 blocks."""
    blocks: list[Block] = list(rendered.parent_blocks)
    text = rendered.parent_text
    if found:
        # One message: the parent's buttons would repeat the timeline's.
        blocks = [b for b in blocks if not isinstance(b, ActionsBlock)] + rendered.thread_blocks
        text = rendered.thread_text
        if rendered.full_log is not None:
            blocks.append(
                ContextBlock(
                    elements=[
                        MarkdownTextObject(
                            text="_The full log can't be attached here: invite the app to "
                            "this channel to get it as a file in the thread._"
                        )
                    ]
                )
            )
    if len(blocks) > limits.MAX_BLOCKS:
        # Keep the head (summary) and the tail (buttons); drop middle timeline sections.
        blocks = blocks[: limits.MAX_BLOCKS - 2] + blocks[-2:]
    chat.respond(response_url, text=text, blocks=blocks, response_type="in_channel")


def upload_full_log(chat: Chat, channel: str, thread_ts: str, rendered: RenderedSearch) -> str:
    """Attach a cut timeline's whole log to the thread as a file; return the file id.

    The one upload path for search results, the alarm's failing requests included.
    """
    assert rendered.full_log is not None
    return str(
        chat.upload(
            channel,
            thread_ts,
            filename=rendered.filename,
            content=rendered.full_log,
            title=f"Full log ({rendered.total_lines:,} lines)",
        )
    )


def _attach(chat: Chat, channel: str, thread_ts: str, rendered: RenderedSearch) -> None:
    try:
        upload_full_log(chat, channel, thread_ts, rendered)
    except ChatError as exc:
        # The timeline is already posted; a missing file must not lose it.
        logger.warning("full log upload failed: %s", exc.code)
        chat.post(
            channel,
            text=f"The full log could not be attached ({escape(exc.code)}).",
            thread_ts=thread_ts,
        )
