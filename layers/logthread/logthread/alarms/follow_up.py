"""While an alarm stays in ALARM: look at its logs again, and post only what is new.

CloudWatch sends nothing more while an alarm stays in ALARM, so an error that
starts ten minutes into the incident would never reach its thread. After an ALARM
opens an episode, the worker sends itself a :class:`~logthread.tasks.FollowUp`
through the follow-up queue (:mod:`logthread.delay`, SQS delay messages), every
``limits.follow_up_minutes`` until the episode closes or
``limits.follow_up_for_minutes`` have passed. Each look counts the failing
requests since the last one per kind of error (:mod:`logthread.alarms.count`):

- a kind never seen in this episode gets a reply of its own, with one example
  request's timeline;
- every kind, with its count so far, is in one *live tally* reply, edited in
  place at each look (never a reply per look).

Exactly one follow-up is pending per episode (:mod:`logthread.alarms.follow_up_store`);
what a follow-up does is decided by
:func:`logthread.alarms.lifecycle.decide_follow_up`: an OK, a newer episode or a
duplicate delivery stops it. Its posts are steps of the *episode* (not of the
look), so a kind's reply and the tally message are posted once per episode
whatever is retried.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from typing import Any

from aws_lambda_powertools import Logger

from logthread.alarms.alarm_render import Message
from logthread.alarms.count import count_failures
from logthread.alarms.discover import MAX_INVOCATION_MS, plan
from logthread.alarms.follow_up_render import more_kinds_reply, new_kind_reply, tally_reply
from logthread.alarms.follow_up_store import FollowUpState, FollowUpStore
from logthread.alarms.investigate import Findings, Run, search_requests, thread
from logthread.alarms.lifecycle import FollowUpStep, decide_follow_up
from logthread.alarms.naming import own_account
from logthread.alarms.parse import parse
from logthread.bounds import MAX_WINDOW_MS
from logthread.once import run_once
from logthread.query import TimeWindow
from logthread.signatures import Tally
from logthread.tasks import FollowUp

logger = Logger(service="logthread", child=True)

KEY_PREFIX = "logthread.follow_up"
# A look's own time: counting and the example searches share it (the rest posts).
LOOK_SECONDS = 60
# CloudWatch Logs usually holds an event within seconds of its timestamp; a minute covers
# the slow cases. A failure logged later than this behind its own time is not counted.
INGESTION_LAG_MS = 60_000


def start_follow_ups(run: Run, episode_started_ms: int, findings: Findings) -> None:
    """After an ALARM opened an episode: keep what it counted, make follow-up 1 pending.

    The tally is kept whether or not follow-ups run: the recap on OK reads it.
    """
    deps, store = run.deps, run.store
    if store is None:
        return
    limits = deps.config.limits
    discovery = findings.discovery
    tally = discovery.tally if discovery is not None and discovery.tally is not None else Tally()
    now_ms = deps.now_ms()
    last_ms = discovery.plan.window.end_ms if discovery is not None else now_ms
    follow_ups = _store(store)
    started = follow_ups.start(
        run.alarm.episode_key,
        started_ms=episode_started_ms,
        until_ms=episode_started_ms + int(limits.follow_up_for_minutes * 60_000),
        last_ms=min(last_ms, now_ms),
        tally=tally.to_json(),
    )
    if deps.follow_ups is None or limits.follow_up_for_minutes <= 0:
        return
    if discovery is None or not discovery.plan.targets:
        return  # nowhere to look again (ids from the payload, no log group known)
    if not started:
        # A retry of the ALARM that opened it: follow-up 1 may not have been sent.
        _, state = follow_ups.read(run.alarm.episode_key)
        if state is None or state.started_ms != episode_started_ms or state.looks:
            return
    interval_ms = int(limits.follow_up_minutes * 60_000)
    _send(deps, FollowUp(run.alarm.episode_key, episode_started_ms, 1, now_ms + interval_ms))


def handle_follow_up(follow: FollowUp, deps: Any) -> dict[str, Any]:
    """Run one follow-up from the queue, at most once."""
    if deps.store is None:
        return {"action": "follow-up-dropped", "why": "no table"}
    key = f"{follow.episode_key}#{follow.started_ms}#{follow.seq}"
    return run_once(
        KEY_PREFIX,
        hashlib.sha256(key.encode()).hexdigest()[:32],
        lambda: _follow_up(follow, deps),
        table=deps.store,
        remaining_ms=deps.remaining_ms,
        budget_seconds=LOOK_SECONDS + deps.config.limits.search_deadline_seconds,
        outbox=deps.outbox,
    )


def _follow_up(follow: FollowUp, deps: Any) -> dict[str, Any]:
    ttl = deps.config.limits.episode_ttl_days * 86400
    store = deps.store.with_ttl(ttl)
    follow_ups = _store(store)
    episode, state = follow_ups.read(follow.episode_key)
    step, why = decide_follow_up(episode, state, started_ms=follow.started_ms, seq=follow.seq)
    logger.info("follow-up", extra={"episode": follow.episode_key, "step": step.value, "why": why})
    if step is FollowUpStep.STOP:
        return {"action": "follow-up-stopped", "why": why}
    assert episode is not None and state is not None
    if step is FollowUpStep.LOOK:
        state = _look(follow, deps, store, follow_ups, episode, state)
        if state is None:
            return {"action": "follow-up-stopped", "why": "the episode changed during the look"}
    _next(follow, deps, state)
    return {"action": "followed-up", "channel": episode.channel, "ts": episode.ts}


def _look(
    follow: FollowUp,
    deps: Any,
    store: Any,
    follow_ups: FollowUpStore,
    episode: Any,
    state: FollowUpState,
) -> FollowUpState | None:
    """Count the failing requests since the last look; post the new kinds and the tally."""
    alarm = parse(episode.body, episode.subject)
    run = Run(deps, alarm, episode_run_key(follow.episode_key, follow.started_ms), store)
    run.started = time.monotonic()
    now_ms = deps.now_ms()
    the_plan = plan(
        alarm,
        deps.config,
        logs=deps.logs,
        cloudwatch=deps.cloudwatch,
        now_ms=now_ms,
        own_account=own_account(deps),
    )
    start = max(state.last_ms, now_ms - MAX_WINDOW_MS)
    # Log events reach CloudWatch some seconds after their timestamp: a look reads up to
    # a lag before now, and the next one starts there, so each failure is counted once.
    window = TimeWindow(start, max(start + 1, now_ms - ingestion_lag_ms(deps.config)))
    counted = count_failures(
        deps.logs, replace(the_plan, window=window), keep=1, deadline=run.deadline()
    )
    seen = Tally.from_json(state.tally) if state.tally else Tally()
    fresh = counted.tally
    new = [e for e in fresh.new_since(seen) if e.signature.key]
    total = Tally().merge(seen).merge(fresh)
    channel, ts = episode.channel, episode.ts
    examples = deps.config.limits.examples_per_alarm
    listed = deps.config.limits.error_kinds_listed
    if len(new) > listed:
        # A flood of new kinds gets one reply for the rest; the tally lists every one.
        rest = new[listed:]
        run.post(f"more-kinds#{follow.seq}", channel, more_kinds_reply(rest), ts)
        new = new[:listed]
    for index, entry in enumerate(new):
        run.post(
            f"kind#{entry.signature.key}",
            channel,
            new_kind_reply(entry, since_ms=episode.started_ms, redactor=run.redactor),
            ts,
        )
        if index < examples and entry.example_id not in episode.request_ids:
            example_window = TimeWindow(window.start_ms - MAX_INVOCATION_MS, window.end_ms)
            found = search_requests(
                run, [(entry.example_id, (entry.example_group,))], example_window
            )
            thread(run, channel, ts, found, again=True)
            store.add_request_ids(follow.episode_key, found.ids)
    if len(total):
        _show_tally(run, channel, ts, total, looks=state.looks + 1, at_ms=now_ms)
    if not follow_ups.looked(
        follow.episode_key,
        started_ms=follow.started_ms,
        seq=follow.seq,
        last_ms=window.end_ms,
        tally=total.to_json(),
    ):
        return None
    return replace(state, seq=follow.seq + 1, last_ms=window.end_ms, tally=total.to_json())


def _show_tally(run: Run, channel: str, ts: str, tally: Tally, *, looks: int, at_ms: int) -> None:
    """The one live tally reply: posted at the first look, edited in place after."""
    message: Message = tally_reply(tally, looks=looks, at_ms=at_ms, redactor=run.redactor)
    posted = run.store.step(run.key, "tally") if run.store is not None else None
    tally_ts = run.post("tally", channel, message, ts)
    if posted:
        run.deps.chat.update(channel, tally_ts, text=message.text, blocks=message.blocks)


def _next(follow: FollowUp, deps: Any, state: FollowUpState) -> None:
    """Send the follow-up after ``follow``, unless the episode's follow-ups are over."""
    interval_ms = int(deps.config.limits.follow_up_minutes * 60_000)
    due = max(deps.now_ms(), follow.due_ms) + interval_ms
    if due > state.until_ms:
        logger.info("follow-ups over", extra={"episode": follow.episode_key})
        return
    _send(deps, FollowUp(follow.episode_key, follow.started_ms, follow.seq + 1, due))


