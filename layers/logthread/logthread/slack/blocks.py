"""Slack's message limits, and a checker for Block Kit payloads.

The renderer keeps under these limits by construction; :func:`block_errors` checks a
finished payload (plain dicts, as sent on the wire) independently, so tests and the
Slack stand-in can refuse what Slack would refuse.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MAX_BLOCKS = 50
SECTION_TEXT = 3000
SECTION_FIELDS = 10
FIELD_TEXT = 2000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
BUTTON_URL = 3000
ACTION_ID = 255
BLOCK_ID = 255
MESSAGE_TEXT = 40_000


def as_dicts(blocks: Iterable[Any] | None) -> list[dict[str, Any]]:
    """Blocks as wire dicts, whether given as slack_sdk models or dicts."""
    out: list[dict[str, Any]] = []
    for b in blocks or ():
        out.append(b if isinstance(b, dict) else b.to_dict())
    return out


def payload_size(blocks: Iterable[Any] | None) -> int:
    """Characters of text the blocks carry (what Slack's 40,000 cap is about)."""
    return sum(len(t) for t in _texts(as_dicts(blocks)))


def block_errors(blocks: Any) -> list[str]:
    """What Slack would refuse in ``blocks`` (an empty list when it's acceptable)."""
    if not isinstance(blocks, list):
        return ["blocks must be an array"]
    errors: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        errors.append(f"{len(blocks)} blocks, more than {MAX_BLOCKS}")
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            errors.append(f"block {i}: not a block object")
            continue
        errors.extend(f"block {i} ({block['type']}): {e}" for e in _block_errors(block))
    return errors


def _block_errors(block: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    kind = block["type"]
    if len(str(block.get("block_id", ""))) > BLOCK_ID:
        errors.append("block_id too long")
    if kind == "section":
        text = _text(block.get("text"))
        if len(text) > SECTION_TEXT:
            errors.append(f"text {len(text)} chars, more than {SECTION_TEXT}")
        fields = block.get("fields") or []
        if len(fields) > SECTION_FIELDS:
            errors.append(f"{len(fields)} fields, more than {SECTION_FIELDS}")
        errors.extend(f"field over {FIELD_TEXT}" for f in fields if len(_text(f)) > FIELD_TEXT)
        if not text and not fields:
            errors.append("section without text or fields")
        if isinstance(block.get("accessory"), dict):
            errors.extend(_element_errors(block["accessory"]))
    elif kind == "header":
        if len(_text(block.get("text"))) > HEADER_TEXT:
            errors.append(f"header over {HEADER_TEXT} chars")
    elif kind == "context":
        elements = block.get("elements") or []
        if not elements or len(elements) > CONTEXT_ELEMENTS:
            errors.append(f"context needs 1 to {CONTEXT_ELEMENTS} elements")
        errors.extend(
            f"context text over {SECTION_TEXT}" for e in elements if len(_text(e)) > SECTION_TEXT
        )
    elif kind == "actions":
        elements = block.get("elements") or []
        if not elements or len(elements) > ACTIONS_ELEMENTS:
            errors.append(f"actions needs 1 to {ACTIONS_ELEMENTS} elements")
        for e in elements:
            errors.extend(_element_errors(e))
    return errors


def _element_errors(e: Any) -> list[str]:
    if not isinstance(e, dict):
        return ["element is not an object"]
    errors: list[str] = []
    if e.get("type") == "button":
        if not 0 < len(_text(e.get("text"))) <= BUTTON_TEXT:
            errors.append(f"button text must be 1 to {BUTTON_TEXT} chars")
        if len(str(e.get("value", ""))) > BUTTON_VALUE:
            errors.append(f"button value over {BUTTON_VALUE} chars")
        if len(str(e.get("url", ""))) > BUTTON_URL:
            errors.append(f"button url over {BUTTON_URL} chars")
    if len(str(e.get("action_id", ""))) > ACTION_ID:
        errors.append("action_id too long")
    return errors


def _text(obj: Any) -> str:
    if isinstance(obj, dict):
        return str(obj.get("text", ""))
    return "" if obj is None else str(obj)


def _texts(blocks: list[dict[str, Any]]) -> Iterable[str]:
    for b in blocks:
        yield _text(b.get("text"))
        for f in b.get("fields") or ():
            yield _text(f)
        for e in b.get("elements") or ():
            if isinstance(e, dict):
                yield _text(e) if e.get("type") in {"mrkdwn", "plain_text"} else ""
