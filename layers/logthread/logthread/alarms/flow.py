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
from logthread.alarms.alarm_render import Message, alarm_message
from logthread.alarms.claim import claim_of, with_resolved_claim
from logthread.alarms.claim_store import Claim
from logthread.alarms.episodes import STALE_CLAIM_SECONDS, Episode
from logthread.alarms.follow_up import recap_tally, start_follow_ups
from logthread.alarms.follow_up_render import recap_reply, with_recap
from logthread.alarms.graph import failure_times, post_graph
from logthread.alarms.investigate import Findings, Run, investigate, thread
from logthread.alarms.lifecycle import Transition, decide
from logthread.alarms.naming import read_alarm
from logthread.alarms.parse import CLOUDWATCH_SOURCES, UNNAMED, Alarm
from logthread.alarms.replies import (
    already_threaded_reply,
    transition_reply,
)
from logthread.authz import Requester, authorize_requester
from logthread.once import run_once
from logthread.signatures import Tally
from logthread.slack.chat import ChatError
from logthread.slack.deadletter import is_deferred
from logthread.tasks import AlarmRescan

logger = Logger(service="logthread", child=True)

KEY_PREFIX = "logthread.alarm"
# Outside Lambda there is no invocation deadline; an in-progress record then expires
# after the search budget plus this, so a crashed local worker doesn't block retries.
LOCAL_SLACK_SECONDS = 120


class NoChannel(RuntimeError):
    """Neither a route nor a default channel: the notification can't be posted anywhere."""


class EpisodeBusy(RuntimeError):
    """Another delivery is posting this alarm's message right now; retry shortly."""


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
    return _standalone(run, channel)


# How often a delivery re-reads the episode after losing a conditional write to another.
MAX_DECISIONS = 4


def _episode_step(run: Run, channel: str) -> dict[str, Any]:
    """Carry out the transition :func:`~logthread.alarms.lifecycle.decide` picks.

    A transition whose conditional write loses to another delivery is decided
    again on what that delivery wrote.
    """
    alarm, store = run.alarm, run.store
    change_ms = alarm.state_change_ms or run.deps.now_ms()
    for _ in range(MAX_DECISIONS):
        episode = store.get(alarm.episode_key)
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
            return _on_orphan_ok(run, channel, change_ms, earlier=True)
        return _on_earlier_alarm(run, channel, change_ms)
    if episode.orphan:
        return _on_orphan_ok(run, channel, change_ms)
    run.rescan_key = run.alarm.episode_key
    return _on_alarm(run, channel, replacing=episode.previous)


def _carry_out(
    transition: Transition, run: Run, channel: str, episode: Episode | None, change_ms: int
) -> dict[str, Any] | None:
    if transition in (Transition.OPEN, Transition.SUCCEED):
        run.rescan_key = run.alarm.episode_key
        return _on_alarm(run, channel, replacing=episode, expect_empty=episode is None)
    if transition is Transition.STANDALONE:
        return _standalone(run, channel)
    if transition is Transition.STANDALONE_OK:
        return _on_orphan_ok(run, channel, change_ms)
    if transition is Transition.OPEN_RESOLVED:
        return _on_late_alarm(run, change_ms)
    if transition is Transition.OPEN_EARLIER:
        return _on_earlier_alarm(run, channel, change_ms)
    if transition is Transition.STANDALONE_OK_EARLIER:
        return _on_orphan_ok(run, channel, change_ms, earlier=True)
    if transition is Transition.ADOPT_EARLIER:
        return _on_late_alarm(run, change_ms, earlier=True)
    if transition is Transition.REPEAT:
        # Through the claim: the delivery that opened the episode and died before its
        # message was up gets it back, and finishes what it started.
        run.rescan_key = run.alarm.episode_key
        return _on_alarm(run, channel)
    assert episode is not None
    if transition is Transition.RESOLVE_PREVIOUS:
        return _on_ok(run, episode, previous=True)
    if transition is Transition.NOTE_PREVIOUS:
        assert episode.previous is not None
        episode = episode.previous
    if not episode.ts:
        raise EpisodeBusy(f"the message for {run.alarm.name!r} is being posted")
    if transition is Transition.RESOLVE:
        return _on_ok(run, episode)
    reply = transition_reply(
        run.alarm, started_ms=episode.started_ms or None, redactor=run.redactor
    )
    ts = run.post("transition", episode.channel, reply, episode.ts)
    return {"action": "replied", "channel": episode.channel, "ts": episode.ts, "reply": ts}


