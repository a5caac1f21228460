"""Escaping outside text for Slack: the one path, shared by every layer that writes text."""

from __future__ import annotations


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn gives meaning to (``&``, ``<``, ``>``).

    The one way outside text (payloads, subjects, log lines, log group names, button
    values) goes into mrkdwn or a message's fallback ``text``: every live form
    (``<!channel>``, ``<@U…>``, ``<#C…>``, ``<!subteam^…>``, ``<url|label>``) starts
    with a raw ``<``, and ``&`` is escaped so ``&lt;`` in the text shows as written.
    Slack decodes these three entities for display, so the reader sees the text as it was.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
