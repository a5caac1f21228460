"""Requests as Slack sends them to an app: slash commands and button clicks, signed.

Slack POSTs ``application/x-www-form-urlencoded`` bodies and signs
``v0:{timestamp}:{body}`` with HMAC-SHA256 of the app's signing secret
(``X-Slack-Signature: v0=<hex>``, ``X-Slack-Request-Timestamp``). The signature is
made with slack_sdk's own :class:`~slack_sdk.signature.SignatureVerifier`, the same
code the ingress verifies with.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

TEAM = {"id": "T0LOCAL01", "domain": "logthread-local"}
USER = {"id": "U0ONCALL1", "name": "oncall"}
APP_ID = "A0LOGTHRD1"


def signed_headers(secret: str, body: str, *, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends with ``body``: content type, timestamp and signature."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": str(signature),
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }


def _trigger_id() -> str:
    return f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}"


def slash_command_body(
    text: str,
    *,
    command: str = "/logsearch",
    channel_id: str = "C0ALERTS",
    channel_name: str = "alerts",
    user_id: str = USER["id"],
    user_name: str = USER["name"],
    team_id: str = TEAM["id"],
    response_url: str = "",
) -> str:
    """The form body of a slash command, with the fields Slack sends, in its order."""
    return urlencode(
        {
            "token": "deprecated-verification-token",
            "team_id": team_id,
            "team_domain": TEAM["domain"],
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": _trigger_id(),
        }
    )


def block_actions_body(
    message: Mapping[str, Any],
    action: Mapping[str, Any],
    *,
    channel_id: str,
    channel_name: str = "alerts",
    user_id: str = USER["id"],
    user_name: str = USER["name"],
    team_id: str = TEAM["id"],
    response_url: str = "",
    block_id: str = "",
) -> str:
    """The ``payload=`` form body of a ``block_actions`` click on a message's button.

    ``message`` is the message as the Web API stores it (``ts``, ``blocks``, and
    ``thread_ts`` when it sits in a thread); ``action`` is the button element.
    """
    if not block_id:
        block_id = _block_of(message, action)
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message["ts"],
        "channel_id": channel_id,
        "is_ephemeral": False,
    }
    if message.get("thread_ts"):
        container["thread_ts"] = message["thread_ts"]
    clicked: dict[str, Any] = {
        "action_id": action.get("action_id", ""),
        "block_id": block_id,
        "text": action.get("text", {"type": "plain_text", "text": ""}),
        "type": action.get("type", "button"),
        "action_ts": f"{time.time():.6f}",
    }
    if "value" in action:
        clicked["value"] = action["value"]
    if "style" in action:
        clicked["style"] = action["style"]
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": APP_ID,
        "token": "deprecated-verification-token",
        "container": container,
        "trigger_id": _trigger_id(),
        "team": {"id": team_id, "domain": TEAM["domain"]},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name},
        "message": {"type": "message", **dict(message)},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [clicked],
    }
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})


def message_action_body(
    message: Mapping[str, Any],
    *,
    callback_id: str,
    channel_id: str,
    channel_name: str = "alerts",
    user_id: str = USER["id"],
    user_name: str = USER["name"],
    team_id: str = TEAM["id"],
    response_url: str = "",
) -> str:
    """The ``payload=`` form body of a message shortcut (``message_action``) on ``message``."""
    payload: dict[str, Any] = {
        "type": "message_action",
        "callback_id": callback_id,
        "trigger_id": _trigger_id(),
        "action_ts": f"{time.time():.6f}",
        "token": "deprecated-verification-token",
        "team": {"id": team_id, "domain": TEAM["domain"]},
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "channel": {"id": channel_id, "name": channel_name},
        "is_enterprise_install": False,
        "enterprise": None,
        "message_ts": message["ts"],
        "message": {"type": "message", **dict(message)},
        "response_url": response_url,
    }
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})


def _block_of(message: Mapping[str, Any], action: Mapping[str, Any]) -> str:
    for block in message.get("blocks") or []:
        elements = list(block.get("elements") or [])
        if block.get("accessory"):
            elements.append(block["accessory"])
        if any(e is action or e == action for e in elements):
            return str(block.get("block_id", ""))
    return ""


def buttons(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every button element of a message (actions blocks and section accessories)."""
    found: list[dict[str, Any]] = []
    for block in message.get("blocks") or []:
        elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
        accessory = block.get("accessory")
        if isinstance(accessory, dict):
            elements.append(accessory)
        found.extend(e for e in elements if isinstance(e, dict) and e.get("type") == "button")
    return found


def post(url: str, body: str, headers: Mapping[str, str], timeout: float = 30) -> dict[str, Any]:
    """POST ``body``; return ``{"statusCode", "headers", "body"}`` whatever the status."""
    request = urllib.request.Request(
        url, data=body.encode("utf-8"), headers=dict(headers), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, rheaders, data = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        status, rheaders, data = err.code, dict(err.headers), err.read()
    return {
        "statusCode": status,
        "headers": {k.lower(): v for k, v in rheaders.items()},
        "body": data.decode("utf-8", "replace"),
    }