def _on_alarm(
    run: Run, channel: str, *, replacing: Episode | None = None, expect_empty: bool = False
) -> dict[str, Any] | None:
    alarm, store = run.alarm, run.store
    episode, opened = store.claim(
        alarm.episode_key,
        owner=run.key,
        channel=channel,
        started_ms=alarm.state_change_ms or run.deps.now_ms(),
        body=alarm.raw,
        subject=alarm.subject,
        replacing=replacing,
        opened_from=alarm.previous_state,
        expect_empty=expect_empty,
    )
    if opened:
        # The message first, saying it is looking; the search may take its whole budget.
        ts = episode.ts or _post_looking(run, channel)
        if is_deferred(ts):
            # The alarm message timed out: it may be in Slack, but its ts is unknown. Its
            # edit and thread go into the same dead letter, and the episode is forgotten so
            # the next notification opens a thread Slack can find instead of replying under
            # a placeholder.
            findings = investigate(run)
            _show_found(run, channel, ts, findings)
            thread(run, channel, ts, findings)
            store.abandon(alarm.episode_key, owner=run.key)
            return {"action": "deferred", "channel": channel, "ts": ts, "requests": findings.ids}
        if not episode.ts:
            store.set_ts(alarm.episode_key, owner=run.key, ts=ts, searching=True)
        findings = investigate(run)
        _show_found(run, channel, ts, findings, mine=lambda: _mine(run))
        post_graph(run, channel, ts, failures_ms=failure_times(findings))  # first reply
        thread(run, channel, ts, findings)
        store.found(alarm.episode_key, owner=run.key, ids=findings.ids)
        start_follow_ups(run, episode.started_ms, findings)
        return {"action": "opened", "channel": channel, "ts": ts, "requests": findings.ids}
    if not episode.is_open or replacing is not None or expect_empty:
        return None  # the episode changed meanwhile (a newer OK, another ALARM): decide again
    if not episode.ts:
        raise EpisodeBusy(f"the message for {alarm.name!r} is being posted")
    if _still_searching(run, episode):
        # Its requests are not known yet: searching now would thread them twice.
        raise EpisodeBusy(f"the logs of {alarm.name!r} are being searched")
    # Still in alarm: reply in the open thread, with requests it doesn't show yet.
    channel, ts = episode.channel, episode.ts
    store.note_alarm(alarm.episode_key, alarm.state_change_ms or run.deps.now_ms())
    run.post(
        "transition",
        channel,
        transition_reply(alarm, started_ms=episode.started_ms, redactor=run.redactor),
        ts,
    )
    known = set(episode.request_ids)
    findings = investigate(run, known=known)
    if not findings.ids and findings.already_threaded:
        run.post("nothing-new", channel, already_threaded_reply(findings.already_threaded), ts)
    else:
        thread(run, channel, ts, findings)
    store.add_request_ids(alarm.episode_key, findings.ids)
    return {"action": "repeated", "channel": channel, "ts": ts, "requests": findings.ids}


def _on_ok(run: Run, episode: Episode, *, previous: bool = False) -> dict[str, Any] | None:
    alarm, store = run.alarm, run.store
    ended = alarm.state_change_ms or run.deps.now_ms()
    close = store.close_previous if previous else store.close
    # The OK's reason is kept: an ALARM still searching re-renders this resolved form.
    closed = close(alarm.episode_key, by=run.key, ended_ms=ended, reason=alarm.reason)
    if closed is None:  # another delivery changed the episode first: decide again
        return None
    if not closed.ts:
        raise EpisodeBusy(f"the message for {alarm.name!r} is being posted")
    recap = recap_tally(run, closed, ended) if not previous else None
    claim = claim_of(run.deps, alarm.episode_key, closed.started_ms) if not previous else None
    opened = read_alarm(closed.body, closed.subject, run.deps)
    _show_resolved(run, closed, opened, alarm, recap=recap, claim=claim)
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


