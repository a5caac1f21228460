"""Rendering search results for Slack: content, and Slack's limits whatever the input."""

from __future__ import annotations

import json
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logthread.query import SearchQuery, SearchResult, TimeWindow
from logthread.records import LogRecord
from logthread.redact import Redactor
from logthread.slack.blocks import as_dicts, block_errors
from logthread.slack.console_links import console_url, insights_link, region_of
from logthread.slack.search_render import (
    MORE_CONTEXT,
    OPEN_CLOUDWATCH,
    SEARCH_AGAIN,
    render_search,
    summary_line,
    timeline_text,
)
from logthread.tasks import query_from_button

RID = "12345678-aaaa-bbbb-cccc-1234567890ab"
T0 = 1714557601123  # 2024-05-01 10:00:01.123 UTC
WINDOW = TimeWindow(1714557600000, 1714561200000)


def rec(i: int, message: str = "", level: str = "INFO", **kw: object) -> LogRecord:
    fields: dict = {"log_group": "/aws/lambda/orders", "log_stream": "2024/05/01/[$LATEST]a1"}
    fields.update(kw)
    return LogRecord(timestamp=T0 + i * 10, message=message or f"line {i}", level=level, **fields)


def result(records: list[LogRecord], **kw: object) -> SearchResult:
    fields: dict = {
        "query": SearchQuery(RID, functions=("orders",)),
        "records": records,
        "log_groups_searched": sorted({r.log_group for r in records}) or ["/aws/lambda/orders"],
        "window": WINDOW,
        "request_ids": [RID],
    }
    fields.update(kw)
    return SearchResult(**fields)


def texts(blocks: list) -> str:
    return json.dumps(as_dicts(blocks), ensure_ascii=False)


def buttons(blocks: list) -> dict[str, dict]:
    return {
        e["action_id"]: e for b in as_dicts(blocks) if b["type"] == "actions" for e in b["elements"]
    }


def check_limits(blocks: list) -> None:
    wire = as_dicts(blocks)
    assert block_errors(wire) == []
    assert len(wire) <= 50
    assert len(json.dumps(wire, ensure_ascii=False)) < 40_000
    for b in wire:
        if b["type"] == "section":
            assert len(b["text"]["text"]) <= 3000
        for e in b.get("elements", []):
            assert len(e.get("value", "")) <= 2000
            assert len(e.get("url", "")) <= 3000


def test_timeline_text_lines() -> None:
    records = [
        rec(0, "START RequestId: x Version: $LATEST", level="PLATFORM"),
        rec(1, "charging card", level="INFO"),
        rec(2, "neighbour", level="WARNING", context=True),
        rec(3, "Traceback:\n  File a.py\nValueError: boom", level="ERROR"),
        rec(4, "other group", log_group="/aws/lambda/pay", log_stream="s2"),
    ]
    assert timeline_text(records).split("\n") == [
        "── /aws/lambda/orders  2024/05/01/[$LATEST]a1",
        " 10:00:01.123        START RequestId: x Version: $LATEST",
        " 10:00:01.133 INFO   charging card",
        "·10:00:01.143 WARN   neighbour",
        " 10:00:01.153 ERROR  Traceback:",
        "                       File a.py",
        "                     ValueError: boom",
        "── /aws/lambda/pay  s2",
        " 10:00:01.163 INFO   other group",
    ]


def test_found_result_parent_and_thread() -> None:
    records = [rec(0), rec(1, "card declined", level="ERROR"), rec(2, "ctx", context=True)]
    out = render_search(result(records), asked_by="U123ABC")
    parent = texts(out.parent_blocks)
    assert "<@U123ABC>" in parent
    assert f"`{RID}`" in parent
    assert "`/aws/lambda/orders`" in parent
    assert "2024-05-01 10:00:00 → 11:00:00 UTC" in parent
    thread = as_dicts(out.thread_blocks)
    assert thread[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": f"Request {RID}", "emoji": True},
    }
    summary = thread[1]["text"]["text"]
    assert summary.startswith(":red_circle: *1 error* · 2 lines (+1 context) · 1 group")
    assert "10:00:01.123 → 10:00:01.143 UTC (20 ms)" in summary
    assert "*First error:* `card declined`" in summary
    timeline = thread[2]["text"]["text"]
    assert timeline.startswith("```\n") and timeline.endswith("\n```")
    assert " 10:00:01.133 ERROR  card declined" in timeline
    assert "`·` marks context lines" in texts(out.thread_blocks)
    assert out.full_log is None
    assert (out.shown_lines, out.total_lines) == (3, 3)
    assert "1 error" in out.parent_text and RID in out.thread_text


