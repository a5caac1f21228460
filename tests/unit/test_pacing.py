"""ChannelPacer and dead letters without I/O: pacing arithmetic, letter size and refs."""

from __future__ import annotations

import json

import pytest

from logthread.slack.chat import ChatError
from logthread.slack.deadletter import MAX_LETTER_BYTES, Letter, replay
from logthread.slack.pacing import ChannelPacer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


def test_a_surfaced_429_rests_only_its_channel() -> None:
    clock = Clock()
    pacer = ChannelPacer(0.5, clock=clock, sleep=clock.sleep)
    pacer.run("C1", lambda: "ts1")

    def limited() -> str:
        raise ChatError("ratelimited", operation="post", status=429, retry_after=30)

    with pytest.raises(ChatError):
        pacer.run("C1", limited)  # waited 0.5 s first (the interval)
    pacer.run("C2", lambda: "other channel, no wait")
    pacer.run("C1", lambda: "after the rest")
    assert clock.slept == [0.5, 30.0]


def test_a_letter_over_the_queue_limit_trims_the_file_not_the_posts() -> None:
    calls = [
        {"operation": "post", "arguments": {"channel": "C1", "text": "t", "thread_ts": "1.2"}},
        {
            "operation": "upload",
            "arguments": {"channel": "C1", "thread_ts": "1.2", "content": "x" * 400_000},
        },
    ]
    text = Letter(calls=calls).to_json()
    assert len(text.encode()) <= MAX_LETTER_BYTES
    doc = json.loads(text)
    assert doc["calls"][0]["arguments"]["text"] == "t"
    assert doc["calls"][1]["arguments"]["content"].endswith("256 KB per message]\n")


class Recording:
    def __init__(self) -> None:
        self.made: list[tuple[str, dict[str, object]]] = []

    def post(self, **kwargs: object) -> str:
        self.made.append(("post", kwargs))
        return f"9.{len(self.made)}"


def test_replay_fills_refs_and_holds_what_depends_on_an_uncertain_post() -> None:
    ref = "$deadletter:abc:0"
    letter = Letter(
        calls=[
            {
                "operation": "post",
                "arguments": {"channel": "C1", "text": "p"},
                "ref": ref,
                "uncertain": True,
            },
            {
                "operation": "post",
                "arguments": {"channel": "C1", "text": "r", "thread_ts": ref},
                "ref": "",
                "uncertain": False,
            },
        ]
    )
    held = replay(letter, Recording())  # type: ignore[arg-type]
    assert held.posted == [] and len(held.skipped) == 2 and held.left is not None

    chat = Recording()
    done = replay(letter, chat, include_uncertain=True)  # type: ignore[arg-type]
    assert done.left is None
    assert chat.made[1][1]["thread_ts"] == "9.1"


def test_a_429_retried_inside_a_paced_post_rests_the_channel() -> None:
    from logthread.slack import pacing

    clock = Clock()
    pacer = ChannelPacer(0.5, clock=clock, sleep=clock.sleep)
    assert not pacing.rate_limited(3)  # no paced post here: the handler sleeps itself

    def post_drawing_a_429() -> str:
        assert pacing.rate_limited(3)  # what the 429 retry handler calls
        return "ts"

    assert pacer.run("C1", post_drawing_a_429) == "ts"
    pacer.run("C1", lambda: "next")
    assert 3.0 <= clock.slept[0] <= 4.0 and clock.slept[1:] == [0.5]


@pytest.mark.parametrize("bad", [0, -1, "fast", True])
def test_the_post_rate_must_be_a_positive_number(bad: object) -> None:
    from logthread.config import ConfigError, from_mapping

    with pytest.raises(ConfigError, match=r"limits\.slack_posts_per_second_per_channel"):
        from_mapping({"limits": {"slack_posts_per_second_per_channel": bad}}, env={})
    ok = from_mapping({"limits": {"slack_posts_per_second_per_channel": 0.5}}, env={})
    assert ok.limits.slack_posts_per_second_per_channel == 0.5
    assert from_mapping({}, env={}).limits.slack_posts_per_second_per_channel == 1.0