def _show_resolved(
    run: Run,
    episode: Episode,
    alarm: Alarm,
    resolved_by: Alarm,
    *,
    recap: Tally | None = None,
    claim: Claim | None = None,
) -> None:
    """Edit the episode's message into its resolved form (once per notification)."""
    resolved = _resolved_message(run, episode, alarm, resolved_by, recap, claim)

    def update() -> str:
        run.deps.chat.update(
            episode.channel, episode.ts, text=resolved.text, blocks=resolved.blocks
        )
        return episode.ts

    run.once("resolved", update)


def _resolved_message(
    run: Run,
    episode: Episode,
    alarm: Alarm,
    resolved_by: Alarm,
    recap: Tally | None,
    claim: Claim | None = None,
) -> Message:
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
    resolved = with_resolved_claim(resolved, claim)
    return resolved


def _post_looking(run: Run, channel: str) -> str:
    """Post the alarm message before the logs are searched (it says it is looking)."""
    looking = alarm_message(
        run.alarm, rescan_key=run.rescan_key, looking=True, redactor=run.redactor
    )
    return run.post("alarm", channel, looking)


def _mine(run: Run) -> tuple[Episode | None, bool]:
    """The episode this notification opened, as the table holds it now (or None), and
    whether it is the alarm's current one (not the ``previous`` a newer one replaced)."""
    current = run.store.get(run.alarm.episode_key)
    if current is not None and current.owner == run.key:
        return current, True
    before = current.previous if current is not None else None
    return (before, False) if before is not None and before.owner == run.key else (None, False)


def _still_searching(run: Run, episode: Episode) -> bool:
    since = episode.searching_since
    # A search whose delivery died for good must not hold the episode's repeats forever.
    return bool(since) and run.store.now() - since < STALE_CLAIM_SECONDS


def _show_found(
    run: Run,
    channel: str,
    ts: str,
    findings: Findings,
    *,
    mine: Callable[[], tuple[Episode | None, bool]] = lambda: (None, False),
) -> None:
    """Edit the "looking" alarm message into what the search found (once per notification).

    ``mine`` reads the episode the message opened. An OK may have resolved it while the
    logs were searched, and edited the message into its resolved form: that form is kept
    (with the requests found). The OK may also land its edit between the read and this
    one, so the episode is read again after it, and the resolved form restored if so.
    """
    alarm = run.alarm

    def form(read: tuple[Episode | None, bool]) -> tuple[Message, bool]:
        episode, current = read
        if episode is None or episode.is_open or not episode.ended_ms:
            found = alarm_message(
                alarm,
                discovery=findings.discovery,
                found_ids=findings.ids,
                rescan_key=run.rescan_key,
                redactor=run.redactor,
            )
            return found, False
        # As the OK rendered it (_on_ok), with the requests this search found.
        ok = replace(alarm, state="OK", reason=episode.ok_reason, state_change_ms=episode.ended_ms)
        recap = recap_tally(run, episode, episode.ended_ms) if current else None
        ids = tuple(sorted(set(episode.request_ids) | set(findings.ids)))
        return _resolved_message(run, replace(episode, request_ids=ids), alarm, ok, recap), True

    def edit(message: Message) -> Callable[[], str]:
        def update() -> str:
            if is_deferred(ts):  # its message is in a dead letter: so is the edit, after it
                run.deps.chat.update(channel, ts, text=message.text, blocks=message.blocks)
            else:
                _edit_now(run, channel, ts, message)
            return ts

        return update

    message, resolved = form(mine())
    run.once("found", edit(message))
    if resolved:
        return
    message, resolved = form(mine())
    if resolved:
        run.once("found-resolved", edit(message))


def _edit_now(run: Run, channel: str, ts: str, message: Message) -> None:
    """Edit the alarm message now, or fail the delivery so its retry does.

    Never deferred to a dead letter: replayed after an OK's edit, it would show the
    alarm again. An edit Slack refuses for good is left out; the thread still follows.
    """
    try:
        run.deps.chat.edit(channel, ts, text=message.text, blocks=message.blocks)
    except ChatError as exc:
        if exc.transient:
            raise
        logger.error("the alarm message could not be edited", extra={"code": exc.code, "ts": ts})


