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
3. The worker decodes it (:func:`logthread.worker.inbox.decode`) as a
   :class:`logthread.tasks.AlarmRescan`, takes it only from the task topic, and
   :mod:`logthread.alarms.flow` checks the channel and user against ``access``
   again, then re-runs discovery for the stored episode.

The value names an episode, never a log group: what is searched is decided
again by the worker's own configuration (routing, mapping, allowed prefixes).
"""

from __future__ import annotations

import json

from slack_sdk.models.blocks import ButtonElement

from logthread.bounds import widen_rescan
from logthread.query import TimeWindow
from logthread.tasks import AlarmRescan, sane_window

ACTION_ID = "logthread.alarm_search_again"
VERSION = 1  # of the button value
VALUE_LIMIT = 2000


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
    except (KeyError, TypeError, ValueError, OverflowError, RecursionError) as exc:
        raise ValueError(f"malformed alarm button value: {exc}") from None
    if not key or not sane_window(window):
        raise ValueError("malformed alarm button value: empty key or window")
    return key, window


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
    again = AlarmRescan(key, widen_rescan(window, now_ms), channel, thread_ts, user_id)
    return again.to_json()
