"""Window parsing and the newest-first day walk."""

from __future__ import annotations

import itertools

import pytest

from logthread.query import SearchQuery, TimeWindow
from logthread.search.engine import choose_path
from logthread.window import (
    DAY_MS,
    FUTURE_MARGIN_MS,
    day_slices,
    default_window,
    explicit_window,
    is_lambda_group,
    parse_duration,
    parse_time,
    since_window,
    stream_prefix,
    trace_window,
    utc_day_start,
    widen,
)

NOW = 1714564800123  # 2024-05-01T12:00:00.123Z
MIDNIGHT = 1714521600000  # 2024-05-01T00:00:00Z


def test_day_start_and_prefix() -> None:
    assert utc_day_start(NOW) == MIDNIGHT
    assert stream_prefix(NOW) == "2024/05/01/"
    assert stream_prefix(MIDNIGHT - 1) == "2024/04/30/"


def test_default_window_covers_whole_days_back_to_now() -> None:
    w = default_window(NOW, 3)
    assert w.start_ms == MIDNIGHT - 2 * DAY_MS
    assert w.end_ms == NOW + FUTURE_MARGIN_MS
    assert default_window(NOW, 0).start_ms == MIDNIGHT


def test_lambda_day_walk_is_newest_first_with_prefixes_reading_to_the_end() -> None:
    w = default_window(NOW, 3)
    slices = day_slices(w, lambda_group=True, newest_ms=NOW)
    assert [s.stream_prefix for s in slices] == ["2024/05/01/", "2024/04/30/", "2024/04/29/"]
    assert [s.day for s in slices] == ["2024-05-01", "2024-04-30", "2024-04-29"]
    # A stream named for a day keeps logging past midnight: each step reads to the window end.
    assert all(s.window.end_ms == w.end_ms for s in slices)
    assert [s.window.start_ms for s in slices] == [MIDNIGHT - k * DAY_MS for k in range(3)]


def test_plain_group_walk_is_disjoint_and_complete() -> None:
    w = TimeWindow(MIDNIGHT - DAY_MS - 5000, NOW)
    slices = day_slices(w, lambda_group=False)
    assert all(s.stream_prefix is None for s in slices)
    ordered = sorted(slices, key=lambda s: s.window.start_ms)
    assert ordered[0].window.start_ms == w.start_ms
    assert ordered[-1].window.end_ms == w.end_ms
    for a, b in itertools.pairwise(ordered):
        assert a.window.end_ms + 1 == b.window.start_ms


def test_future_margin_does_not_add_a_day() -> None:
    late = MIDNIGHT + DAY_MS - 60_000  # 23:59 UTC
    w = default_window(late, 1)
    assert len(day_slices(w, lambda_group=True, newest_ms=late)) == 1


def test_window_inside_one_day() -> None:
    w = TimeWindow(NOW - 60_000, NOW)
    (only,) = day_slices(w, lambda_group=True)
    assert only.window == w and only.stream_prefix == "2024/05/01/"


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("90s", 90_000),
        ("15m", 900_000),
        ("2h", 7_200_000),
        ("1d", DAY_MS),
        ("1w", 7 * DAY_MS),
        ("30", 1_800_000),
        ("1.5h", 5_400_000),
    ],
)
def test_parse_duration(text: str, ms: int) -> None:
    assert parse_duration(text) == ms


@pytest.mark.parametrize("text", ["", "h", "2 hours", "-1h", "0s"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("2024-05-01T12:00:00.123Z", NOW),
        ("2024-05-01T14:00:00.123+02:00", NOW),
        ("2024-05-01 12:00:00.123", NOW),
        ("2024-05-01", MIDNIGHT),
        ("1714564800", 1714564800000),
        ("1714564800123", NOW),
        ("now", NOW),
        ("-2h", NOW - 7_200_000),
        ("2h ago", NOW - 7_200_000),
    ],
)
def test_parse_time(text: str, ms: int) -> None:
    assert parse_time(text, NOW) == ms


def test_parse_time_refuses() -> None:
    with pytest.raises(ValueError, match="not a time"):
        parse_time("yesterday-ish", NOW)


def test_since_and_explicit_windows() -> None:
    assert since_window("2h", NOW) == TimeWindow(NOW - 7_200_000, NOW + FUTURE_MARGIN_MS)
    assert explicit_window("-1h", None, NOW) == TimeWindow(NOW - 3_600_000, NOW + FUTURE_MARGIN_MS)
    assert explicit_window("2024-05-01", "2024-05-01T12:00:00.123Z", NOW) == TimeWindow(
        MIDNIGHT, NOW
    )
    with pytest.raises(ValueError, match="before its end"):
        explicit_window("now", "-1h", NOW)


def test_trace_window_is_centred() -> None:
    w = trace_window(NOW, 1000)
    assert w == TimeWindow(NOW - 1000, NOW + 1000)


def test_widen_keeps_centre_and_never_shrinks() -> None:
    w = TimeWindow(1000, 3000)
    assert widen(w, 2) == TimeWindow(0, 4000)
    long = TimeWindow(0, 4 * DAY_MS)
    assert widen(long, 2, now_ms=4 * DAY_MS).end_ms == 4 * DAY_MS + FUTURE_MARGIN_MS
    assert widen(long, 2, now_ms=0).end_ms == 4 * DAY_MS


def test_lambda_group_detection() -> None:
    assert is_lambda_group("/aws/lambda/HogeService")
    assert not is_lambda_group("/ecs/checkout")


def _query(**kw: object) -> SearchQuery:
    return SearchQuery("12345678", **kw)  # type: ignore[arg-type]


def test_path_rule_filter_for_few_groups_and_short_windows() -> None:
    three_days = TimeWindow(0, 3 * DAY_MS)
    assert choose_path(_query(), 1, three_days, walking=False) == "filter"
    assert choose_path(_query(), 10, three_days, walking=True) == "filter"


def test_path_rule_insights_for_many_groups_or_wide_windows() -> None:
    assert choose_path(_query(), 11, TimeWindow(0, 1000), walking=True) == "insights"
    assert choose_path(_query(), 1, TimeWindow(0, 4 * DAY_MS), walking=False) == "insights"
    # The default look-back is walked a day at a time, whatever its length.
    assert choose_path(_query(), 1, TimeWindow(0, 7 * DAY_MS), walking=True) == "filter"


def test_path_rule_can_be_forced() -> None:
    assert choose_path(_query(strategy="insights"), 1, TimeWindow(0, 1), walking=True) == "insights"
    assert choose_path(_query(strategy="filter"), 99, TimeWindow(0, 1), walking=False) == "filter"