def _on_orphan_ok(
    run: Run, channel: str, change_ms: int, *, earlier: bool = False
) -> dict[str, Any] | None:
    """An OK with no episode: its own message, remembered for a late ALARM to adopt.

    ``earlier``: the OK is older than the current episode, and is kept as its ``previous``.
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
        record = store.claim_previous(alarm.episode_key, **fields)
        mine = record is not None
    else:
        record, mine = store.claim_orphan(alarm.episode_key, **fields)
    if not mine or record is None:
        return None  # an ALARM (or another OK) got there first: decide again
    message = alarm_message(alarm, redactor=run.redactor)
    ts = record.ts or run.post("alarm", channel, message)
    if not record.ts and not is_deferred(ts):
        set_ts = store.set_previous_ts if earlier else store.set_ts
        set_ts(alarm.episode_key, owner=run.key, ts=ts)
    return {"action": "posted", "channel": channel, "ts": ts, "requests": []}


def _on_earlier_alarm(run: Run, channel: str, change_ms: int) -> dict[str, Any] | None:
    """An ALARM older than the current episode, delivered after it: its own message."""
    alarm, store = run.alarm, run.store
    episode = store.claim_previous(
        alarm.episode_key,
        owner=run.key,
        channel=channel,
        started_ms=change_ms,
        body=alarm.raw,
        subject=alarm.subject,
    )
    if episode is None:
        return None
    ts = episode.ts or _post_looking(run, channel)
    if not episode.ts and not is_deferred(ts):
        store.set_previous_ts(alarm.episode_key, owner=run.key, ts=ts)
    findings = investigate(run)
    mine = (lambda: (None, False)) if is_deferred(ts) else (lambda: _mine(run))
    _show_found(run, channel, ts, findings, mine=mine)
    thread(run, channel, ts, findings)
    return {"action": "opened-late", "channel": channel, "ts": ts, "requests": findings.ids}


def _on_late_alarm(run: Run, change_ms: int, *, earlier: bool = False) -> dict[str, Any] | None:
    """An ALARM whose OK came first: that OK's message becomes the resolved episode."""
    alarm, store = run.alarm, run.store
    current = store.get(alarm.episode_key)
    orphan = current.previous if earlier and current is not None else current
    if orphan is not None and not orphan.ts:
        raise EpisodeBusy(f"the message for {alarm.name!r} is being posted")
    episode = store.adopt(
        alarm.episode_key,
        started_ms=change_ms,
        body=alarm.raw,
        subject=alarm.subject,
        previous=earlier,
    )
    if episode is None:
        return None
    if not episode.ts:
        raise EpisodeBusy(f"the message for {alarm.name!r} is being posted")
    findings = investigate(run)
    ok = read_alarm(episode.resolved_body, episode.resolved_subject, run.deps)
    episode = replace(episode, request_ids=tuple(findings.ids))
    _show_resolved(run, episode, alarm, ok)
    thread(run, episode.channel, episode.ts, findings)
    store.add_request_ids(alarm.episode_key, findings.ids)
    return {
        "action": "resolved-late",
        "channel": episode.channel,
        "ts": episode.ts,
        "requests": findings.ids,
    }


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


def _standalone(run: Run, channel: str) -> dict[str, Any]:
    """A notification outside any episode: its own message, and logs when it has any."""
    if not _worth_looking(run.alarm):
        message = alarm_message(run.alarm, redactor=run.redactor)
        ts = run.post("alarm", channel, message)
        thread(run, channel, ts, Findings())  # the raw text, when it could not be read
        return {"action": "posted", "channel": channel, "ts": ts, "requests": []}
    ts = _post_looking(run, channel)
    findings = investigate(run)
    _show_found(run, channel, ts, findings)
    thread(run, channel, ts, findings)
    return {"action": "posted", "channel": channel, "ts": ts, "requests": findings.ids}


def _worth_looking(alarm: Alarm) -> bool:
    # OK and INSUFFICIENT_DATA have no failing requests; custom and text notifications
    # (no state) may still name one or map to a log group.
    return alarm.state in ("ALARM", "")


# -- the logs -------------------------------------------------------------------------------
