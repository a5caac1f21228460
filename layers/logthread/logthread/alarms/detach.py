"""An OK that closed an episode too late: it ended a later episode, and comes out again.

Deliveries come in any order. An OK delivered before an older notification of the
same alarm closes the open episode "at" its own time; when that older notification
arrives — an OK (the episode really ended then) or an ALARM that came from OK (a
new episode began then) — the closing OK is seen to belong to a later episode whose
ALARM has not been delivered. It is *detached*: the record keeps the episode as
``previous``, open again, and makes the closing OK an orphan of its own
(:meth:`~logthread.alarms.episodes.EpisodeStore.detach`); then Slack is made to
match, as steps of the detached OK, so a crash half-way resumes where it stopped:

1. the episode's message back to its ALARM form;
2. the OK's replies ("Back to OK", the recap) deleted from that thread;
3. the OK's own message posted, its ts recorded (the orphan is then complete).

The delivery that detached then decides again: an OK resolves the episode before,
an ALARM adopts the orphan as its resolved message (``OPEN_RESOLVED``).
"""

from __future__ import annotations

from collections.abc import Callable

from logthread.alarms.alarm_render import alarm_message
from logthread.alarms.episodes import Episode
from logthread.alarms.investigate import Run
from logthread.alarms.naming import read_alarm
from logthread.slack.deadletter import is_deferred

# The closing OK's replies in the episode's thread (closing.on_ok's steps).
OK_REPLIES = ("transition", "recap")


def detach(run: Run, read: Episode, *, previous: bool = False) -> None:
    """Detach the OK that closed the current episode (``read``, as read) or, ``previous``,
    the episode before it; then finish."""
    store, key = run.store, run.alarm.episode_key
    if not previous:
        orphan = store.detach(key, read)
        if orphan is not None:
            finish(run, orphan, orphan.previous)
        return
    orphan = store.detach_previous(key, read)
    current = store.get(key) if orphan is not None else None
    if orphan is not None and current is not None:
        finish(run, orphan, current.older[-1] if current.older else None, previous=True)


def finish(run: Run, orphan: Episode, reopened: Episode | None, *, previous: bool = False) -> None:
    """Bring Slack in line with a detached orphan (idempotent: every move is a step of
    the detached OK, whoever carries it out). ``reopened``: the episode it had closed;
    ``previous``: the orphan is the current episode's ``previous``."""
    store, chat = run.store, run.deps.chat
    ok = Run(run.deps, read_alarm(orphan.body, orphan.subject, run.deps), orphan.owner, store)
    before = reopened
    if before is not None and before.ts:
        opened = read_alarm(before.body, before.subject, run.deps)
        message = alarm_message(
            opened,
            found_ids=before.request_ids,
            rescan_key=run.alarm.episode_key,
            redactor=run.redactor,
        )

        def reopen() -> str:
            chat.edit(before.channel, before.ts, text=message.text, blocks=message.blocks)
            return before.ts

        ok.once("detach-reopen", reopen)
        for step in OK_REPLIES:
            record = store.step_record(orphan.owner, step)
            if record is not None and record[0] and not is_deferred(record[0]):
                ok.once(f"detach-{step}", _deleter(run, before.channel, record[0]))
    # Its own step: an orphan an ALARM adopted made its "alarm" post the episode's message.
    ts = ok.post("detached", orphan.channel, alarm_message(ok.alarm, redactor=run.redactor))
    key = run.alarm.episode_key
    if is_deferred(ts):
        # Its ts can't be known: forget it, so that the next ALARM opens a thread Slack can
        # find instead of waiting for this one forever.
        (store.abandon_previous if previous else store.abandon)(key, owner=orphan.owner)
        return
    (store.set_previous_ts if previous else store.set_ts)(key, owner=orphan.owner, ts=ts)


def _deleter(run: Run, channel: str, ts: str) -> Callable[[], str]:
    def delete() -> str:
        run.deps.chat.delete(channel, ts)
        return ts

    return delete
