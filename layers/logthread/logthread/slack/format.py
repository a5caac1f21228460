"""Small text helpers for Slack mrkdwn: escaping, times, windows, mentions."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from logthread.loggroups import group_label as group_label
from logthread.mrkdwn import escape
from logthread.query import SearchResult, TimeWindow

__all__ = ["code", "escape"]

_USER_ID = re.compile(r"[UW][A-Z0-9]+")


def code(text: str) -> str:
    """Inline code; a backtick inside would end it, so it becomes a look-alike."""
    return "`" + escape(text).replace("`", "\u02cb") + "`"


def account_label(account_id: str, name: str) -> str:
    """``*name* (`id`)``, or the id alone when there is no name."""
    if not account_id:
        return escape(name)
    return f"*{escape(name)}* ({code(account_id)})" if name else code(account_id)


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def format_time(ms: int) -> str:
    """``HH:MM:SS.mmm`` in UTC."""
    t = _utc(ms)
    return f"{t:%H:%M:%S}.{ms % 1000:03d}"


def format_duration(ms: int) -> str:
    """``850 ms``, ``2.3 s``, ``4 min 10 s``, ``3 h 5 min``, ``2 d 3 h``."""
    ms = max(0, ms)
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    s = ms // 1000
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    if s < 86_400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86_400} d {s % 86_400 // 3600} h"


def format_window(window: TimeWindow | None) -> str:
    """``2024-05-01 10:00:00 → 11:00:00 UTC (1 h 0 min)``; the date repeats only if it changes."""
    if window is None:
        return "the default look-back (newest day first)"
    start, end = _utc(window.start_ms), _utc(window.end_ms)
    end_text = f"{end:%H:%M:%S}" if end.date() == start.date() else f"{end:%Y-%m-%d %H:%M:%S}"
    return f"{start:%Y-%m-%d %H:%M:%S} → {end_text} UTC ({format_duration(window.duration_ms)})"


def asked_by_text(who: str) -> str:
    """A mention for a Slack user id, the escaped text otherwise."""
    return f"<@{who}>" if _USER_ID.fullmatch(who) else escape(who)


def named_ids(result: SearchResult) -> tuple[str, str]:
    """The request id(s) a result is about, as ``(mrkdwn, plain text)``.

    The full ids found, not only what was typed: a prefix or a trace id names
    the requests it matched.
    """
    rid = result.query.request_id
    ids = [i for i in result.request_ids if i] or [rid]
    if len(ids) == 1:
        if ids[0] == rid:
            return code(rid), rid
        return f"{code(ids[0])} (from {code(rid)})", ids[0]
    more = f" and {len(ids) - 5} more" if len(ids) > 5 else ""
    listed = ", ".join(code(i) for i in ids[:5]) + more
    plain = ", ".join(ids[:5]) + more
    return (
        f"{code(rid)} (matched {len(ids)} requests: {listed})",
        f"{rid} (matched {len(ids)} requests: {plain})",
    )