def test_buttons_carry_the_query() -> None:
    out = render_search(result([rec(0)]))
    for blocks in (out.parent_blocks, out.thread_blocks):
        found = buttons(blocks)
        assert set(found) == {SEARCH_AGAIN, MORE_CONTEXT, OPEN_CLOUDWATCH}
        assert query_from_button(found[SEARCH_AGAIN]["value"]).request_id == RID
        assert query_from_button(found[MORE_CONTEXT]["value"]).functions == ("orders",)
        assert found[OPEN_CLOUDWATCH]["url"].startswith("https://")


def test_button_left_out_when_its_value_would_be_too_long() -> None:
    groups = tuple(f"/aws/lambda/service-{i:03d}-with-a-long-name" for i in range(80))
    res = result([rec(0)], query=SearchQuery(RID, log_groups=groups))
    out = render_search(res)
    assert set(buttons(out.thread_blocks)) == {OPEN_CLOUDWATCH}
    check_limits(out.thread_blocks)


def test_slack_text_is_escaped_and_fences_cannot_close_early() -> None:
    out = render_search(result([rec(0, "if a < b && c > d: ```boom```")]))
    timeline = as_dicts(out.thread_blocks)[2]["text"]["text"]
    assert "a &lt; b &amp;&amp; c &gt; d" in timeline
    assert timeline.count("```") == 2


def test_long_timeline_is_cut_and_the_full_log_kept() -> None:
    records = [rec(i, f"event {i} " + "x" * 300) for i in range(400)]
    out = render_search(result(records))
    check_limits(out.thread_blocks)
    assert 0 < out.shown_lines < 400
    more = [b for b in as_dicts(out.thread_blocks) if "more lines" in json.dumps(b)]
    assert (
        more[0]["elements"][0]["text"]
        == f"_{400 - out.shown_lines} more lines — full log attached_"
    )
    assert out.full_log is not None
    assert all(f"event {i} " in out.full_log for i in range(400))
    assert out.filename == f"logthread-{RID}.log"


def test_one_huge_line_is_shortened_in_slack_only() -> None:
    out = render_search(result([rec(0, "y" * 20_000)]))
    check_limits(out.thread_blocks)
    assert "…" in texts(out.thread_blocks)
    assert out.full_log is not None and "y" * 20_000 in out.full_log


def test_nothing_found_says_where_when_and_what_next() -> None:
    res = result([], log_groups_searched=["/aws/lambda/orders", "/aws/lambda/pay"])
    out = render_search(res, asked_by="U1ABC")
    body = texts(out.parent_blocks)
    assert "no log lines found" in body
    assert "`/aws/lambda/orders`, `/aws/lambda/pay`" in body
    assert "2024-05-01 10:00:00 → 11:00:00 UTC" in body
    assert "What to try next" in body and "wider window" in body
    assert set(buttons(out.parent_blocks)) == {SEARCH_AGAIN, OPEN_CLOUDWATCH}
    assert out.full_log is None
    assert summary_line(res) == ":white_circle: nothing found"


def test_partial_results_are_marked_with_the_reason() -> None:
    res = result([rec(0)], partial=True, partial_reason="deadline reached after 3 of 7 days")
    for out in (render_search(res), render_search(result([], partial=True, partial_reason="x"))):
        assert ":warning: *Partial result*" in texts(out.parent_blocks)
    assert "deadline reached after 3 of 7 days" in texts(render_search(res).thread_blocks)


