"""The kinds of error of an alarm's window, as the first reply lists them.

Most frequent first, each with its count, first and last time, one example
request, the top frame where there is one, and whether this alarm showed it in an
earlier episode (*known*, with when) or never (*new*); past ``limit`` kinds,
"and N more kinds". The texts come from log lines: each goes through redaction
(:func:`~logthread.alarms.alarm_render.hide`) and the one escaping path
(:func:`~logthread.slack.format.code`).
"""

from __future__ import annotations

from collections.abc import Mapping

from logthread.alarms.alarm_render import cut, hide, totals, utc_text
from logthread.redact import Redactor

__all__ = ["kinds_rows", "mark", "row", "totals"]
from logthread.signatures import Entry, Tally
from logthread.slack.format import code, format_time

# One row stays well inside a section's 3,000 characters even with ten of them.
ROW_TEXT = 200


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def mark(entry: Entry, known: Mapping[str, int] | None) -> str:
    """``:new: new`` or ``known, last seen …``; "" when there is no history to ask."""
    if known is None:
        return ""
    seen = known.get(entry.signature.key)
    if seen is None:
        return ":new: *new*"
    return f"known, last seen {utc_text(seen)}"


def row(entry: Entry, known: Mapping[str, int] | None, redactor: Redactor | None) -> str:
    """One kind of error, two lines: what it is, then when, where and an example."""
    label = cut(hide(entry.signature.label, redactor), ROW_TEXT)
    head = f"• *{plural(entry.count, 'request')}:* {code(label)}"
    if flag := mark(entry, known):
        head += f" · {flag}"
    when = (
        f"at {_clock(entry.first_ms)}"
        if entry.first_ms == entry.last_ms
        else f"first {_clock(entry.first_ms)} · last {_clock(entry.last_ms)}"
    )
    details = [when, f"e.g. {code(entry.example_id)}"]
    if entry.signature.frame:
        details.append(f"in {code(cut(hide(entry.signature.frame, redactor), ROW_TEXT))}")
    return head + "\n   " + " · ".join(details)


def kinds_rows(
    tally: Tally,
    *,
    limit: int,
    known: Mapping[str, int] | None = None,
    redactor: Redactor | None = None,
) -> list[str]:
    """Every kind (up to ``limit``), most frequent first, then "and N more kinds"."""
    ranked = tally.ranked()
    rows = [row(e, known, redactor) for e in ranked[:limit]]
    left = ranked[limit:]
    if left:
        more = sum(e.count for e in left)
        rows.append(f"_…and {plural(len(left), 'more kind')} ({plural(more, 'request')})_")
    return rows


def _clock(ms: int) -> str:
    return format_time(ms)[:8]
