"""The episode state machine: what a notification does, by its StateChangeTime."""

from __future__ import annotations

from dataclasses import replace

import pytest

from logthread.alarms.episodes import CLOSED, OPEN, Episode
from logthread.alarms.follow_up_store import FollowUpState
from logthread.alarms.lifecycle import FollowUpStep, Transition, decide, decide_follow_up


def episode(
    state: str = OPEN,
    started: int = 100,
    ended: int | None = None,
    latest: int = 0,
    began: str = "",
) -> Episode:
    return Episode(
        key="k",
        owner="o",
        channel="C1",
        ts="1.1",
        started_ms=started,
        state=state,
        ended_ms=ended,
        latest_ms=latest,
        opened_from=began,
    )


ORPHAN = episode(CLOSED, started=0, ended=500)  # an OK at 500 that found no episode


@pytest.mark.parametrize(
    ("record", "state", "at", "expected"),
    [
        (None, "ALARM", 100, Transition.OPEN),
        (episode(), "ALARM", 200, Transition.REPEAT),
        (episode(began="OK"), "ALARM", 50, Transition.OPEN_EARLIER),  # an earlier episode, late
        (episode(began="ALARM"), "ALARM", 50, Transition.EXTEND),  # the start of this one, late
        (episode(CLOSED, ended=300), "ALARM", 400, Transition.OPEN),
        (episode(CLOSED, ended=300), "ALARM", 200, Transition.NOTE),  # a late repeat
        (ORPHAN, "ALARM", 400, Transition.OPEN_RESOLVED),  # its OK came first
        (ORPHAN, "ALARM", 600, Transition.OPEN),  # fired again after that OK
        (None, "OK", 300, Transition.STANDALONE_OK),
        (episode(), "OK", 300, Transition.RESOLVE),
        (episode(), "OK", 50, Transition.STANDALONE_OK_EARLIER),  # ended an earlier one
        (episode(latest=400), "OK", 300, Transition.NOTE),  # the thread shows a newer ALARM
        (episode(latest=400), "OK", 450, Transition.RESOLVE),
        (episode(CLOSED, ended=300), "OK", 500, Transition.NOTE),  # already resolved
        (None, "INSUFFICIENT_DATA", 300, Transition.STANDALONE),
        (episode(), "INSUFFICIENT_DATA", 300, Transition.NOTE),
        (episode(CLOSED, ended=300), "INSUFFICIENT_DATA", 400, Transition.NOTE),
    ],
)
def test_decide(record: Episode | None, state: str, at: int, expected: Transition) -> None:
    assert decide(record, state, at).transition is expected


def _replaced(before: Episode, began: str = "OK") -> Episode:
    """A current episode (started at 1000, from ``began``) with ``before`` as its previous."""
    return replace(episode(started=1000, began=began), previous=before)


@pytest.mark.parametrize(
    ("record", "state", "at", "expected"),
    [
        # The episode before began from ALARM: an older ALARM is its own earlier start.
        (_replaced(episode(started=500, began="ALARM")), "ALARM", 200, Transition.EXTEND_PREVIOUS),
        # ... but not when it began from OK: an episode of its own, before that one.
        (_replaced(episode(started=500, began="OK")), "ALARM", 200, Transition.OPEN_EARLIER),
        # Once moved back, the span it covers takes notes of its own.
        (
            _replaced(replace(episode(started=500, began="OK"), earliest_ms=200)),
            "INSUFFICIENT_DATA",
            300,
            Transition.NOTE_PREVIOUS,
        ),
        # Between a closed episode before and the current one, which began from ALARM.
        (
            _replaced(episode(CLOSED, started=100, ended=300), began="ALARM"),
            "ALARM",
            600,
            Transition.EXTEND,
        ),
    ],
)
def test_decide_with_an_episode_before(
    record: Episode, state: str, at: int, expected: Transition
) -> None:
    assert decide(record, state, at).transition is expected


