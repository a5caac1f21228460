"""Per-channel pacing of Slack posts inside one process (see :class:`ChannelPacer`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class ChannelPacer:
    """Posts to one channel from this process, one at a time and no faster than Slack asks.

    Slack takes about one message per second per channel and answers 429 with
    ``Retry-After`` beyond that. Concurrent posts to a channel from one process are
    serialized (while one sleeps a ``Retry-After`` inside slack_sdk's retry, the
    others wait behind it instead of drawing 429s of their own), start at least
    ``interval`` seconds apart, and after a 429 that surfaced as an error the
    channel rests for its ``Retry-After``. Other processes (other Lambda
    instances) are only paced by Slack's 429s.

    Parameters
    ----------
    interval:
        Minimum seconds between post starts in one channel (0: only serialize).
    clock, sleep:
        Injectable for tests.
    """

    def __init__(
        self,
        interval: float = 0.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._next: dict[str, float] = {}

    def run(self, channel: str, fn: Callable[[], T]) -> T:
        """Call ``fn`` (a post to ``channel``) when the channel is free and rested."""
        with self._guard:
            lock = self._locks.setdefault(channel, threading.Lock())
        with lock:
            wait = self._next.get(channel, 0.0) - self._clock()
            if wait > 0:
                self._sleep(wait)
            try:
                return fn()
            except Exception as exc:
                # A ChatError for a 429 that outlasted the retries carries its Retry-After.
                retry_after = getattr(exc, "retry_after", None)
                if retry_after:
                    self._next[channel] = self._clock() + retry_after
                raise
            finally:
                rested = self._clock() + self.interval
                self._next[channel] = max(self._next.get(channel, 0.0), rested)
