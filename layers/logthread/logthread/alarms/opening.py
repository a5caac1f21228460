"""ALARM: the alarm message at once (saying it is looking), then what the search found.

The message goes up as soon as the notification is read; the logs are searched
after, under the search budget, and the message is edited with the findings, the
failing requests' logs in its thread. An OK may resolve the episode meanwhile:
the edit then keeps the resolved form (:func:`_show_found`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from aws_lambda_powertools import Logger

from logthread.alarms.alarm_render import Message, alarm_message
from logthread.alarms.episodes import STALE_CLAIM_SECONDS, Episode
from logthread.alarms.errors import EpisodeBusy
from logthread.alarms.follow_up import recap_tally, start_follow_ups
from logthread.alarms.graph import failure_times, post_graph
from logthread.alarms.investigate import Findings, Run, investigate, thread
from logthread.alarms.parse import Alarm
from logthread.alarms.replies import already_threaded_reply, transition_reply
from logthread.alarms.resolved import resolved_message
from logthread.slack.chat import ChatError
from logthread.slack.deadletter import is_deferred

logger = Logger(service="logthread", child=True)


def on_alarm(
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


def on_earlier_alarm(run: Run, channel: str, change_ms: int) -> dict[str, Any] | None:
    """An ALARM older than the current episode, delivered after it: its own message."""
    alarm, store = run.alarm, run.store
    episode = store.claim_previous(
        alarm.episode_key,
        owner=run.key,
        channel=channel,
        started_ms=change_ms,
        body=alarm.raw,
        subject=alarm.subject,
        opened_from=alarm.previous_state,
        read=store.get(alarm.episode_key),
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


def standalone(run: Run, channel: str) -> dict[str, Any]:
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
        # As the OK rendered it (on_ok), with the requests this search found.
        ok = replace(alarm, state="OK", reason=episode.ok_reason, state_change_ms=episode.ended_ms)
        recap = recap_tally(run, episode, episode.ended_ms) if current else None
        ids = tuple(sorted(set(episode.request_ids) | set(findings.ids)))
        return resolved_message(run, replace(episode, request_ids=ids), alarm, ok, recap), True

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
