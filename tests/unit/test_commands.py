"""The /logsearch grammar: what parses, and what each refusal says."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logthread.commands import (
    MAX_CONTEXT,
    CommandError,
    HelpCommand,
    SearchCommand,
    parse_command,
    quote,
)
from logthread.query import TimeWindow

RID = "3f2a9c1e-7b4d-4e21-9a0c-5d8e6f1a2b3c"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


def parse(text: str) -> SearchCommand:
    result = parse_command(text, now_ms=NOW_MS)
    assert isinstance(result, SearchCommand)
    return result


def refusal(text: str) -> str:
    with pytest.raises(CommandError) as err:
        parse_command(text, now_ms=NOW_MS)
    return str(err.value)


@pytest.mark.parametrize("text", ["", "   ", "help", "HELP", "--help", "?"])
def test_help(text: str) -> None:
    assert parse_command(text, now_ms=NOW_MS) == HelpCommand()


def test_bare_id() -> None:
    assert parse(RID) == SearchCommand(RID)


def test_prefix_id() -> None:
    assert parse("3f2a9c1e").request_id == "3f2a9c1e"


def test_full_command() -> None:
    cmd = parse(f"{RID} in checkout-api,/aws/lambda/payments last 2h context 5")
    assert cmd.functions == ("checkout-api",)
    assert cmd.log_groups == ("/aws/lambda/payments",)
    assert cmd.window == TimeWindow(NOW_MS - 2 * 3_600_000, NOW_MS)
    assert cmd.context_lines == 5


def test_keywords_any_case_and_any_order() -> None:
    cmd = parse(f"{RID} CONTEXT 2 Last 15m IN a")
    assert (cmd.functions, cmd.context_lines) == (("a",), 2)
    assert cmd.window == TimeWindow(NOW_MS - 15 * 60_000, NOW_MS)


def test_log_group_prefix_with_a_trailing_star() -> None:
    assert parse(f"{RID} in /aws/lambda/shop-*").log_groups == ("/aws/lambda/shop-*",)


def test_targets_with_spaces_after_commas_and_duplicates() -> None:
    cmd = parse(f"{RID} in a, b ,a,/g/x")
    assert cmd.functions == ("a", "b")
    assert cmd.log_groups == ("/g/x",)


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("30s", 30_000),
        ("15m", 900_000),
        ("15 min", 900_000),
        ("2h", 7_200_000),
        ("2 hours", 7_200_000),
        ("3d", 3 * 86_400_000),
        ("1w", 7 * 86_400_000),
    ],
)
def test_durations(text: str, ms: int) -> None:
    assert parse(f"{RID} last {text}").window == TimeWindow(NOW_MS - ms, NOW_MS)


def test_from_to_iso() -> None:
    cmd = parse(f"{RID} from 2024-05-01T10:00:00Z to 2024-05-01T10:30:00+00:00")
    start = int(datetime(2024, 5, 1, 10, tzinfo=UTC).timestamp() * 1000)
    assert cmd.window == TimeWindow(start, start + 1_800_000)


def test_from_to_naive_times_are_utc_and_may_have_a_space() -> None:
    cmd = parse(f"{RID} from 2024-05-01 10:00 to 2024-05-01 10:05")
    start = int(datetime(2024, 5, 1, 10, tzinfo=UTC).timestamp() * 1000)
    assert cmd.window == TimeWindow(start, start + 300_000)


def test_from_to_clock_times_today_or_yesterday() -> None:
    cmd = parse(f"{RID} from 11:00 to 11:30")
    assert cmd.window == TimeWindow(NOW_MS - 3_600_000, NOW_MS - 1_800_000)
    # 23:00 hasn't happened yet today at noon: it means yesterday.
    late = parse(f"{RID} from 23:00 to 23:30")
    assert late.window == TimeWindow(NOW_MS - 13 * 3_600_000, NOW_MS - 12.5 * 3_600_000)


def test_from_to_epoch_seconds_and_millis() -> None:
    start_s = NOW_MS // 1000 - 600
    cmd = parse(f"{RID} from {start_s} to {(NOW_MS - 60_000)}")
    assert cmd.window == TimeWindow(start_s * 1000, NOW_MS - 60_000)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("in checkout", "request id comes first"),
        ("abc", "too short"),
        ("3f2a9c1e;rm", "not a request id"),
        (f"{RID} extra", "don't understand `extra`"),
        (f"{RID} in", "`in` needs a function"),
        (f"{RID} in a in b", "`in` is given twice"),
        (f"{RID} last", "`last` needs a duration"),
        (f"{RID} last 5 parsecs", "`last` needs a duration"),
        (f"{RID} last 0m", "longer than zero"),
        (f"{RID} last 90d", "at most 31 days"),
        (f"{RID} last 1h from 10:00 to 11:00", "either `last` or `from"),
        (f"{RID} from 10:00", "needs `to <time>`"),
        (f"{RID} to 10:00", "`to` needs a `from"),
        (f"{RID} from 11:00 to 10:00", "must come after"),
        (f"{RID} from yesterday to today", "`from` needs a time"),
        (f"{RID} from 25:00 to 26:00", "`from` needs a time"),
        (f"{RID} from 2030-01-01T00:00Z to 2030-01-02T00:00Z", "in the future"),
        (f"{RID} context", "`context` needs a number"),
        (f"{RID} context -1", "`context` needs a number"),
        (f"{RID} context {MAX_CONTEXT + 1}", f"at most {MAX_CONTEXT} lines"),
        (f"{RID} in {'x' * 65}", "not a Lambda function name"),
        (f"{RID} in /aws/*/x", "not a log group name"),
        (f"{RID} in /aws/lambda/**", "not a log group name"),
        (f"{RID} in {','.join(str(i) for i in range(11))}", "at most 10"),
        (RID + " " + "x" * 1000, "too long"),
    ],
)
def test_refusals_say_what_was_wrong(text: str, says: str) -> None:
    assert says in refusal(text)


@pytest.mark.parametrize(
    "text",
    [
        '3f2a9c1e" OR "',
        "3f2a9c1e | stats count(*)",
        f"{RID} in checkout-api|fields @message",
        f"{RID} in <!channel>",
        f"{RID} in checkout$(id)",
        f'{RID} in /aws/lambda/x" | filter 1',
        "<@U123>",
        f"{RID} in ../../etc",
        "3f2a9c1e%",
    ],
)
def test_injection_attempts_are_refused(text: str) -> None:
    refusal(text)


def test_echoed_input_is_inert_in_slack_markup() -> None:
    message = refusal(f"{RID} <!channel> <@U0BOSS>")
    assert "<!channel>" not in message and "&lt;!channel&gt;" in message
    assert quote("a" * 100).endswith("…`")


SAFE = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200)


@given(SAFE)
def test_any_text_parses_or_is_refused_cleanly(text: str) -> None:
    try:
        result = parse_command(text, now_ms=NOW_MS)
    except CommandError:
        return
    if isinstance(result, SearchCommand):
        allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
        assert set(result.request_id) <= allowed
        for target in (*result.functions, *result.log_groups):
            assert set(target) <= allowed | set("./#*")
            assert "*" not in target[:-1]
        if result.window:
            assert result.window.start_ms < result.window.end_ms
