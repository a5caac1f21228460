""" "Find logs" on any message: which ids a message shows (issue 13, part 4)."""

from __future__ import annotations

from logthread.config import from_mapping
from logthread.shortcut import MAX_IDS, ack_text, ids_in_message, plan

RID = "12345678-aaaa-bbbb-cccc-1234567890ab"
TRACE = "1-5759e988-bd862e3fe1be46a994272793"
OTHER = "9f0e8d7c-1111-2222-3333-444455556666"


def test_ids_from_text_blocks_and_attachments_first_seen_first_each_once() -> None:
    message = {
        "text": f"Ticket: customer saw an error, request {RID.upper()}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"trace `{TRACE}`"}},
            {"type": "rich_text", "elements": [{"type": "text", "text": f"again {RID}"}]},
        ],
        "attachments": [{"fallback": "x", "fields": [{"title": "id", "value": OTHER}]}],
        "user": "U0AAAAAAA",
        "ts": "1715656867.123456",
    }
    assert ids_in_message(message) == [RID, TRACE, OTHER]


def test_longer_tokens_and_slack_object_ids_are_not_ids() -> None:
    message = {
        "text": f"x{RID} {RID}ff 2-5759e988-bd862e3fe1be46a994272793 <@U0AAAAAAA>",
        "block_id": RID,
        "files": [{"id": "F0123", "title": "log"}],
    }
    assert ids_in_message(message) == []


def test_a_few_are_searched_the_rest_listed() -> None:
    ids = [f"{i:08x}-aaaa-bbbb-cccc-1234567890ab" for i in range(5)]
    payload = {
        "type": "message_action",
        "callback_id": "logthread.find_logs",
        "trigger_id": "1.2.3",
        "user": {"id": "U1", "username": "oncall", "team_id": "T1"},
        "team": {"id": "T1"},
        "channel": {"id": "C1"},
        "message": {"text": " ".join(ids), "ts": "100.1", "thread_ts": "99.0"},
        "message_ts": "100.1",
        "response_url": "https://hooks.slack.com/actions/T1/1/x",
    }
    config = from_mapping({"limits": {"context_lines": 2}}, {"DEFAULT_CHANNEL": "C1"})
    found = plan(payload, config, now_ms=1_700_000_000_000)
    assert [t.query.request_id for t in found.tasks] == ids[:MAX_IDS]
    assert found.rest == ids[MAX_IDS:]
    task = found.tasks[0]
    assert (task.reply.channel, task.reply.thread_ts, task.reply.team_id) == ("C1", "99.0", "T1")
    # As a typed `/logsearch <id>`: every group the caller may read, the configured context.
    assert (task.query.context_lines, task.query.log_groups) == (2, ("/aws/lambda/",))
    assert task.origin == "shortcut"
    # A replayed request is the same tasks (answered once); another id, another task.
    again = plan(payload, config, now_ms=1_700_000_000_000)
    assert [t.extra["task_id"] for t in again.tasks] == [t.extra["task_id"] for t in found.tasks]
    assert len({t.extra["task_id"] for t in found.tasks}) == MAX_IDS
    text = ack_text([ids[0]], found.rest, [])
    assert "Not searched" in text and ids[4] in text
