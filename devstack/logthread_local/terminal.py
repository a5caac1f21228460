"""Slack messages drawn in a terminal, as a reader of the channel would see them.

Block Kit as the stand-in stored it (wire dicts): header, section (text, fields,
accessory), context, divider, actions (buttons), rich_text (preformatted), image,
and file attachments. mrkdwn is turned into plain terminal text: *bold* in bold,
`code` kept, ``<url|label>`` shown as its label, code fences as indented blocks.
"""

from __future__ import annotations

import re
import textwrap
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

WIDTH = 100


class Style:
    """ANSI styling, or none (for pipes, files and tests)."""

    def __init__(self, color: bool) -> None:
        self.color = color

    def _sgr(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color and text else text

    def bold(self, text: str) -> str:
        return self._sgr("1", text)

    def dim(self, text: str) -> str:
        return self._sgr("2", text)

    def red(self, text: str) -> str:
        return self._sgr("31", text)

    def green(self, text: str) -> str:
        return self._sgr("32", text)

    def yellow(self, text: str) -> str:
        return self._sgr("33", text)

    def blue(self, text: str) -> str:
        return self._sgr("34", text)

    def cyan(self, text: str) -> str:
        return self._sgr("36", text)


_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)\|([^>]+)>|<((?:https?|mailto):[^>]+)>")
_MENTION = re.compile(r"<([@#!])([A-Z0-9]+)(?:\|([^>]+))?>")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ENTITIES = {"&lt;": "<", "&gt;": ">", "&amp;": "&"}
_EMOJI_RE = re.compile(r":([a-z0-9_+-]+):")
# The emoji logthread and CloudWatch messages use; others stay as :name:.
EMOJI = {
    "mag": "🔍",
    "mag_right": "🔎",
    "red_circle": "🔴",
    "large_green_circle": "🟢",
    "large_yellow_circle": "🟡",
    "large_orange_circle": "🟠",
    "white_check_mark": "✅",
    "heavy_check_mark": "✔",
    "warning": "⚠",
    "rotating_light": "🚨",
    "x": "❌",
    "no_entry": "⛔",
    "hourglass_flowing_sand": "⏳",
    "page_facing_up": "📄",
    "information_source": "\N{INFORMATION SOURCE}",
    "grey_question": "❔",
    "link": "🔗",
    "arrows_counterclockwise": "🔄",
    "repeat": "🔁",
    "paperclip": "📎",
    "thread": "🧵",
}


def _emoji(text: str) -> str:
    return _EMOJI_RE.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)


def mrkdwn(text: str, style: Style) -> str:
    """One line of Slack mrkdwn as terminal text (fences are handled by the caller)."""

    def link(m: re.Match[str]) -> str:
        if m.group(3):
            return style.blue(m.group(3))
        return style.blue(m.group(2))

    def mention(m: re.Match[str]) -> str:
        sigil, ident, label = m.groups()
        return style.cyan(
            ("@" if sigil == "@" else "#" if sigil == "#" else "@") + (label or ident)
        )

    quoted = text.startswith(">")
    out = _LINK.sub(link, text[1:].lstrip(" ") if quoted else text)
    out = _MENTION.sub(mention, out)
    out = _emoji(out)
    out = _BOLD.sub(lambda m: style.bold(m.group(1)), out)
    for entity, char in _ENTITIES.items():
        out = out.replace(entity, char)
    return style.dim("┃ ") + out if quoted else out


def _text_of(obj: Any, style: Style) -> str:
    if not isinstance(obj, Mapping):
        return ""
    text = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return mrkdwn(text, style)
    # plain_text shows emoji codes as emoji unless the object says "emoji": false.
    return text if obj.get("emoji") is False else _emoji(text)


def _fenced(text: str, style: Style, indent: str) -> list[str]:
    """Split mrkdwn on ``` fences: prose wrapped, code kept verbatim in a gutter."""
    lines: list[str] = []
    for i, part in enumerate(text.split("```")):
        if i % 2:  # inside a fence
            body = part.strip("\n")
            lines.extend(indent + style.dim("│ ") + row for row in body.split("\n"))
        else:
            for para in part.strip("\n").split("\n"):
                if not para.strip():
                    continue
                wrapped = textwrap.wrap(
                    mrkdwn(para, style), WIDTH - len(indent), break_on_hyphens=False
                )
                lines.extend(indent + w for w in wrapped or [""])
    return lines


def _button(element: Mapping[str, Any], style: Style) -> str:
    label = _text_of(element.get("text"), style)
    if element.get("url"):
        label += " ↗"
    paint = {"primary": style.green, "danger": style.red}.get(
        str(element.get("style", "")), style.bold
    )
    return paint(f"[ {label} ]")


