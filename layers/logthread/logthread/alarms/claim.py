""" "I'm on it": who took an alarm, shown on its message and named in its recap.

The round trip:

1. An open alarm's message carries the button (``alarm_render.actions``; its value names the episode,
   nothing else: :func:`logthread.tasks.claim_value`).
2. On click, the ingress checks the clicker as for any button and publishes a
   :class:`logthread.tasks.AlarmClaim` to the task topic, with the clicked
   message as Slack sent it.
3. The worker (:func:`logthread.alarms.claiming.handle_claim`, task topic only) checks the channel and user
   against ``access`` again, records the claim on the episode item
   (:mod:`logthread.alarms.claim_store`: idempotent, a claim by someone else takes
   over), and edits the message: a line "<@user> is on it since …" and the
   button relabelled "Take over".

On OK the resolved message keeps the line (:func:`claim_line`) and the recap
names who handled it.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject

from logthread.alarms.alarm_render import CLAIM_TAKE_OVER, Message, utc_text
from logthread.alarms.claim_store import Claim, ClaimStore
from logthread.tasks import CLAIM_ACTION_ID

__all__ = [
    "BLOCK_ID",
    "claim_line",
    "claim_of",
    "with_claim",
    "with_resolved_claim",
]

logger = logging.getLogger(__name__)

BLOCK_ID = "logthread.claim"


def claim_line(claim: Claim, *, resolved: bool = False) -> str:
    """mrkdwn: who is (or was) on it, and since when."""
    who = f"<@{claim.user_id}>"
    if resolved:
        return f":raising_hand: Handled by {who} (on it since {utc_text(claim.since_ms)})"
    return f":raising_hand: {who} is on it since {utc_text(claim.since_ms)}"


def claim_block(claim: Claim, *, resolved: bool = False) -> ContextBlock:
    line = claim_line(claim, resolved=resolved)
    return ContextBlock(block_id=BLOCK_ID, elements=[MarkdownTextObject(text=line)])


def with_claim(blocks: list[dict[str, Any]], claim: Claim) -> list[dict[str, Any]]:
    """The message's blocks (as Slack holds them) showing ``claim``.

    The claim line replaces an earlier one or goes just above the buttons; the
    claim button reads "Take over" from now on.
    """
    line = claim_block(claim).to_dict()
    out: list[dict[str, Any]] = []
    for block in blocks:
        if block.get("block_id") == BLOCK_ID:
            continue
        if block.get("type") == "actions":
            block = {**block, "elements": [_relabel(e) for e in block.get("elements") or []]}
        out.append(block)
    at = next((i for i, b in enumerate(out) if b.get("type") == "actions"), len(out))
    out.insert(at, line)
    return out


def _relabel(element: Any) -> Any:
    if isinstance(element, dict) and element.get("action_id") == CLAIM_ACTION_ID:
        return {**element, "text": {"type": "plain_text", "text": CLAIM_TAKE_OVER, "emoji": True}}
    return element


def with_resolved_claim(message: Message, claim: Claim | None) -> Message:
    """The resolved message with who handled it, above its buttons."""
    if claim is None:
        return message
    blocks = list(message.blocks)
    at = next((i for i, b in enumerate(blocks) if b.type == "actions"), len(blocks))
    blocks.insert(at, claim_block(claim, resolved=True))
    return Message(message.text, blocks)


def claim_of(deps: Any, key: str, started_ms: int) -> Claim | None:
    """The claim on the episode ``key`` that started at ``started_ms`` (None: nobody's)."""
    if deps.store is None:
        return None
    episode, claim = ClaimStore(deps.store.client, deps.store.table_name).read(key)
    return claim if episode is not None and episode.started_ms == started_ms else None