def test_an_ok_never_resolves_an_episode_whose_newest_alarm_is_newer() -> None:
    for latest in range(0, 1000, 37):
        for at in range(0, 1000, 41):
            outcome = decide(episode(latest=latest), "OK", at).transition
            if outcome is Transition.RESOLVE:
                assert at >= max(100, latest)


# -- follow-ups ------------------------------------------------------------------------------


def follow(seq: int = 2, started: int = 100) -> FollowUpState:
    return FollowUpState(started_ms=started, seq=seq, until_ms=10_000, last_ms=0, tally="", looks=0)


@pytest.mark.parametrize(
    ("record", "state", "started", "seq", "expected"),
    [
        (episode(), follow(2), 100, 2, FollowUpStep.LOOK),  # the pending one
        (episode(), follow(3), 100, 2, FollowUpStep.RESEND),  # it looked; the next may be lost
        (episode(), follow(4), 100, 2, FollowUpStep.STOP),  # an old duplicate
        (episode(), follow(5), 100, 2, FollowUpStep.STOP),  # long superseded
        (episode(CLOSED, ended=900), follow(2), 100, 2, FollowUpStep.STOP),  # the OK came
        (episode(started=700), follow(2, started=700), 100, 2, FollowUpStep.STOP),  # replaced
        (episode(), None, 100, 2, FollowUpStep.STOP),  # never started
        (None, None, 100, 2, FollowUpStep.STOP),  # forgotten (TTL)
    ],
)
def test_exactly_the_pending_follow_up_of_the_open_episode_looks(
    record: Episode | None,
    state: FollowUpState | None,
    started: int,
    seq: int,
    expected: FollowUpStep,
) -> None:
    step, why = decide_follow_up(record, state, started_ms=started, seq=seq)
    assert step is expected, why


# Closed by an OK at 900 (kept, so it can be taken out again), its ALARMs up to 300.
CLOSED_BY_900 = replace(
    episode(CLOSED, started=100, ended=900, latest=300), closed_by="x", ok_body="{}"
)


@pytest.mark.parametrize(
    ("record", "state", "at", "previous_state", "expected"),
    [
        (CLOSED_BY_900, "OK", 500, "ALARM", Transition.DETACH),  # it really ended at 500
        (CLOSED_BY_900, "ALARM", 500, "OK", Transition.DETACH),  # a new one began at 500
        (CLOSED_BY_900, "ALARM", 500, "ALARM", Transition.NOTE),  # still the same episode
        (CLOSED_BY_900, "OK", 200, "ALARM", Transition.NOTE),  # older than an ALARM it shows
        (CLOSED_BY_900, "INSUFFICIENT_DATA", 500, "ALARM", Transition.NOTE),
        # Without the closing OK's body (an item from before), nothing to take out.
        (replace(CLOSED_BY_900, ok_body=""), "OK", 500, "ALARM", Transition.NOTE),
    ],
)
def test_decide_detaches_an_ok_that_closed_too_late(
    record: Episode, state: str, at: int, previous_state: str, expected: Transition
) -> None:
    assert decide(record, state, at, previous_state).transition is expected


def test_after_a_detach_the_older_ok_resolves_the_episode_before_the_orphan() -> None:
    before = replace(episode(started=100), ts="1.1")
    orphan = replace(episode(CLOSED, started=0, ended=900), previous=before)
    assert decide(orphan, "OK", 500).transition is Transition.RESOLVE_PREVIOUS
    assert decide(orphan, "ALARM", 600, "OK").transition is Transition.OPEN_RESOLVED


@pytest.mark.parametrize(
    ("record", "state", "at", "previous_state", "expected"),
    [
        # Two OKs are never one episode: each ended its own.
        (ORPHAN, "OK", 300, "ALARM", Transition.STANDALONE_OK_EARLIER),
        (ORPHAN, "OK", 700, "ALARM", Transition.STANDALONE_OK),
        # With an older orphan kept before it, an ALARM up to that one's end is that one's.
        (
            replace(ORPHAN, previous=replace(ORPHAN, ended_ms=300, owner="p", ts="0.9")),
            "ALARM",
            200,
            "OK",
            Transition.ADOPT_EARLIER,
        ),
        (
            replace(ORPHAN, previous=replace(ORPHAN, ended_ms=300, owner="p", ts="0.9")),
            "ALARM",
            400,
            "OK",
            Transition.OPEN_RESOLVED,
        ),
    ],
)
def test_decide_between_orphan_oks(
    record: Episode, state: str, at: int, previous_state: str, expected: Transition
) -> None:
    assert decide(record, state, at, previous_state).transition is expected


