"""What a follow-up posts: a new kind of error, and the live tally of every kind.

Rows come from :mod:`logthread.alarms.signature_render` (redaction and the one
escaping path included); the texts in the fallback ``text`` are built from the
same escaped rows.
"""

from __future__ import annotations

from logthread.alarms.alarm_render import Message, context, section, utc_text
from logthread.alarms.signature_render import kinds_rows, plural, row
from logthread.redact import Redactor
from logthread.signatures import Entry, Tally

# The live tally lists this many kinds; the rest are summed up in one line.
TALLY_KINDS = 15


def new_kind_reply(entry: Entry, *, since_ms: int, redactor: Redactor | None) -> Message:
    """A kind of error this episode had not shown, found by a follow-up."""
    head = f":new: *A new kind of error since the alarm opened* ({utc_text(since_ms)})"
    body = row(entry, None, redactor)
    return Message(f"{head}\n{body}", [section(head), section(body)])


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