def _rich_text(block: Mapping[str, Any], style: Style, indent: str) -> list[str]:
    lines: list[str] = []
    for element in block.get("elements") or []:
        parts = "".join(str(e.get("text", e.get("url", ""))) for e in element.get("elements") or [])
        if element.get("type") == "rich_text_preformatted":
            lines.extend(indent + style.dim("│ ") + row for row in parts.split("\n"))
        elif element.get("type") == "rich_text_list":
            for item in element.get("elements") or []:
                text = "".join(str(e.get("text", "")) for e in item.get("elements") or [])
                lines.append(f"{indent}• {text}")
        else:
            lines.extend(indent + row for row in parts.split("\n") if row)
    return lines


def blocks_lines(blocks: Iterable[Mapping[str, Any]], style: Style, indent: str = "") -> list[str]:
    """The terminal lines of a list of Block Kit blocks."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(indent + style.bold(_text_of(block.get("text"), style)))
        elif kind == "section":
            if block.get("text"):
                text = block["text"]
                if text.get("type") == "mrkdwn":
                    lines.extend(_fenced(str(text.get("text", "")), style, indent))
                else:
                    lines.extend(indent + row for row in str(text.get("text", "")).split("\n"))
            # One field a line: Slack's two columns don't survive a narrow terminal.
            for f in block.get("fields") or []:
                label, _, value = _text_of(f, style).partition("\n")
                lines.append(
                    indent + (f"{label}  {value.replace(chr(10), ' ')}" if value else label)
                )
            accessory = block.get("accessory")
            if isinstance(accessory, Mapping) and accessory.get("type") == "button":
                lines.append(indent + _button(accessory, style))
        elif kind == "context":
            parts = [
                _text_of(e, style) if e.get("type") != "image" else f"[{e.get('alt_text', '')}]"
                for e in block.get("elements") or []
            ]
            lines.append(indent + style.dim("  ·  ".join(p for p in parts if p)))
        elif kind == "divider":
            lines.append(indent + style.dim("─" * 40))
        elif kind == "actions":
            shown = [
                _button(e, style)
                if e.get("type") == "button"
                else f"[{e.get('type')}: {_text_of(e.get('placeholder'), style)}]"
                for e in block.get("elements") or []
            ]
            lines.append(indent + "  ".join(shown))
        elif kind == "rich_text":
            lines.extend(_rich_text(block, style, indent))
        elif kind == "image":
            lines.append(indent + style.dim(f"[image: {block.get('alt_text', '')}]"))
        else:
            lines.append(indent + style.dim(f"[{kind} block]"))
    return lines


def message_lines(
    message: Mapping[str, Any],
    style: Style,
    *,
    indent: str = "",
    author: str = "logthread",
    file_content: Callable[[str], bytes | None] | None = None,
    file_preview_lines: int = 4,
) -> list[str]:
    """A message: author and time, then its blocks (or its text), then its files."""
    when = time.strftime("%H:%M:%S", time.localtime(float(message.get("ts", 0) or 0)))
    head = f"{indent}{style.bold(author)} {style.dim('APP')}  {style.dim(when)}"
    if message.get("edited"):
        head += style.dim("  (edited)")
    lines = [head]
    body_indent = indent + "  "
    if message.get("blocks"):
        lines.extend(blocks_lines(message["blocks"], style, body_indent))
    elif message.get("text"):
        lines.extend(_fenced(str(message["text"]), style, body_indent))
    for f in message.get("files") or []:
        size = f.get("size")
        label = f"📎 {f.get('title') or f.get('name')}"
        if f.get("name") and f.get("title") and f["name"] != f["title"]:
            label += f"  ({f['name']})"
        if size is not None:
            label += f"  {size:,} bytes"
        lines.append(body_indent + style.cyan(label))
        content = file_content(str(f.get("id"))) if file_content and f.get("id") else None
        if content and content.startswith(b"\x89PNG"):
            # An image (the alarm's metric graph): its size, not its bytes, in a terminal.
            width, height = int.from_bytes(content[16:20]), int.from_bytes(content[20:24])
            lines.append(body_indent + style.dim(f"┆ [image {width}x{height} PNG]"))
        elif content:
            rows = content.decode("utf-8", "replace").splitlines()
            for row in rows[:file_preview_lines]:
                lines.append(body_indent + style.dim("┆ " + row[: WIDTH - 4]))
            if len(rows) > file_preview_lines:
                lines.append(body_indent + style.dim(f"┆ … {len(rows) - file_preview_lines} more"))
    return lines


def thread_lines(
    parent: Mapping[str, Any],
    replies: Iterable[Mapping[str, Any]],
    style: Style,
    *,
    file_content: Callable[[str], bytes | None] | None = None,
) -> list[str]:
    """A parent message and its thread replies, replies indented under a rule."""
    lines = message_lines(parent, style, file_content=file_content)
    replies = list(replies)
    if replies:
        n = len(replies)
        lines.append("  " + style.dim(f"└─ thread · {n} repl{'y' if n == 1 else 'ies'}"))
        for reply in replies:
            lines.extend(message_lines(reply, style, indent="     ", file_content=file_content))
    return lines
