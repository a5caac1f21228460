"""The alarm episode as one state machine, ordered by ``StateChangeTime``.

SNS delivers at least once and in no particular order: an OK can arrive before
the ALARM it ends, a retried OK after the next ALARM. So what a notification
does is decided by *when* its state change happened, compared with what the
alarm's episode record already knows, never by when it arrived:

=============================  ======================================================
notification vs. the record     transition
=============================  ======================================================
ALARM, no episode / newer than  ``OPEN``: a new alarm message, its logs in the thread
the last one's end
ALARM, no episode but a newer   ``OPEN_RESOLVED``: the alarm message, already resolved
OK already seen (it came first) (that OK's own message becomes it), logs in the thread
ALARM inside the open episode   ``REPEAT``: "still in ALARM" and new requests, in thread
OK newer than everything the    ``RESOLVE``: the message becomes "resolved", a reply
open episode has shown
OK, no episode                  ``STANDALONE_OK``: its own message, remembered so that a
                                late ALARM turns it into the episode's message
anything else (older than what  ``NOTE``: a reply in the episode's thread saying what
the thread shows, INSUFFICIENT  arrived; the message's state is left as it is
_DATA, OK after the end)
=============================  ======================================================

:func:`decide` is pure; :mod:`logthread.alarms.flow` carries the transition out
and :class:`logthread.alarms.episodes.EpisodeStore` makes each step a
conditional write, so two deliveries racing cannot both win one transition.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from logthread.alarms.episodes import Episode


class Transition(enum.Enum):
    OPEN = "open"
    OPEN_RESOLVED = "open-resolved"
    REPEAT = "repeat"
    RESOLVE = "resolve"
    STANDALONE_OK = "standalone-ok"
    NOTE = "note"
    STANDALONE = "standalone"  # INSUFFICIENT_DATA with no episode: its own message


@dataclass(frozen=True, slots=True)
class Decision:
    transition: Transition
    why: str


def decide(episode: Episode | None, state: str, change_ms: int) -> Decision:
    """What a notification of ``state`` changed at ``change_ms`` does to ``episode``.

    Parameters
    ----------
    episode:
        The alarm's episode record (its latest episode, open or closed), or None.
    state:
        ``ALARM``, ``OK`` or ``INSUFFICIENT_DATA``.
    change_ms:
        The notification's ``StateChangeTime`` (epoch ms).
    """
    if state == "ALARM":
        return _alarm(episode, change_ms)
    if state == "OK":
        return _ok(episode, change_ms)
    if episode is None:
        return Decision(Transition.STANDALONE, "no episode to reply in")
    return Decision(Transition.NOTE, f"{state} leaves the alarm message as it is")


def _alarm(episode: Episode | None, change_ms: int) -> Decision:
    if episode is None:
        return Decision(Transition.OPEN, "no episode yet")
    if episode.is_open:
        if change_ms < episode.started_ms:
            return Decision(Transition.NOTE, "an ALARM older than the open episode")
        return Decision(Transition.REPEAT, "the episode is still open")
    if episode.orphan and change_ms <= (episode.ended_ms or 0):
        return Decision(Transition.OPEN_RESOLVED, "its OK arrived first")
    if change_ms > (episode.ended_ms or 0):
        return Decision(Transition.OPEN, "newer than the last episode's end")
    return Decision(Transition.NOTE, "an ALARM from an episode already resolved")


def _ok(episode: Episode | None, change_ms: int) -> Decision:
    if episode is None:
        return Decision(Transition.STANDALONE_OK, "no episode: the OK came first or alone")
    if episode.is_open and change_ms >= max(episode.started_ms, episode.latest_ms):
        return Decision(Transition.RESOLVE, "newer than everything the episode shows")
    if episode.is_open:
        return Decision(Transition.NOTE, "an OK older than the alarm's newest ALARM")
    return Decision(Transition.NOTE, "the episode is already resolved")
