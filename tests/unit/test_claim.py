""" "I'm on it": the wire format, the message edit and the recap (issue 13, part 2)."""

from __future__ import annotations

import json

import pytest

from logthread.alarms.alarm_render import Message, section
from logthread.alarms.claim import BLOCK_ID, with_claim
from logthread.alarms.claim_store import Claim
from logthread.alarms.follow_up_render import recap_reply, with_recap
from logthread.signatures import Signature, Tally
from logthread.tasks import (
    CLAIM_ACTION_ID,
    CLAIM_BLOCKS_LIMIT,
    AlarmClaim,
    claim_from_dict,
    claim_key,
    claim_value,
)
from logthread.worker.inbox import Unreadable, decode

KEY = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:FugaService-Errors"
BLOCKS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "alarm"}},
    {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": CLAIM_ACTION_ID,
                "text": {"type": "plain_text", "text": "I'm on it"},
            },
            {"type": "button", "action_id": "logthread.open_cloudwatch", "url": "https://x"},
        ],
    },
]


def test_the_claim_round_trips_through_the_task_topic() -> None:
    claim = AlarmClaim(KEY, "C1", "1.2", "U1", "T1", "alarm", BLOCKS)
    assert decode(claim.to_json()) == claim
    assert claim_key(claim_value(KEY)) == KEY


def test_a_message_too_big_to_ride_along_is_left_out() -> None:
    big = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * CLAIM_BLOCKS_LIMIT}}]
    assert decode(AlarmClaim(KEY, "C1", "1.2", "U1", blocks=big).to_json()).blocks == []  # type: ignore[union-attr]


@pytest.mark.parametrize("value", ["", "{}", '{"v":2,"k":"x"}', '{"v":1,"k":""}', "[1]"])
def test_tampered_claim_values_are_refused(value: str) -> None:
    with pytest.raises(ValueError):
        claim_key(value)


def test_a_broken_claim_is_unreadable_not_an_alarm() -> None:
    body = json.loads(AlarmClaim(KEY, "C1", "1.2", "U1").to_json())
    body["reply"]["user_id"] = ""
    assert isinstance(decode(json.dumps(body)), Unreadable)
    with pytest.raises(ValueError):
        claim_from_dict({**body, "message": {"blocks": ["not a block"]}})


def test_the_claim_line_goes_above_the_buttons_and_replaces_an_earlier_one() -> None:
    once = with_claim(BLOCKS, Claim("U1", 1_700_000_000_000))
    assert [b.get("block_id") for b in once] == [None, BLOCK_ID, None]
    twice = with_claim(once, Claim("U2", 1_700_000_060_000))
    assert len(twice) == 3
    text = json.dumps(twice)
    assert "<@U2> is on it since" in text and "<@U1>" not in text
    assert twice[2]["elements"][0]["text"]["text"] == "Take over"
    assert twice[2]["elements"][1] == BLOCKS[1]["elements"][1]


def test_the_recap_names_who_handled_it() -> None:
    tally = Tally()
    tally.add(Signature("TimeoutError", "db"), 1_700_000_000_000, "r1")
    reply = recap_reply(tally, started_ms=1, ended_ms=2, limit=5, redactor=None, handled_by="U1")
    assert "handled by <@U1>" in reply.text
    resolved = with_recap(
        Message("t", [section("a")]),
        tally,
        started_ms=1,
        ended_ms=2,
        limit=5,
        redactor=None,
        handled_by="U1",
    )
    assert "handled by <@U1>" in json.dumps([b.to_dict() for b in resolved.blocks])
