"""A response_url is only ever Slack's: a forged task can't send log lines elsewhere."""

from __future__ import annotations

import pytest

from logthread.slack.chat import ChatError, SlackChat
from logthread_local.slack_standin import SlackStandin


@pytest.mark.parametrize(
    "url",
    [
        "https://attacker.example/x",
        "http://hooks.slack.com/commands/T0/1/abc",  # not https
        "https://hooks.slack.com.attacker.example/commands/T0/1/abc",
        "file:///etc/passwd",
    ],
)
def test_a_response_url_off_slack_is_refused_before_any_request(
    chat: SlackChat, slack: SlackStandin, url: str
) -> None:
    with pytest.raises(ChatError) as refused:
        chat.respond(url, text="the log lines")
    assert refused.value.code == "untrusted_response_url"
    assert slack.calls == []


def test_the_stand_ins_response_url_is_trusted_like_slacks(
    chat: SlackChat, slack: SlackStandin
) -> None:
    # The stand-in serves the Web API and response URLs from one origin, as a test double
    # of Slack: a response URL on the client's own API origin is accepted.
    url = slack.response_url()
    chat.respond(url, text="found it")
    assert [r["text"] for r in slack.responses(url)] == ["found it"]
