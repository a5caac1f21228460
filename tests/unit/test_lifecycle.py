"""The episode state machine: what a notification does, by its StateChangeTime."""

from __future__ import annotations

import pytest

from logthread.alarms.episodes import CLOSED, OPEN, Episode
from logthread.alarms.lifecycle import Transition, decide


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
