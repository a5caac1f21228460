"""Time windows: parsing what users type, and planning the newest-first day walk.

The default look-back searches today's UTC day first, then the days before it,
and stops at the first day where the request shows up. For a Lambda log group
each step names the day's streams with the ``YYYY/MM/DD/`` stream-name prefix
Lambda gives every stream, so CloudWatch scans only that day's streams.

A stream is named for the day its execution environment started, and an
environment can keep logging past midnight. So the step for day D reads the
streams named D from D 00:00 UTC to the *end* of the window, not to D 24:00:
every event lives in exactly one stream, every stream in exactly one day's
prefix, and so the walk over prefixes misses nothing that the window holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

DAY_MS = 86_400_000
DEFAULT_LOOKBACK_DAYS = 3
# Lambda's clock and ours may differ a little: look a bit past "now".
FUTURE_MARGIN_MS = 5 * 60_000
# Around an X-Ray trace's start time: a Lambda runs 15 minutes at most, async
# retries come later, and clocks drift; an hour either side covers them.
TRACE_HALF_WIDTH_MS = 60 * 60_000

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h|hr|d|w)?\s*$", re.I)
_UNITS_MS = {
    "ms": 1,
    "s": 1000,
    "sec": 1000,
    "m": 60_000,
    "min": 60_000,
    "h": 3_600_000,
    "hr": 3_600_000,
    "d": DAY_MS,
    "w": 7 * DAY_MS,
}


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A closed interval in epoch milliseconds."""

    start_ms: int
    end_ms: int

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


@dataclass(frozen=True, slots=True)
class DaySlice:
    """One step of the day walk: a window, and the stream prefix if the group is Lambda's."""

    day: str  # YYYY-MM-DD (UTC)
    window: TimeWindow
    stream_prefix: str | None = None


def utc_day_start(ms: int) -> int:
    """Epoch ms of 00:00 UTC on the day holding ``ms``."""
    return ms - ms % DAY_MS


def stream_prefix(ms: int) -> str:
    """Lambda's stream-name prefix ``YYYY/MM/DD/`` for the UTC day holding ``ms``."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y/%m/%d/")


def is_lambda_group(name: str) -> bool:
    """Whether the group's streams follow Lambda's ``YYYY/MM/DD/`` naming."""
    return name.startswith("/aws/lambda/")


def default_window(now_ms: int, lookback_days: int = DEFAULT_LOOKBACK_DAYS) -> TimeWindow:
    """From 00:00 UTC ``lookback_days - 1`` days ago to just after ``now_ms``."""
    days = max(1, int(lookback_days))
    return TimeWindow(utc_day_start(now_ms) - (days - 1) * DAY_MS, now_ms + FUTURE_MARGIN_MS)


def trace_window(trace_ms: int, half_width_ms: int = TRACE_HALF_WIDTH_MS) -> TimeWindow:
    """A window centred on an X-Ray trace's start time."""
    return TimeWindow(trace_ms - half_width_ms, trace_ms + half_width_ms)


def day_slices(
    window: TimeWindow, *, lambda_group: bool, newest_ms: int | None = None
) -> list[DaySlice]:
    """The day walk over ``window``, newest day first.

    Parameters
    ----------
    window:
        The whole look-back.
    lambda_group:
        True when streams are named ``YYYY/MM/DD/...``: each step then carries
        the prefix and reads to the end of the window (see the module notes).
        Otherwise the steps are plain, disjoint UTC-day slices of the window.
    newest_ms:
        The newest instant worth a step (usually now); defaults to the window end.
    """
    newest = min(window.end_ms, newest_ms if newest_ms is not None else window.end_ms)
    newest = max(newest, window.start_ms)
    slices: list[DaySlice] = []
    day = utc_day_start(newest)
    while day + DAY_MS > window.start_ms:
        label = datetime.fromtimestamp(day / 1000, tz=UTC).strftime("%Y-%m-%d")
        start = max(window.start_ms, day)
        if lambda_group:
            slices.append(DaySlice(label, TimeWindow(start, window.end_ms), stream_prefix(day)))
        else:
            end = (
                window.end_ms
                if day == utc_day_start(newest)
                else min(window.end_ms, day + DAY_MS - 1)
            )
            slices.append(DaySlice(label, TimeWindow(start, end)))
        day -= DAY_MS
    return slices


def parse_duration(text: str) -> int:
    """``90s``, ``15m``, ``2h``, ``3d``, ``1w`` (a bare number is minutes) -> ms.

    Raises
    ------
    ValueError
        For anything else, or a duration that is not positive.
    """
    m = _DURATION_RE.match(text or "")
    if not m:
        raise ValueError(f"not a duration: {text!r} (try 30m, 2h, 1d)")
    unit = (m.group(2) or "m").lower()
    ms = int(float(m.group(1)) * _UNITS_MS[unit])
    if ms <= 0:
        raise ValueError(f"duration must be positive: {text!r}")
    return ms


def parse_time(text: str, now_ms: int) -> int:
    """An absolute time as epoch ms.

    Accepts ISO 8601 (``2024-05-01T12:00:00Z``, ``2024-05-01 12:00``; no zone
    means UTC), a date (``2024-05-01``), epoch seconds or ms, ``now``, or a
    duration ago (``-2h`` / ``2h ago``).

    Raises
    ------
    ValueError
        When the text is none of those.
    """
    value = (text or "").strip()
    if not value:
        raise ValueError("empty time")
    if value.lower() == "now":
        return now_ms
    if value.startswith("-"):
        return now_ms - parse_duration(value[1:])
    if value.lower().endswith(" ago"):
        return now_ms - parse_duration(value[:-4])
    if re.fullmatch(r"\d{9,13}", value):
        number = int(value)
        return number if number >= 10**12 else number * 1000
    iso = value.replace("z", "Z")
    if iso.endswith("Z"):
        iso = iso[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        raise ValueError(
            f"not a time: {text!r} (try 2024-05-01T12:00:00Z, epoch seconds, or -2h)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def since_window(text: str, now_ms: int) -> TimeWindow:
    """``--since 2h``: from two hours ago to just after now."""
    return TimeWindow(now_ms - parse_duration(text), now_ms + FUTURE_MARGIN_MS)


def explicit_window(start: str, end: str | None, now_ms: int) -> TimeWindow:
    """``--start T [--end T]``; raises ValueError when start is not before end."""
    start_ms = parse_time(start, now_ms)
    end_ms = parse_time(end, now_ms) if end else now_ms + FUTURE_MARGIN_MS
    if start_ms >= end_ms:
        raise ValueError("the window's start must be before its end")
    return TimeWindow(start_ms, end_ms)


def widen(window: TimeWindow, factor: float = 2.0, *, now_ms: int | None = None) -> TimeWindow:
    """The same window ``factor`` times as long, around the same centre (never past now)."""
    half = int(window.duration_ms * factor / 2)
    centre = window.start_ms + window.duration_ms // 2
    end = centre + half
    if now_ms is not None:
        end = min(end, now_ms + FUTURE_MARGIN_MS)
    return TimeWindow(centre - half, max(end, window.end_ms))
