"""The resolved alarm message: what an OK turns the alarm message into."""

from __future__ import annotations

from logthread.alarms.alarm_render import Message, alarm_message
from logthread.alarms.claim import with_resolved_claim
from logthread.alarms.claim_store import Claim
from logthread.alarms.episodes import Episode
from logthread.alarms.follow_up_render import with_recap
from logthread.alarms.investigate import Run
from logthread.alarms.parse import Alarm
from logthread.signatures import Tally


def show_resolved(
    run: Run,
    episode: Episode,
    alarm: Alarm,
    resolved_by: Alarm,
    *,
    recap: Tally | None = None,
    claim: Claim | None = None,
) -> None:
    """Edit the episode's message into its resolved form (once per notification)."""
    resolved = resolved_message(run, episode, alarm, resolved_by, recap, claim)

    def update() -> str:
        run.deps.chat.update(
            episode.channel, episode.ts, text=resolved.text, blocks=resolved.blocks
        )
        return episode.ts

    run.once("resolved", update)


def resolved_message(
    run: Run,
    episode: Episode,
    alarm: Alarm,
    resolved_by: Alarm,
    recap: Tally | None,
    claim: Claim | None = None,
) -> Message:
    """The resolved form; ``claim``: who was on it ("Handled by", also in the recap)."""
    resolved = alarm_message(
        alarm,
        resolved_by=resolved_by,
        started_ms=episode.started_ms,
        found_ids=episode.request_ids,
        redactor=run.redactor,
    )
    if recap is not None and len(recap):
        resolved = with_recap(
            resolved,
            recap,
            started_ms=episode.started_ms,
            ended_ms=resolved_by.state_change_ms or run.deps.now_ms(),
            limit=run.deps.config.limits.error_kinds_listed,
            redactor=run.redactor,
            handled_by=claim.user_id if claim is not None else "",
        )
    return with_resolved_claim(resolved, claim)
