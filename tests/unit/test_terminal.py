"""Block Kit drawn for a terminal reader (no colour, so the text is exact)."""

from __future__ import annotations

from logthread_local.terminal import Style, blocks_lines, mrkdwn, thread_lines

PLAIN = Style(color=False)


def test_mrkdwn_links_bold_mentions_and_entities() -> None:
    text = "*ALARM* <https://console.aws/x|Open alarm> by <@U123|oncall> in <#C1> a &lt;b&gt; &amp;"
    assert mrkdwn(text, PLAIN) == "ALARM Open alarm by @oncall in #C1 a <b> &"


def test_every_block_kind_is_drawn() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "HogeService-Errors"}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*State:* ALARM\n```START RequestId: 1\nEND```"},
            "fields": [
                {"type": "mrkdwn", "text": "*Metric*\nErrors"},
                {"type": "mrkdwn", "text": "*Threshold*\n>= 1"},
            ],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "us-east-1"}]},
        {"type": "divider"},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "logthread.search_again",
                    "text": {"type": "plain_text", "text": "Search again"},
                    "style": "primary",
                },
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open in CloudWatch"},
                    "url": "https://console.aws.amazon.com/",
                },
            ],
        },
        {
            "type": "rich_text",
            "elements": [
                {
                    "type": "rich_text_preformatted",
                    "elements": [{"type": "text", "text": "[ERROR] DB fetch failed"}],
                }
            ],
        },
    ]
    assert blocks_lines(blocks, PLAIN) == [
        "HogeService-Errors",
        "State: ALARM",
        "│ START RequestId: 1",
        "│ END",
        "Metric  Errors",
        "Threshold  >= 1",
        "us-east-1",
        "─" * 40,
        "[ Search again ]  [ Open in CloudWatch ↗ ]",
        "│ [ERROR] DB fetch failed",
    ]


def test_a_thread_with_a_file_shows_its_first_lines() -> None:
    parent = {"ts": "0", "text": "parent text"}
    reply = {
        "ts": "0",
        "text": "",
        "files": [{"id": "F1", "name": "full.log", "title": "Full log", "size": 12}],
    }
    lines = thread_lines(parent, [reply], PLAIN, file_content=lambda _id: b"one\ntwo\n")
    text = "\n".join(lines)
    assert "parent text" in text
    assert "└─ thread · 1 reply" in text
    assert "📎 Full log  (full.log)  12 bytes" in text
    assert "┆ one" in text and "┆ two" in text