# Episodes older than the one before: ALARM 100 .. OK 200, then 300 .. 400, both closed.
OLDEST = replace(episode(CLOSED, started=100, ended=200), owner="e0", ts="0.1")
OLDER = replace(episode(CLOSED, started=300, ended=400, began="OK"), owner="e1", ts="0.2")
REMEMBERED = replace(
    episode(started=1000, began="OK"),
    previous=replace(episode(started=600, began="OK"), owner="e2", ts="0.3"),
    older=(OLDEST, OLDER),
)


@pytest.mark.parametrize(
    ("state", "at", "previous_state", "expected", "older"),
    [
        ("ALARM", 150, "ALARM", Transition.RECALL, 0),  # a repeat inside the oldest
        ("INSUFFICIENT_DATA", 350, "ALARM", Transition.RECALL, 1),
        ("OK", 350, "ALARM", Transition.RECALL, 1),
        # In the gap between the older ones and the one before: an episode of its own.
        ("ALARM", 500, "OK", Transition.OPEN_EARLIER, -1),
        ("OK", 500, "ALARM", Transition.STANDALONE_OK_EARLIER, -1),
        # From INSUFFICIENT_DATA an OK may end no episode: no message of its own.
        ("OK", 500, "INSUFFICIENT_DATA", Transition.NOTE, -1),
        ("ALARM", 700, "ALARM", Transition.NOTE_PREVIOUS, -1),  # the one before holds it
    ],
)
def test_decide_recalls_an_older_episode(
    state: str, at: int, previous_state: str, expected: Transition, older: int
) -> None:
    decision = decide(REMEMBERED, state, at, previous_state)
    assert (decision.transition, decision.older) == (expected, older)


def test_decide_detaches_the_ok_that_closed_the_episode_before_too_late() -> None:
    closed_before = replace(CLOSED_BY_900, owner="e1", ts="0.5")
    record = replace(episode(started=2000, began="OK"), previous=closed_before)
    assert decide(record, "OK", 500, "ALARM").transition is Transition.DETACH_PREVIOUS
    assert decide(record, "ALARM", 500, "OK").transition is Transition.DETACH_PREVIOUS
    assert decide(record, "ALARM", 500, "ALARM").transition is Transition.NOTE_PREVIOUS


def test_an_alarm_from_ok_is_not_held_by_an_older_open_episode_but_by_the_orphan() -> None:
    # After a detach: the orphan OK at 900 before the current one, the episode it had
    # closed (open again, from 100) among the older ones.
    reopened = replace(episode(started=100), owner="e0", ts="0.1")
    orphan = replace(ORPHAN, ended_ms=900, owner="x", ts="0.9")
    record = replace(episode(started=2000, began="OK"), previous=orphan, older=(reopened,))
    assert decide(record, "ALARM", 500, "OK").transition is Transition.ADOPT_EARLIER
    ok = decide(record, "OK", 300, "ALARM")
    assert (ok.transition, ok.older) == (Transition.RECALL, 0)


def test_an_episode_kept_twice_is_never_recalled_back_and_forth() -> None:
    # The one before, also among the older ones (a retried claim had moved it there):
    # deciding again must not swap one copy for the other forever.
    before = replace(episode(started=100), owner="e0", ts="0.1")
    record = replace(episode(started=2000, began="OK"), previous=before, older=(replace(before),))
    decision = decide(record, "OK", 300, "ALARM")
    assert decision.transition is Transition.RESOLVE_PREVIOUS
