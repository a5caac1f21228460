"""One notification in, one Slack conversation out: the alarm path of the worker.

- ALARM opens an episode: the alarm message at once (saying it is looking), then,
  once the logs are searched, the message edited with what was found and the
  failing requests' logs in its thread. A repeated ALARM while the episode is open replies in the same
  thread (with any request not threaded yet). OK updates the original message to
  resolved, saying how long it lasted, and replies in the thread.
- Delivery is at least once. The whole notification is wrapped in Powertools
  Idempotency (keyed on a hash of the message and subject), so a duplicate
  returns the first run's answer without posting. A run that fails half-way
  is retried in full; every Slack post is then a *step* recorded in the store
  with its ts right after it is made, so the retry skips what was posted and
  continues where it stopped.
- This module reads the notification, decides the transition and dispatches it:
  ALARMs are carried out by :mod:`logthread.alarms.opening`, OKs by
  :mod:`logthread.alarms.closing`; "Search logs again" is here.
- What a notification does to its alarm's episode is decided by its
  ``StateChangeTime``, not by when it arrived (:mod:`logthread.alarms.lifecycle`),
  and each transition is a conditional write
  (:class:`logthread.alarms.episodes.EpisodeStore`): two notifications racing for
  the same alarm open one thread, and a late one never shows a wrong state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from aws_lambda_powertools import Logger

from logthread import telemetry
from logthread.alarms import detach
from logthread.alarms.closing import on_late_alarm, on_ok, on_orphan_ok
from logthread.alarms.episodes import Episode
from logthread.alarms.errors import EpisodeBusy, NoChannel
from logthread.alarms.investigate import Run, investigate, thread
from logthread.alarms.lifecycle import Transition, decide
from logthread.alarms.naming import read_alarm
from logthread.alarms.opening import on_alarm, on_earlier_alarm, standalone
from logthread.alarms.parse import CLOUDWATCH_SOURCES, UNNAMED
from logthread.alarms.replies import transition_reply
from logthread.authz import Requester, authorize_requester
from logthread.once import run_once
from logthread.tasks import AlarmRescan

__all__ = ["EpisodeBusy", "NoChannel", "handle_notification", "handle_rescan", "notification_key"]

logger = Logger(service="logthread", child=True)

KEY_PREFIX = "logthread.alarm"
# Outside Lambda there is no invocation deadline; an in-progress record then expires
# after the search budget plus this, so a crashed local worker doesn't block retries.
LOCAL_SLACK_SECONDS = 120


def notification_key(body: str, subject: str) -> str:
    """A stable id for one notification: the same SNS message always maps to the same key."""
    digest = hashlib.sha256(f"{subject}\n{body}".encode()).hexdigest()
    return digest[:32]


def handle_notification(body: str, subject: str, deps: Any) -> dict[str, Any]:
    """Post one notification from the alarm topic, at most once.

    Parameters
    ----------
    body:
        The SNS ``Message``.
    subject:
        The SNS ``Subject`` ("" if none).
    deps:
        :class:`logthread.worker.deps.WorkerDeps`: logs, chat, config, store,
        clock, remaining time and (optionally) a CloudWatch client.

    Returns
    -------
    dict
        What was done: ``action``, ``channel``, ``ts`` (the alarm message's).
        A duplicate delivery returns the first delivery's answer.

    Raises
    ------
    IdempotencyAlreadyInProgressError
        The same notification is being handled by another invocation right now;
        the delivery should be retried (it then returns the stored answer).
    EpisodeBusy, NoChannel, logthread.slack.chat.ChatError
        Failures a retry (or a fix and a replay from the DLQ) can cure.
    """
    notification = {"subject": subject or "", "body": body}
    key = notification_key(body, subject or "")
    return _once(key, lambda: _process(notification, deps), deps)


def handle_rescan(again: AlarmRescan, deps: Any) -> dict[str, Any]:
    """ "Search logs again" on an alarm thread: discovery over a wider window, at most once.

    Parameters
    ----------
    again:
        The decoded rescan (from the task topic only: the worker checked).
    deps:
        As for :func:`handle_notification`.

    Returns
    -------
    dict
        What was done: ``action`` (``searched-again``, ``rescan-forgotten`` or
        ``rescan-refused``), ``channel``, ``ts``; a duplicate gets the first answer.
    """
    key = notification_key(again.to_json(), "")
    return _once(key, lambda: _on_rescan(again, deps, _episodes(deps), key), deps)


def _once(key: str, process: Callable[[], dict[str, Any]], deps: Any) -> dict[str, Any]:
    if deps.store is None:
        logger.warning("no TABLE_NAME: alarm handled without de-duplication")
        return process()
    return run_once(
        KEY_PREFIX,
        key,
        process,
        table=deps.store,
        remaining_ms=deps.remaining_ms,
        budget_seconds=deps.config.limits.search_deadline_seconds + LOCAL_SLACK_SECONDS,
        outbox=deps.outbox,
    )


def _episodes(deps: Any) -> Any:
    ttl = deps.config.limits.episode_ttl_days * 86400
    return deps.store.with_ttl(ttl) if deps.store is not None else None


# -- one run --------------------------------------------------------------------------------


def _process(notification: dict[str, str], deps: Any) -> dict[str, Any]:
    body, subject = notification["body"], notification["subject"]
    config = deps.config
    store = _episodes(deps)
    alarm = read_alarm(body, subject, deps)
    telemetry.log_keys(alarm=alarm.name)
    run = Run(deps, alarm, notification_key(body, subject), store)
    channel = config.channel_for(alarm.name, alarm.account, alarm.account_name)
    if not channel:
        raise NoChannel(f"no route and no default channel for alarm {alarm.name!r}")
    logger.info(
        "notification",
        extra={"alarm": alarm.name, "state": alarm.state, "source": alarm.source, "key": run.key},
    )
    episodic = (
        store is not None and alarm.source in CLOUDWATCH_SOURCES and alarm.name not in ("", UNNAMED)
    )
    if episodic and alarm.state in ("ALARM", "OK", "INSUFFICIENT_DATA"):
        return _episode_step(run, channel)
    return standalone(run, channel)


# How often a delivery re-reads the episode after losing a conditional write to another.
MAX_DECISIONS = 6


def _episode_step(run: Run, channel: str) -> dict[str, Any]:
    """Carry out the transition :func:`~logthread.alarms.lifecycle.decide` picks.

    A transition whose conditional write loses to another delivery is decided
    again on what that delivery wrote.
    """
    alarm, store = run.alarm, run.store
    change_ms = alarm.state_change_ms or run.deps.now_ms()
    for _ in range(MAX_DECISIONS):
        episode = store.get(alarm.episode_key)
        if episode is not None and episode.detached:
            detach.finish(run, episode, episode.previous)  # a detach left half-way: Slack first
            continue
        if episode is not None and episode.previous is not None and episode.previous.detached:
            reopened = episode.older[-1] if episode.older else None
            detach.finish(run, episode.previous, reopened, previous=True)
            continue
        if episode is not None and _started_here(run, episode):
            # This notification wrote the record and died before its message was up:
            # it finishes what it started.
            done = _resume(run, channel, episode, change_ms)
            if done is not None:
                return done
            continue
        decision = decide(episode, alarm.state, change_ms, alarm.previous_state)
        logger.info(
            "episode transition",
            extra={
                "alarm": alarm.name,
                "transition": decision.transition.value,
                "why": decision.why,
            },
        )
        if decision.transition is Transition.RECALL:
            assert episode is not None
            store.recall(alarm.episode_key, episode, decision.older)
            continue  # decide again, with that episode as the one before
        done = _carry_out(decision.transition, run, channel, episode, change_ms)
        if done is not None:
            return done
    raise EpisodeBusy(f"the episode of {alarm.name!r} keeps changing; retry")


def _started_here(run: Run, episode: Episode) -> bool:
    before = episode.previous
    mine = episode.owner == run.key and not episode.ts
    return mine or (before is not None and before.owner == run.key and not before.ts)


def _resume(run: Run, channel: str, episode: Episode, change_ms: int) -> dict[str, Any] | None:
    if episode.owner != run.key:
        assert episode.previous is not None
        if episode.previous.orphan:
            return on_orphan_ok(run, channel, change_ms, earlier=True)
        return on_earlier_alarm(run, channel, change_ms)
    if episode.orphan:
        return on_orphan_ok(run, channel, change_ms)
    run.rescan_key = run.alarm.episode_key
    return on_alarm(run, channel, replacing=episode.previous)


def _carry_out(
    transition: Transition, run: Run, channel: str, episode: Episode | None, change_ms: int
) -> dict[str, Any] | None:
    if transition in (Transition.OPEN, Transition.SUCCEED):
        run.rescan_key = run.alarm.episode_key
        return on_alarm(run, channel, replacing=episode, expect_empty=episode is None)
    if transition is Transition.STANDALONE:
        return standalone(run, channel)
    if transition in (Transition.DETACH, Transition.DETACH_PREVIOUS):
        assert episode is not None
        detach.detach(run, episode, previous=transition is Transition.DETACH_PREVIOUS)
        return None  # decide again on what the episode is now
    if transition is Transition.STANDALONE_OK:
        return on_orphan_ok(run, channel, change_ms, replacing=episode)
    if transition is Transition.OPEN_RESOLVED:
        return on_late_alarm(run, change_ms)
    if transition is Transition.OPEN_EARLIER:
        return on_earlier_alarm(run, channel, change_ms)
    if transition is Transition.STANDALONE_OK_EARLIER:
        return on_orphan_ok(run, channel, change_ms, earlier=True)
    if transition is Transition.ADOPT_EARLIER:
        return on_late_alarm(run, change_ms, earlier=True)
    if transition is Transition.REPEAT:
        # Through the claim: the delivery that opened the episode and died before its
        # message was up gets it back, and finishes what it started.
        run.rescan_key = run.alarm.episode_key
        return on_alarm(run, channel)
    assert episode is not None
    if transition is Transition.RESOLVE_PREVIOUS:
        return on_ok(run, episode, previous=True)
    if transition in (Transition.EXTEND, Transition.EXTEND_PREVIOUS):
        run.store.extend(
            run.alarm.episode_key,
            change_ms=change_ms,
            opened_from=run.alarm.previous_state,
            previous=transition is Transition.EXTEND_PREVIOUS,
        )
    if transition in (Transition.NOTE_PREVIOUS, Transition.EXTEND_PREVIOUS):
        assert episode.previous is not None
        episode = episode.previous
    if not episode.ts:
        raise EpisodeBusy(f"the message for {run.alarm.name!r} is being posted")
    if transition is Transition.RESOLVE:
        return on_ok(run, episode)
    reply = transition_reply(
        run.alarm, started_ms=episode.started_ms or None, redactor=run.redactor
    )
    ts = run.post("transition", episode.channel, reply, episode.ts)
    return {"action": "replied", "channel": episode.channel, "ts": episode.ts, "reply": ts}


def _on_rescan(again: AlarmRescan, deps: Any, store: Any, key: str) -> dict[str, Any]:
    """ "Search logs again" on an alarm that found nothing: discovery over a wider window."""
    # Defence in depth, as for search tasks (worker/search_task.py): whoever can publish to
    # the task topic could name any channel and user. Such a rescan is dropped unanswered.
    # The body names no team (the ingress checked the clicker's), so only these two count.
    requester = Requester("", again.channel, again.user_id)
    decision = authorize_requester(replace(deps.config.access, teams=()), requester)
    if not decision.allowed:
        logger.error(
            "rescan dropped: requester not allowed",
            extra={"reason": decision.reason, "episode": again.episode_key},
        )
        return {"action": "rescan-refused", "channel": again.channel, "ts": ""}
    episode = store.get(again.episode_key) if store is not None else None
    if episode is None:
        days = deps.config.limits.episode_ttl_days
        text = (
            f"This alarm is no longer remembered (episodes are kept {days} days): "
            "open CloudWatch to look further."
        )
        ts = deps.chat.post(again.channel, text=text, thread_ts=again.thread_ts)
        return {"action": "rescan-forgotten", "channel": again.channel, "ts": ts}
    if again.channel != episode.channel:
        # The findings belong in the alarm's own channel: a body naming another is forged.
        logger.error(
            "rescan dropped: channel is not the episode's",
            extra={"channel": again.channel, "episode": again.episode_key},
        )
        return {"action": "rescan-refused", "channel": again.channel, "ts": ""}
    run = Run(
        deps,
        read_alarm(episode.body, episode.subject, deps),
        key,
        store,
        rescan_key=again.episode_key,
    )
    telemetry.log_keys(alarm=run.alarm.name, slack_user=again.user_id, slack_channel=again.channel)
    logger.info("alarm search again", extra={"alarm": run.alarm.name, "user": again.user_id})
    findings = investigate(run, window=again.window)
    thread(run, again.channel, again.thread_ts, findings, again=True)
    store.add_request_ids(again.episode_key, findings.ids)
    return {
        "action": "searched-again",
        "channel": again.channel,
        "ts": again.thread_ts,
        "requests": findings.ids,
    }
