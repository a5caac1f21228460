"""The alarm episode as one state machine, ordered by ``StateChangeTime``.

SNS delivers at least once and in no particular order: an OK can arrive before
the ALARM it ends, a retried OK after the next ALARM. So what a notification
does is decided by *when* its state change happened, compared with what the
alarm's episode record already knows, never by when it arrived:

- ``OPEN``: an ALARM with no episode, or newer than the last one's end: a new
  alarm message, its failing requests in the thread.
- ``SUCCEED``: an ALARM that comes from OK (its ``OldStateValue``) while an
  episode is open: that episode ended with an OK not received yet; a new message
  opens, and the old one is kept as ``previous`` to await its OK.
- ``OPEN_RESOLVED``: an ALARM whose OK came first (recorded as an *orphan*): the
  OK's message becomes the resolved alarm message, the requests in its thread.
- ``OPEN_EARLIER``: an ALARM older than the current episode, which began from OK,
  with none remembered before it: the later episode was delivered first; this one
  gets its own message, kept as ``previous`` so that its OK still resolves it. (When
  the current one began from ALARM or INSUFFICIENT_DATA, the older ALARM is taken as
  part of it: a reply in its thread.)
- ``STANDALONE_OK_EARLIER`` / ``ADOPT_EARLIER``: the same as ``STANDALONE_OK`` and
  ``OPEN_RESOLVED`` for an episode older than the current one (kept as ``previous``).
- ``REPEAT``: an ALARM inside the open episode: "still in ALARM", new requests.
- ``RESOLVE``: an OK newer than everything the open episode shows: the message
  becomes "resolved", and a reply says so.
- ``RESOLVE_PREVIOUS``: an OK older than the current episode, of the one before
  it still awaiting its OK: that episode's message becomes "resolved".
- ``STANDALONE_OK``: an OK with no episode: its own message, remembered so that a
  late ALARM turns it into the episode's message.
- ``EXTEND`` / ``EXTEND_PREVIOUS``: an ALARM older than the earliest one known of an
  episode whose earliest came from ALARM (not from OK): it is that episode's, begun
  earlier than known; a reply in its thread, and the episode's known start moves back.
- ``DETACH``: an OK older than the one that closed the episode (and newer than its
  ALARMs), or an ALARM from OK between them: the closing OK ended a later episode
  whose ALARM is still to come; it becomes an orphan of its own and the episode is
  kept open as ``previous`` (:mod:`logthread.alarms.detach`), then decided again.
- ``RECALL``: a notification of an episode older than the one before (kept among the
  ``older`` ones): that episode becomes ``previous`` again, and the notification is
  decided again; one in the gap before the one before opens an episode of its own there
  (``OPEN_EARLIER`` / ``STANDALONE_OK_EARLIER``), the one before joining the older ones.
- ``NOTE`` / ``NOTE_PREVIOUS``: anything else (older than what the thread shows,
  INSUFFICIENT_DATA, an OK after the end): a reply in the thread of the episode
  it belongs to; no message changes state.

:func:`decide` is pure; :mod:`logthread.alarms.flow` carries the transition out
and :class:`logthread.alarms.episodes.EpisodeStore` makes each step a
conditional write, so two deliveries racing cannot both win one transition.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from logthread.alarms.episodes import Episode
from logthread.alarms.follow_up_store import FollowUpState


class Transition(enum.Enum):
    OPEN = "open"
    SUCCEED = "succeed"  # a new episode while the open one awaits an OK not received yet
    OPEN_RESOLVED = "open-resolved"
    OPEN_EARLIER = "open-earlier"  # an ALARM older than the current episode, none before it
    STANDALONE_OK_EARLIER = "standalone-ok-earlier"  # an OK older than it, none before it
    ADOPT_EARLIER = "adopt-earlier"  # an ALARM whose OK (older than the current) came first
    REPEAT = "repeat"
    RESOLVE = "resolve"
    RESOLVE_PREVIOUS = "resolve-previous"
    STANDALONE_OK = "standalone-ok"
    RECALL = "recall"  # an episode older than the one before: back as ``previous``, then decide
    DETACH = "detach"  # the OK that closed the episode ended a later one: take it out
    DETACH_PREVIOUS = "detach-previous"  # the same, for the episode before
    EXTEND = "extend"  # an earlier ALARM of the current episode (it began from ALARM)
    EXTEND_PREVIOUS = "extend-previous"
    NOTE = "note"
    NOTE_PREVIOUS = "note-previous"
    STANDALONE = "standalone"  # INSUFFICIENT_DATA with no episode: its own message


@dataclass(frozen=True, slots=True)
class Decision:
    transition: Transition
    why: str
    older: int = -1  # RECALL: which of the episode's ``older`` ones


def decide(
    episode: Episode | None, state: str, change_ms: int, previous_state: str = ""
) -> Decision:
    """What a notification of ``state`` changed at ``change_ms`` does to ``episode``.

    Parameters
    ----------
    episode:
        The alarm's episode record (its latest episode, open or closed, with the
        one before it as ``previous``), or None.
    state:
        ``ALARM``, ``OK`` or ``INSUFFICIENT_DATA``.
    change_ms:
        The notification's ``StateChangeTime`` (epoch ms).
    previous_state:
        Its ``OldStateValue``: an ALARM that comes from OK starts a new episode even
        when that OK has not been received yet.
    """
    if episode is not None and (
        change_ms < episode.started_ms or _before_the_orphan(episode, change_ms)
    ):
        return _earlier(episode, state, change_ms, previous_state)
    if state == "ALARM":
        return _alarm(episode, change_ms, previous_state)
    if state == "OK":
        return _ok(episode, change_ms)
    if episode is None:
        return Decision(Transition.STANDALONE, "no episode to reply in")
    return Decision(Transition.NOTE, f"{state} leaves the alarm message as it is")


def _earlier(episode: Episode, state: str, change_ms: int, previous_state: str) -> Decision:
    """A notification older than the current episode: it belongs to the one before."""
    if not episode.orphan and change_ms >= episode.begins_ms:
        return Decision(Transition.NOTE, f"a late {state} of this episode")
    before = episode.previous
    recalled = _older_one(episode, change_ms, state == "ALARM" and previous_state == "OK")
    if recalled >= 0:
        return Decision(Transition.RECALL, "an episode older than the one before", recalled)
    if state == "OK" and (
        before is None
        or (
            # From ALARM, it surely ended an episode (from INSUFFICIENT_DATA it may be none).
            previous_state == "ALARM"
            and (
                change_ms < before.begins_ms
                or (not before.is_open and change_ms > (before.ended_ms or 0))
            )
        )
    ):
        # An OK in no episode remembered ended one of its own: remembered like an orphan.
        return Decision(Transition.STANDALONE_OK_EARLIER, "the OK of an earlier episode")
    orphan_ok = before is not None and before.orphan and change_ms <= (before.ended_ms or 0)
    adopted = before is not None and _adopted_by(before, change_ms)
    if state == "ALARM" and (orphan_ok or adopted):
        return Decision(Transition.ADOPT_EARLIER, "its OK arrived first")
    after_before = before is None or (not before.is_open and change_ms > (before.ended_ms or 0))
    if state == "ALARM" and after_before:
        if episode.opened_from == "OK":
            # The current episode began from OK, so this older ALARM was an episode of its own.
            return Decision(
                Transition.OPEN_EARLIER, "an earlier episode, delivered after a later one"
            )
        return Decision(Transition.EXTEND, "an earlier ALARM of this episode")
    if before is None or not before.ts:
        return Decision(Transition.NOTE, f"a {state} older than every episode remembered")
    if after_before:
        # After the one before had ended: an earlier start of this one, delivered late.
        return Decision(Transition.NOTE, f"a late {state} of this episode")
    if change_ms < before.begins_ms:
        if state == "ALARM" and before.started_ms and before.opened_from != "OK":
            return Decision(Transition.EXTEND_PREVIOUS, "an earlier ALARM of the episode before")
        if state == "ALARM" and before.started_ms:
            return Decision(Transition.OPEN_EARLIER, "an episode before the one before")
        return Decision(Transition.NOTE, f"a {state} older than every episode remembered")
    if state == "OK" and before.is_open:
        return Decision(Transition.RESOLVE_PREVIOUS, "the OK of the episode before this one")
    if _closed_too_late(before, change_ms) and "OK" in (state, previous_state):
        return Decision(Transition.DETACH_PREVIOUS, "the OK that closed the one before is later")
    return Decision(Transition.NOTE_PREVIOUS, f"a late {state} of the episode before")


def _anchor(episode: Episode) -> int:
    return episode.begins_ms if episode.started_ms else episode.ended_ms or 0


def _holds(episode: Episode, change_ms: int, others: list[Episode], from_ok: bool) -> bool:
    """Whether ``change_ms`` falls in ``episode`` as known: inside its span, or (an orphan
    OK) at or before its end with no other episode remembered in between. An ALARM that
    came from OK (``from_ok``) began an episode: none that began before it holds it."""
    end = episode.ended_ms if not episode.is_open else None
    if episode.started_ms:
        if from_ok and episode.begins_ms < change_ms:
            return False
        return episode.begins_ms <= change_ms and (end is None or change_ms <= end)
    return change_ms <= (end or 0) and not any(
        change_ms < _anchor(o) < (end or 0) for o in others if o is not episode
    )


def _older_one(episode: Episode, change_ms: int, from_ok: bool) -> int:
    """The index in ``episode.older`` of the episode ``change_ms`` falls in, unless it is
    the one before; -1 if none is. An episode whose span holds it wins over an orphan OK
    that could still be adopted."""
    if not episode.older:
        return -1
    before = episode.previous
    known = [*episode.older, *([before] if before is not None else [])]
    holding = [e for e in known if _holds(e, change_ms, known, from_ok)]
    if not holding:
        return -1
    started = [e for e in holding if e.started_ms]
    # The latest begin wins; on a tie, the one before (already where it needs to be).
    chosen = max(started, key=lambda e: (e.begins_ms, e is before)) if started else holding[-1]
    if chosen is before or (before is not None and before.owner == chosen.owner):
        return -1
    return next(i for i, e in enumerate(episode.older) if e is chosen)


def _alarm(episode: Episode | None, change_ms: int, previous_state: str) -> Decision:
    if episode is None:
        return Decision(Transition.OPEN, "no episode yet")
    if episode.is_open:
        if previous_state == "OK" and change_ms > max(episode.started_ms, episode.latest_ms):
            return Decision(Transition.SUCCEED, "it comes from OK: the open episode ended")
        return Decision(Transition.REPEAT, "the episode is still open")
    if _closed_too_late(episode, change_ms) and previous_state == "OK":
        return Decision(Transition.DETACH, "it comes from OK: the OK that closed it is later")
    if episode.orphan and change_ms <= (episode.ended_ms or 0):
        return Decision(Transition.OPEN_RESOLVED, "its OK arrived first")
    if _adopted_by(episode, change_ms):
        return Decision(Transition.OPEN_RESOLVED, "adopted by this ALARM: finish")
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
    if _closed_too_late(episode, change_ms):
        return Decision(Transition.DETACH, "an older OK: the one that closed it is later")
    before = episode.previous
    if (
        episode.orphan
        and before is not None
        and before.is_open
        and before.begins_ms <= change_ms <= (episode.ended_ms or 0)
    ):
        return Decision(Transition.RESOLVE_PREVIOUS, "the OK of the episode before the orphan")
    if episode.orphan and change_ms < (episode.ended_ms or 0):
        # Two OKs are never one episode: this one ended an earlier one.
        return Decision(Transition.STANDALONE_OK_EARLIER, "an OK older than the orphan OK")
    if episode.orphan and not episode.started_ms:
        return Decision(Transition.STANDALONE_OK, "an OK newer than the orphan OK: a later one")
    return Decision(Transition.NOTE, "the episode is already resolved")


def _before_the_orphan(episode: Episode, change_ms: int) -> bool:
    """Whether the current episode is an orphan OK and ``change_ms`` is no later than
    the (closed) episode before it: the notification is that one's, not the orphan's."""
    before = episode.previous
    return (
        episode.orphan
        and before is not None
        and not before.is_open
        and change_ms <= (before.ended_ms or 0)
    )


def _closed_too_late(episode: Episode, change_ms: int) -> bool:
    """Whether a notification at ``change_ms`` shows that the OK which closed ``episode``
    (newer than it and than every ALARM the thread shows) ended a later episode."""
    return (
        not episode.is_open
        and not episode.orphan
        and bool(episode.ok_body or episode.resolved_body)
        and max(episode.started_ms, episode.latest_ms) < change_ms < (episode.ended_ms or 0)
    )


def _adopted_by(episode: Episode, change_ms: int) -> bool:
    # An orphan OK this ALARM adopted (a retry after a crash finishes the adoption).
    return not episode.is_open and bool(episode.resolved_body) and episode.started_ms == change_ms


# -- follow-ups ------------------------------------------------------------------------------


class FollowUpStep(enum.Enum):
    LOOK = "look"  # the pending follow-up: look at the logs again, then make the next pending
    RESEND = "resend"  # this one has looked (a retry after a crash): only send the next again
    STOP = "stop"


def decide_follow_up(
    episode: Episode | None,
    follow: FollowUpState | None,
    *,
    started_ms: int,
    seq: int,
) -> tuple[FollowUpStep, str]:
    """What follow-up ``seq`` of the episode that started at ``started_ms`` does now.

    Exactly one follow-up is pending per open episode (``follow.seq``); anything
    else, a duplicate, one for an episode that has ended (the OK stops them) or
    was replaced, stops there.
    """
    if episode is None or follow is None:
        return FollowUpStep.STOP, "the episode is no longer remembered"
    if episode.started_ms != started_ms or follow.started_ms != started_ms:
        return FollowUpStep.STOP, "the alarm is in another episode now"
    if not episode.is_open:
        return FollowUpStep.STOP, "the episode has ended"
    if follow.seq == seq + 1:
        return FollowUpStep.RESEND, "looked already; the next may not have been sent"
    if follow.seq != seq:
        return FollowUpStep.STOP, "not the pending follow-up (a duplicate, or superseded)"
    return FollowUpStep.LOOK, "the pending follow-up"
