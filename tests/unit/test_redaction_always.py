"""Redaction can't be skipped (SECURITY.md): Slack-bound renders hide secrets with no redactor given."""

from __future__ import annotations

import json

from conftest import load_fixture

from logthread.alarms.alarm_render import alarm_message
from logthread.alarms.parse import parse
from logthread.alarms.replies import raw_reply, transition_reply
from logthread.logparse import parse_line
from logthread.query import SearchQuery, SearchResult
from logthread.slack.blocks import as_dicts
from logthread.slack.search_render import render_search

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
RID = "3f2a9c1e-7b4d-4e21-9a0c-5d8e6f1a2b3c"


def shown(*parts: object) -> str:
    return json.dumps([as_dicts(p) if isinstance(p, list) else p for p in parts])


def test_a_search_rendered_without_a_redactor_still_hides_secrets() -> None:
    line = f"[ERROR]\t2024-05-01T12:00:00.000Z\t{RID}\tboom aws_secret_access_key={SECRET_KEY}"
    record = parse_line(line, timestamp=1_714_564_800_000, log_group="/aws/lambda/f")
    result = SearchResult(query=SearchQuery(RID), records=[record], request_ids=[RID])
    rendered = render_search(result)
    text = shown(rendered.parent_blocks, rendered.thread_blocks, rendered.thread_text)
    assert SECRET_KEY not in text and "REDACTED" in text
    assert "1 value hidden" in text


def test_an_alarms_own_fields_and_raw_text_are_redacted_without_a_redactor() -> None:
    envelope = load_fixture("alarms/lambda_errors_hoge.json")
    doc = json.loads(envelope["Message"])
    doc["AlarmDescription"] = f"runbook: use password={SECRET_KEY}"
    doc["NewStateReason"] = f"key {AWS_KEY} leaked"
    doc["Trigger"]["Dimensions"].append({"name": "Token", "value": f"token={SECRET_KEY}"})
    alarm = parse(json.dumps(doc), envelope.get("Subject", ""))
    message = alarm_message(alarm)
    text = shown(message.blocks, message.text)
    assert SECRET_KEY not in text and AWS_KEY not in text
    broken = parse(json.dumps(doc)[:-40], "")  # unreadable: posted as raw text
    raw = raw_reply(broken)
    assert raw is not None
    assert SECRET_KEY not in shown(raw.blocks, raw.text)


def test_the_reasons_of_state_changes_are_redacted_without_a_redactor() -> None:
    envelope = load_fixture("alarms/lambda_errors_hoge.json")
    ok = json.loads(load_fixture("alarms/lambda_errors_hoge_ok.json")["Message"])
    ok["NewStateReason"] = f"recovered; key {AWS_KEY} aws_secret_access_key={SECRET_KEY}"
    back = parse(json.dumps(ok), "")
    resolved = alarm_message(parse(envelope["Message"], ""), resolved_by=back)
    reply = transition_reply(back)
    text = shown(resolved.blocks, resolved.text, reply.blocks, reply.text)
    assert SECRET_KEY not in text and AWS_KEY not in text