def _send(deps: Any, follow: FollowUp) -> None:
    if deps.follow_ups is None:
        return
    delay = max(0.0, (follow.due_ms - deps.now_ms()) / 1000)
    deps.follow_ups.send(follow.to_json(), delay)


def ingestion_lag_ms(config: Any) -> int:
    """How far behind now a look reads: a minute, or half the interval when shorter."""
    interval_ms = int(config.limits.follow_up_minutes * 60_000)
    return min(INGESTION_LAG_MS, interval_ms // 2)


def episode_run_key(episode_key: str, started_ms: int) -> str:
    """The key a follow-up's posts are recorded under: one per episode, not per look."""
    return "fu" + hashlib.sha256(f"{episode_key}#{started_ms}".encode()).hexdigest()[:30]


def _store(store: Any) -> FollowUpStore:
    return FollowUpStore(store.client, store.table_name)


def recap_tally(run: Run, episode: Any, ended_ms: int) -> Tally | None:
    """Every failing request of the episode per kind, for its recap; None if none was kept.

    The follow-ups counted up to their last look; the failures between it and the
    OK are counted now.
    """
    if run.store is None:
        return None
    _, state = _store(run.store).read(run.alarm.episode_key)
    if state is None or state.started_ms != episode.started_ms:
        return None
    seen = Tally.from_json(state.tally) if state.tally else Tally()
    end = min(ended_ms, run.deps.now_ms())
    if end <= state.last_ms:
        return seen
    alarm = parse(episode.body, episode.subject)
    deps = run.deps
    try:
        the_plan = plan(
            alarm,
            deps.config,
            logs=deps.logs,
            cloudwatch=deps.cloudwatch,
            now_ms=end,
            own_account=own_account(deps),
        )
        window = TimeWindow(max(state.last_ms, end - MAX_WINDOW_MS), end)
        counted = count_failures(
            deps.logs, replace(the_plan, window=window), keep=1, deadline=run.deadline()
        )
    except Exception:  # the recap then counts up to the last look
        logger.exception("counting for the recap failed", extra={"alarm": alarm.name})
        return seen
    return Tally().merge(seen).merge(counted.tally)