def test_redactor_hides_values_everywhere() -> None:
    records = [rec(0, "login password=hunter2 ok", level="ERROR"), rec(1, "token: abc")]
    out = render_search(
        result(records + [rec(i, "z" * 400) for i in range(2, 200)]), redactor=Redactor()
    )
    assert out.hidden_values >= 1
    everything = texts(out.parent_blocks) + texts(out.thread_blocks) + (out.full_log or "")
    assert "hunter2" not in everything
    assert "[REDACTED]" in everything
    assert f"{out.hidden_values} value" in texts(out.thread_blocks)


def test_prefix_matching_several_requests_is_said() -> None:
    other = RID.replace("1234567890ab", "ffffffffffff")
    out = render_search(result([rec(0)], request_ids=[RID, other]))
    assert "matched 2 requests" in texts(out.parent_blocks)


record_st = st.builds(
    LogRecord,
    timestamp=st.integers(T0, T0 + 86_400_000),
    message=st.text(max_size=3000),
    level=st.sampled_from(["", "INFO", "ERROR", "WARN", "PLATFORM", "DEBUG"]),
    log_group=st.sampled_from([f"/aws/lambda/fn-{i}" for i in range(12)]),
    log_stream=st.text(max_size=60),
    context=st.booleans(),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    records=st.lists(record_st, max_size=300),
    copies=st.integers(1, 20),
    groups=st.integers(0, 60),
)
def test_any_result_stays_within_slack_limits(
    records: list[LogRecord], copies: int, groups: int
) -> None:
    records = sorted(records * copies, key=lambda r: r.timestamp)
    names = tuple(f"/aws/lambda/function-number-{i}" for i in range(groups))
    res = result(records, query=SearchQuery(RID, log_groups=names), partial=bool(groups % 2))
    out = render_search(res, asked_by="U123")
    check_limits(out.parent_blocks)
    check_limits(out.thread_blocks)
    assert len(out.parent_text) < 4000 and len(out.thread_text) < 4000
    if out.shown_lines < len(records):
        assert out.full_log is not None


def decode_fragment(url: str) -> str:
    fragment = url.split("#logsV2:logs-insights", 1)[1]
    once = unquote(fragment.replace("$", "%"))  # encodeURIComponent, then % -> $
    return unquote(unquote(once).replace("*", "%"))  # escape(), then the values' * encoding


def test_insights_link_encodes_query_groups_and_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    url = insights_link(result([rec(0)], log_groups_searched=["/aws/lambda/a", "/aws/lambda/b"]))
    assert url is not None
    assert url.startswith(
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1"
        "#logsV2:logs-insights$3FqueryDetail$3D$257E$2528end$257E$2527"
    )
    detail = decode_fragment(url)
    assert detail.startswith("?queryDetail=~(end~'2024-05-01T11:00:00.000Z~start~'2024-05-01T10:")
    assert "~timeType~'ABSOLUTE~tz~'UTC~" in detail
    assert f'| filter @message like "{RID}"' in detail
    assert detail.endswith("~source~(~'/aws/lambda/a~'/aws/lambda/b))")


def test_insights_link_region_and_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    assert region_of(["/aws/lambda/a"]) == "us-east-1"
    assert region_of(["arn:aws:logs:ap-south-1:123456789012:log-group:/aws/lambda/a:*"]) == (
        "ap-south-1"
    )
    arn = result([rec(0)], log_groups_searched=["arn:aws:logs:ap-south-1:1:log-group:/x/y:*"])
    link = insights_link(arn)
    assert link is not None and "region=ap-south-1" in link and "~'/x/y)" in decode_fragment(link)
    many = [f"/aws/lambda/a-rather-long-function-name-{i}" for i in range(200)]
    link = insights_link(result([rec(0)], log_groups_searched=many))
    assert link is not None and len(link) <= 3000
    assert insights_link(result([], query=SearchQuery("bad id; drop"))) is None
    relative = decode_fragment(console_url("us-east-1", ["/a"], "fields @message", None))
    assert "end~0~start~-259200~timeType~'RELATIVE~unit~'seconds" in relative
