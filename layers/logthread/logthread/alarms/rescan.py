"""'Search logs again' when an alarm found no request: look for the failures once more.

A request's own "Search again" button re-runs a search for its id. When the
alarm found no failing request there is no id to search for, so this button
asks the worker to run the alarm's discovery again over a wider window and
answer in the alarm's thread.

The round trip:

1. :func:`button` puts ``{"v": 1, "k": <episode key>, "w": [start, end]}`` in the
   button value (the window last searched).
2. On click, the ingress (after verifying and authorizing the user as for any
   button) publishes :func:`rescan_body` to the task topic: the value, the window
   widened, and where to answer.
3. The worker's notification path (:func:`logthread.worker.handle_message` sends
   anything that is not a task there) recognises it with :func:`parse_rescan`
   and :mod:`logthread.alarms.flow` checks the channel and user against ``access``
   again, then re-runs discovery for the stored episode.

The value names an episode, never a log group: what is searched is decided
again by the worker's own configuration (routing, mapping, allowed prefixes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from slack_sdk.models.blocks import ButtonElement

from logthread.search.model import TimeWindow

ACTION_ID = "logthread.alarm_search_again"
MARKER = "logthread.alarm_rescan"
VERSION = 1
WIDEN_FACTOR = 3
MAX_WINDOW_MS = 24 * 3600 * 1000  # one day of an alarm's log group is plenty
VALUE_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class Rescan:
    """A request to run an alarm's discovery again."""

    episode_key: str
    window: TimeWindow
    channel: str
    thread_ts: str
    user_id: str = ""


def _sane(window: TimeWindow) -> bool:
    # Windows are rendered as dates: keep them between 1970 and 3000.
    return 0 <= window.start_ms < window.end_ms < 32_503_680_000_000


def button(episode_key: str, window: TimeWindow) -> ButtonElement | None:
    """The "Search logs again" button for an alarm without requests (None if too big)."""
    value = json.dumps(
        {"v": VERSION, "k": episode_key, "w": [window.start_ms, window.end_ms]},
        separators=(",", ":"),
    )
    if len(value) > VALUE_LIMIT:
        return None
    return ButtonElement(text="Search logs again", action_id=ACTION_ID, value=value)


def decode_button(value: str) -> tuple[str, TimeWindow]:
    """The episode key and window a button carries; ValueError for anything malformed."""
    try:
        data = json.loads(value)
        if not isinstance(data, dict) or data.get("v") != VERSION:
            raise ValueError("unknown button value version")
        key, (start, end) = str(data["k"]), data["w"]
        window = TimeWindow(int(start), int(end))
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"malformed alarm button value: {exc}") from None
    if not key or not _sane(window):
        raise ValueError("malformed alarm button value: empty key or window")
    return key, window


def widen(window: TimeWindow, now_ms: int) -> TimeWindow:
    """``WIDEN_FACTOR`` times as long, centred on the old window, never past now or a day."""
    span = min(window.duration_ms * WIDEN_FACTOR, MAX_WINDOW_MS)
    middle = (window.start_ms + window.end_ms) // 2
    end = min(middle + span // 2, now_ms)
    return TimeWindow(end - span, end)


def rescan_body(value: str, *, channel: str, thread_ts: str, user_id: str = "", now_ms: int) -> str:
    """What the ingress publishes when the button is clicked (raises ValueError if malformed).

    Parameters
    ----------
    value:
        The clicked button's value.
    channel, thread_ts:
        Where the answer goes: the alarm's thread.
    user_id:
        Who clicked (for the record).
    now_ms:
        The ingress clock; the widened window never ends after it.
    """
    key, window = decode_button(value)
    wider = widen(window, now_ms)
    return json.dumps(
        {
            "type": MARKER,
            "version": VERSION,
            "episode": key,
            "window": [wider.start_ms, wider.end_ms],
            "reply": {"channel": channel, "thread_ts": thread_ts, "user_id": user_id},
        },
        separators=(",", ":"),
    )


def parse_rescan(body: str) -> Rescan | None:
    """The rescan request in ``body``, or None when the body is something else."""
    if MARKER not in body[:200]:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("type") != MARKER or data.get("version") != VERSION:
        return None
    try:
        start, end = data["window"]
        reply = data["reply"]
        window = TimeWindow(int(start), int(end))
        if not _sane(window):
            return None
        return Rescan(
            episode_key=str(data["episode"]),
            window=window,
            channel=str(reply["channel"]),
            thread_ts=str(reply["thread_ts"]),
            user_id=str(reply.get("user_id", "")),
        )
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
