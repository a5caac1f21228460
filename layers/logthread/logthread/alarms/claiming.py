"""The worker's side of "I'm on it": check the clicker, record the claim, edit the message.

Rendering and storage are in :mod:`logthread.alarms.claim` and
:mod:`logthread.alarms.claim_store`; this module carries a claim out, and keeps an
OK that lands during the claim's edit from being overwritten.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from logthread.alarms.claim import claim_line, with_claim
from logthread.alarms.claim_store import ClaimStore
from logthread.alarms.episode_item import OPEN
from logthread.alarms.follow_up import recap_tally
from logthread.alarms.investigate import Run
from logthread.alarms.parse import parse
from logthread.alarms.resolved import resolved_message
from logthread.authz import Requester, authorize_requester
from logthread.tasks import AlarmClaim

logger = logging.getLogger(__name__)


def handle_claim(claim: AlarmClaim, deps: Any) -> dict[str, Any]:
    """Record the claim on its episode and show it on the alarm's message."""
    # Defence in depth, as for rescans: whoever can publish to the task topic could name
    # any channel and user; the ingress checked the team.
    requester = Requester("", claim.channel, claim.user_id)
    decision = authorize_requester(replace(deps.config.access, teams=()), requester)
    if not decision.allowed:
        logger.error("claim dropped: requester not allowed", extra={"reason": decision.reason})
        return {"action": "claim-refused"}
    if deps.store is None:
        return {"action": "claim-forgotten"}
    store = ClaimStore(deps.store.client, deps.store.table_name)
    episode, _ = store.read(claim.episode_key)
    if episode is None or (episode.channel, episode.ts) != (claim.channel, claim.thread_ts):
        # Gone (expired), or a body naming another message: nothing to claim there.
        return {"action": "claim-forgotten"}
    if episode.state != OPEN:
        deps.chat.post_ephemeral(
            claim.channel, claim.user_id, text="This alarm is already resolved."
        )
        return {"action": "claim-closed"}
    now_ms = deps.now_ms()
    holder = store.take(
        claim.episode_key, started_ms=episode.started_ms, user_id=claim.user_id, now_ms=now_ms
    )
    if holder is None:
        return {"action": "claim-forgotten"}
    if claim.blocks:
        blocks = with_claim(claim.blocks, holder)
        deps.chat.update(claim.channel, claim.thread_ts, text=claim.text, blocks=blocks)
        _keep_resolved(claim, deps, store)
    else:  # the message was too big to ride along: say it in the thread instead
        deps.chat.post(claim.channel, text=claim_line(holder), thread_ts=claim.thread_ts)
    return {"action": "claimed", "user": holder.user_id, "since_ms": holder.since_ms}


def _keep_resolved(claim: AlarmClaim, deps: Any, store: ClaimStore) -> None:
    """An OK may have resolved the message while the claim's edit was on its way, and the
    edit (the ALARM form with the claim line) then overwrote it: read the episode again,
    and if it has ended, put the OK's resolved form back (who was on it included).
    """
    episode, holder = store.read(claim.episode_key)
    if episode is None or episode.state == OPEN or not episode.ended_ms:
        return
    ttl = deps.config.limits.episode_ttl_days * 86400
    run = Run(deps, parse(episode.body, episode.subject), "claim", deps.store.with_ttl(ttl))
    ok = replace(run.alarm, state="OK", reason=episode.ok_reason, state_change_ms=episode.ended_ms)
    recap = recap_tally(run, episode, episode.ended_ms)
    message = resolved_message(run, episode, run.alarm, ok, recap, holder)
    deps.chat.edit(claim.channel, claim.thread_ts, text=message.text, blocks=message.blocks)
