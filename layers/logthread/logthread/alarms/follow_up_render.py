"""What a follow-up posts: a new kind of error, and the live tally of every kind.

Rows come from :mod:`logthread.alarms.signature_render` (redaction and the one
escaping path included); the texts in the fallback ``text`` are built from the
same escaped rows.
"""

from __future__ import annotations

from logthread.alarms.alarm_render import Message, context, section, totals, utc_text
from logthread.alarms.signature_render import kinds_rows, plural, row
from logthread.redact import Redactor
from logthread.signatures import Entry, Tally
from logthread.slack.format import format_duration

# The live tally lists this many kinds; the rest are summed up in one line.
TALLY_KINDS = 15


def new_kind_reply(entry: Entry, *, since_ms: int, redactor: Redactor | None) -> Message:
    """A kind of error this episode had not shown, found by a follow-up."""
    head = f":new: *A new kind of error since the alarm opened* ({utc_text(since_ms)})"
    body = row(entry, None, redactor)
    return Message(f"{head}\n{body}", [section(head), section(body)])


def more_kinds_reply(entries: list[Entry]) -> Message:
    """The new kinds of a look past ``error_kinds_listed``: counted together, listed in the tally."""
    requests = sum(e.count for e in entries)
    text = (
        f":new: *…and {plural(len(entries), 'more new kind')} of error* "
        f"({plural(requests, 'request')}); every kind is in the live tally."
    )
    return Message(text, [section(text)])


def tally_reply(tally: Tally, *, looks: int, at_ms: int, redactor: Redactor | None) -> Message:
    """Every kind of error so far in this episode, with its count (edited at each look)."""
    total = tally.total
    head = (
        f":bar_chart: *Live tally: {plural(total, 'failing request')}, "
        f"{plural(len(tally), 'kind')} of error since the alarm opened*"
    )
    rows = kinds_rows(tally, limit=TALLY_KINDS, redactor=redactor)
    note = f"Updated {utc_text(at_ms)} after {plural(looks, 'follow-up look')}; edited in place."
    blocks = [section(head), *(section(r) for r in rows), context(note)]
    return Message("\n".join([head, *rows, note]), blocks)


def _recap_head(tally: Tally, started_ms: int, ended_ms: int, handled_by: str = "") -> str:
    lasted = format_duration(ended_ms - started_ms) if ended_ms >= started_ms > 0 else ""
    head = f":checkered_flag: *Recap:* {totals(tally)}" + (f", over {lasted}" if lasted else "")
    if handled_by:  # a Slack user id, from the episode's claim ("I'm on it")
        head += f" · handled by <@{handled_by}>"
    if len(tally):
        first = min(e.first_ms for e in tally)
        last = max(e.last_ms for e in tally)
        head += f"\nFirst failure {utc_text(first)} · last failure {utc_text(last)}"
    return head


def recap_reply(
    tally: Tally,
    *,
    started_ms: int,
    ended_ms: int,
    limit: int,
    redactor: Redactor | None,
    handled_by: str = "",
) -> Message:
    """The thread's last word when the alarm resolves: every kind of error, with its count,
    and who was on it (``handled_by``, a user id) when someone said so."""
    head = _recap_head(tally, started_ms, ended_ms, handled_by)
    rows = kinds_rows(tally, limit=limit, redactor=redactor)
    return Message("\n".join([head, *rows]), [section(head), *(section(r) for r in rows)])


def with_recap(
    message: Message,
    tally: Tally,
    *,
    started_ms: int,
    ended_ms: int,
    limit: int,
    redactor: Redactor | None,
    handled_by: str = "",
) -> Message:
    """The resolved alarm message with the recap under its "back to OK" section.

    The firing values (the ALARM's reason, its datapoints) stay as they were below it.
    """
    head = _recap_head(tally, started_ms, ended_ms, handled_by)
    rows = kinds_rows(tally, limit=limit, redactor=redactor)
    recap = section("\n".join([head, *rows]))
    blocks = list(message.blocks)
    blocks.insert(min(2, len(blocks)), recap)
    return Message(message.text, blocks)
