"""slack-app-manifest.yaml asks for the command, interactivity and the six scopes, no more."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

MANIFEST = Path(__file__).resolve().parents[2] / "slack-app-manifest.yaml"
PLACEHOLDER = "REPLACE_WITH_SlackRequestUrl"


def _manifest() -> Any:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def test_scopes_are_the_six_the_bot_uses() -> None:
    scopes = _manifest()["oauth_config"]["scopes"]
    assert set(scopes) == {"bot"}
    assert sorted(scopes["bot"]) == [
        "channels:history",  # finding its own post after a lost answer (slack/lookup.py)
        "chat:write",
        "chat:write.public",
        "commands",
        "files:write",
        "groups:history",
    ]


def test_command_and_interactivity_share_the_stack_output_url() -> None:
    manifest = _manifest()
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/logsearch"
    assert command["url"] == PLACEHOLDER
    interactivity = manifest["settings"]["interactivity"]
    assert interactivity == {"is_enabled": True, "request_url": PLACEHOLDER}
    assert manifest["settings"]["socket_mode_enabled"] is False
    # The placeholder names the template's output, so the two cannot drift apart silently.
    template = (MANIFEST.parent / "template.yaml").read_text(encoding="utf-8")
    assert "\n  SlackRequestUrl:\n" in template


def test_the_find_logs_message_shortcut_is_declared() -> None:
    from logthread.shortcut import CALLBACK_ID

    (shortcut,) = _manifest()["features"]["shortcuts"]
    assert shortcut["type"] == "message"
    assert shortcut["callback_id"] == CALLBACK_ID
    assert shortcut["name"] == "Find logs"
    # Slack caps a shortcut's description at 80 characters.
    assert len(shortcut["description"]) <= 80


def test_no_event_subscriptions() -> None:
    # The bot reacts to its command and buttons only: no Events API, so no extra scopes.
    assert "event_subscriptions" not in _manifest().get("settings", {})
