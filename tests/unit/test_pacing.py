"""ChannelPacer and dead letters without I/O: pacing arithmetic, letter size and refs."""

from __future__ import annotations

import json

import pytest

from logthread.chat import ChatError
from logthread.deadletter import MAX_LETTER_BYTES, Letter, replay
from logthread.pacing import ChannelPacer


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
