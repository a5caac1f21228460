"""OK: the alarm message resolved, with the recap; an OK that came before its ALARM.

An OK closes its episode and edits the message into its resolved form (how long it
lasted, the recap of every kind of error); an OK with no episode gets its own
message, which a late ALARM then adopts as the resolved alarm message.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from logthread.alarms.alarm_render import alarm_message
from logthread.alarms.claim import claim_of
from logthread.alarms.episodes import Episode
from logthread.alarms.errors import EpisodeBusy
from logthread.alarms.follow_up import recap_tally
from logthread.alarms.follow_up_render import recap_reply
from logthread.alarms.graph import post_graph
from logthread.alarms.investigate import Run, investigate, thread
from logthread.alarms.naming import read_alarm
from logthread.alarms.replies import transition_reply
from logthread.alarms.resolved import show_resolved
from logthread.slack.deadletter import is_deferred


def on_ok(run: Run, episode: Episode, *, previous: bool = False) -> dict[str, Any] | None:
    alarm, store = run.alarm, run.store
    ended = alarm.state_change_ms or run.deps.now_ms()
    # The OK's reason is kept: an ALARM still searching re-renders this resolved form.
    # And the OK itself, to take it out again if it ended a later episode (detach).
    close = store.close_previous if previous else store.close
    closed = close(
        alarm.episode_key,
        by=run.key,
        ended_ms=ended,
        reason=alarm.reason,
        body=alarm.raw,
        subject=alarm.subject,
    )
    if closed is None:  # another delivery changed the episode first: decide again
        return None
    if not closed.ts:
        raise EpisodeBusy(f"the message for {alarm.name!r} is being posted")
    recap = recap_tally(run, closed, ended) if not previous else None
    claim = claim_of(run.deps, alarm.episode_key, closed.started_ms) if not previous else None
    opened = read_alarm(closed.body, closed.subject, run.deps)
    show_resolved(run, closed, opened, alarm, recap=recap, claim=claim)
    run.post(
        "transition",
        closed.channel,
        transition_reply(alarm, started_ms=closed.started_ms, redactor=run.redactor),
        closed.ts,
    )
    # The graph again, the whole episode drawn: the recovery shows beside the firing.
    post_graph(run, closed.channel, closed.ts, started_ms=closed.started_ms, ended_ms=ended)
    if recap is not None and len(recap):
        limit = run.deps.config.limits.error_kinds_listed
        reply = recap_reply(
            recap,
            started_ms=closed.started_ms,
            ended_ms=ended,
            limit=limit,
            redactor=run.redactor,
            handled_by=claim.user_id if claim is not None else "",
        )
        run.post("recap", closed.channel, reply, closed.ts)
    return {"action": "resolved", "channel": closed.channel, "ts": closed.ts}


def on_orphan_ok(
    run: Run,
    channel: str,
    change_ms: int,
    *,
    earlier: bool = False,
    replacing: Episode | None = None,
) -> dict[str, Any] | None:
    """An OK with no episode: its own message, remembered for a late ALARM to adopt.

    ``earlier``: the OK is older than the current episode, and is kept as its ``previous``;
    ``replacing``: the current episode is an older orphan OK, kept as this one's ``previous``.
    """
    alarm, store = run.alarm, run.store
    fields = {
        "owner": run.key,
        "channel": channel,
        "ended_ms": change_ms,
        "body": alarm.raw,
        "subject": alarm.subject,
    }
    if earlier:
        read = store.get(alarm.episode_key)
        record = store.claim_previous(alarm.episode_key, read=read, **fields)
        mine = record is not None
    else:
        record, mine = store.claim_orphan(alarm.episode_key, replacing=replacing, **fields)
    if not mine or record is None:
        return None  # an ALARM (or another OK) got there first: decide again
    message = alarm_message(alarm, redactor=run.redactor)
    ts = record.ts or run.post("alarm", channel, message)
    if is_deferred(ts):
        # Its ts can't be known: forget it, or a late ALARM would wait for it forever.
        abandon = store.abandon_previous if earlier else store.abandon
        abandon(alarm.episode_key, owner=run.key)
    elif not record.ts:
        set_ts = store.set_previous_ts if earlier else store.set_ts
        set_ts(alarm.episode_key, owner=run.key, ts=ts)
    return {"action": "posted", "channel": channel, "ts": ts, "requests": []}


def on_late_alarm(run: Run, change_ms: int, *, earlier: bool = False) -> dict[str, Any] | None:
    """An ALARM whose OK came first: that OK's message becomes the resolved episode."""
    alarm, store = run.alarm, run.store
    current = store.get(alarm.episode_key)
    orphan = current.previous if earlier and current is not None else current
    if orphan is not None and not orphan.ts:
        # Its OK posted the message and died before recording its ts on the episode: the
        # step it recorded has it (a crash between the two).
        posted = store.step(orphan.owner, "alarm")
        if not posted or is_deferred(posted):
            raise EpisodeBusy(f"the message for {alarm.name!r} is being posted")
        set_ts = store.set_previous_ts if earlier else store.set_ts
        set_ts(alarm.episode_key, owner=orphan.owner, ts=posted)
    episode = store.adopt(
        alarm.episode_key,
        started_ms=change_ms,
        body=alarm.raw,
        subject=alarm.subject,
        previous=earlier,
        opened_from=alarm.previous_state,
    )
    if episode is None:
        return None
    if not episode.ts:
        raise EpisodeBusy(f"the message for {alarm.name!r} is being posted")
    findings = investigate(run)
    ok = read_alarm(episode.resolved_body, episode.resolved_subject, run.deps)
    episode = replace(episode, request_ids=tuple(findings.ids))
    show_resolved(run, episode, alarm, ok)
    thread(run, episode.channel, episode.ts, findings)
    store.add_request_ids(alarm.episode_key, findings.ids)
    return {
        "action": "resolved-late",
        "channel": episode.channel,
        "ts": episode.ts,
        "requests": findings.ids,
    }
