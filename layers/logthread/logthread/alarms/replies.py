"""The alarm's replies in its thread, besides each request's own story.

The summary grouping identical errors, "nothing found, here is where I looked",
state changes inside an open episode, "nothing new", and the raw text of a
notification that could not be read. Each request's story is rendered as
``/logsearch`` renders it (:func:`logthread.slack.search_render.render_search`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from slack_sdk.models.blocks import Block

from logthread.alarms import fields
from logthread.alarms.alarm_render import (
    ICONS,
    Message,
    actions,
    context,
    cut,
    hide,
    section,
    utc_text,
)
from logthread.alarms.discover import Discovery, Plan, group_errors
from logthread.alarms.parse import MAX_DEPTH, Alarm
from logthread.redact import Redactor
from logthread.slack.format import code, escape, format_duration, format_window

# Inline raw text up to this size; beyond, it goes up as a file.
RAW_INLINE = 2800


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _looked(the_plan: Plan) -> str:
    parts = []
    for target in the_plan.targets:
        if target.match == "filter":
            how = f"lines matching {code(target.pattern or '(all)')} ({escape(target.source)})"
        elif target.match == "slow":
            how = f"REPORT lines of {target.threshold_ms:g} ms or more ({escape(target.source)})"
        else:
            how = f"error lines: ERROR level, timeouts, failed REPORTs ({escape(target.source)})"
        parts.append(f"• {code(target.log_group)} — {how}")
    return "\n".join(parts)


def summary_reply(
    discovery: Discovery, *, redactor: Redactor | None = None, kinds_listed: int = 10
) -> Message:
    """The first reply: which requests failed, identical errors grouped, errors first.

    When the window's failing requests were counted (``discovery.tally``), it lists
    every kind of error instead (:mod:`logthread.alarms.signature_render`), up to
    ``kinds_listed``.
    """
    if discovery.tally is not None and len(discovery.tally):
        return _kinds_reply(discovery, redactor, kinds_listed)
    the_plan = discovery.plan
    n = len(discovery.failures)
    groups = list(dict.fromkeys(f.log_group for f in discovery.failures))
    where = ", ".join(code(g) for g in groups)
    head = f":mag: *{_plural(n, 'failing request')}* in {where} · {format_window(the_plan.window)}"
    if discovery.total > n:
        head += (
            f"\n_{discovery.total} failing requests in the window; the {n} most recent are below._"
        )
    rows = []
    for _same, failures in group_errors(discovery.failures):
        shown = hide(failures[0].first_error, redactor)
        ids = ", ".join(code(f.request_id) for f in failures)
        if len(failures) > 1:
            rows.append(
                f"• *{len(failures)} requests, same error:* {code(cut(shown, 300))}\n   {ids}"
            )
        else:
            rows.append(f"• {ids}: {code(cut(shown, 300)) if shown else '_no error line_'}")
    blocks: list[Block] = [section(head)]
    if rows:
        blocks.append(section("\n".join(rows)))
    notes = _notes(discovery)
    if notes:
        blocks.append(context(notes))
    text = f"{_plural(n, 'failing request')}: " + ", ".join(
        f.request_id for f in discovery.failures
    )
    return Message(cut(escape(text), 3000), blocks)


def _kinds_reply(discovery: Discovery, redactor: Redactor | None, kinds_listed: int) -> Message:
    from logthread.alarms.signature_render import kinds_rows, totals

    tally = discovery.tally
    assert tally is not None
    groups = list(dict.fromkeys(e.example_group for e in tally.ranked() if e.example_group))
    where = ", ".join(code(g) for g in groups[:10])
    head = f":mag: *{totals(tally)}*" + (f" in {where}" if where else "")
    head += f" · {format_window(discovery.plan.window)}"
    rows = kinds_rows(tally, limit=kinds_listed, known=discovery.known, redactor=redactor)
    blocks: list[Block] = [section(head)]
    chunk: list[str] = []
    for row in rows:  # a section holds 3,000 characters: as many rows as fit in each
        if chunk and len("\n".join([*chunk, row])) > 2900:
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(row)
    if chunk:
        blocks.append(section("\n".join(chunk)))
    blocks.append(context("The example request of each kind follows, most frequent first."))
    notes = _notes(discovery)
    if notes:
        blocks.append(context(notes))
    return Message(cut(escape(totals(tally)), 3000), blocks)


def _notes(discovery: Discovery) -> str:
    notes = list(discovery.plan.notes) + list(discovery.notes)
    if discovery.unattributed:
        notes.append(f"{_plural(discovery.unattributed, 'matching line')} without a request id")
    if discovery.partial:
        notes.append("the search stopped early: more may exist")
    return escape(" · ".join(notes))


def nothing_found_reply(
    alarm: Alarm,
    discovery: Discovery | None,
    *,
    extracted: Sequence[str] = (),
    rescan_key: str = "",
    again: bool = False,
) -> Message:
    """No request could be found: say where the worker looked, and offer the way on."""
    blocks: list[Block] = []
    if discovery is None or not discovery.plan.targets:
        why = "I don't know which log group belongs to this alarm"
        if discovery is not None and discovery.plan.notes:
            why += " (" + escape("; ".join(discovery.plan.notes)) + ")"
        blocks.append(
            section(
                f":mag: *No failing request found.* {why}.\n"
                "Add a `log_groups` mapping (or a `request_id_rules` rule) for "
                f"{code(alarm.name)} in the logthread config."
            )
        )
    else:
        the_plan = discovery.plan
        blocks.append(
            section(
                (
                    ":mag: *Searched again: still no failing request.*\n"
                    if again
                    else ":mag: *No failing request found* in the alarm's evaluation window.\n"
                )
                + f"*Where I looked:* {format_window(the_plan.window)}\n{_looked(the_plan)}"
            )
        )
        if extracted:
            blocks.append(
                context("The notification named " + ", ".join(code(i) for i in extracted))
            )
        notes = _notes(discovery)
        if notes:
            blocks.append(context(notes))
        blocks.append(
            context(
                "Lines take a few seconds to reach CloudWatch, and a metric can move without "
                "an error line (throttles, a crashed runtime). Open CloudWatch to look further."
            )
        )
    buttons = actions(alarm, discovery, rescan_key)
    if buttons is not None:
        blocks.append(buttons)
    return Message("No failing request found for this alarm", blocks)


def transition_reply(
    alarm: Alarm, *, started_ms: int | None = None, redactor: Redactor | None = None
) -> Message:
    """A state change inside an open episode: still in ALARM, back to OK, no data.

    The reason is redacted (the built-in patterns when no ``redactor`` is given).
    """
    state = alarm.state or "NOTIFICATION"
    when = utc_text(alarm.state_change_ms)
    if state == "OK":
        lasted = ""
        if started_ms and alarm.state_change_ms and alarm.state_change_ms >= started_ms:
            lasted = f" after {format_duration(alarm.state_change_ms - started_ms)}"
        head = f":white_check_mark: *Back to OK* at {when}{lasted}."
    elif state == "ALARM":
        head = f":rotating_light: *Still in ALARM* at {when}."
    else:
        head = f"{ICONS.get(state, ':bell:')} *{state}* at {when}."
    body = f"{head}\n>{escape(hide(alarm.reason, redactor))}" if alarm.reason else head
    return Message(cut(escape(f"{state}: {alarm.name}"), 3000), [section(body)])


def already_threaded_reply(ids: Sequence[str]) -> Message:
    """A repeat found only requests this thread already shows."""
    listed = ", ".join(code(i) for i in ids)
    return Message(
        "No new failing request",
        [section(f":mag: No new failing request since the last notification ({listed} above).")],
    )


def raw_reply(alarm: Alarm, *, redactor: Redactor | None = None) -> Message | None:
    """The notification's raw text as a code block, or None when it needs a file."""
    raw = _pretty(hide(alarm.raw, redactor))
    if len(raw) > RAW_INLINE:
        return None
    fence = "```"
    body = escape(raw).replace(fence, "`\u200b`\u200b`")
    return Message(
        "The notification as received",
        [context("The notification as received:"), section(f"{fence}\n{body}\n{fence}")],
    )


def _pretty(raw: str) -> str:
    """JSON indented for reading; anything else (or JSON too deep to walk) as it came."""
    if len(raw) > RAW_INLINE or raw.strip()[:1] not in ("{", "["):
        return raw  # indenting only makes it longer: it goes up as a file either way
    try:
        doc = json.loads(raw)
        if fields.too_deep(doc, MAX_DEPTH):
            return raw
        return json.dumps(doc, indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return raw
