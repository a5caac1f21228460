"""The episode state machine: what a notification does, by its StateChangeTime."""

from __future__ import annotations

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
        (episode(began="ALARM"), "ALARM", 50, Transition.NOTE),  # the start of this one, late
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
