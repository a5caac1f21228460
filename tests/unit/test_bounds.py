"""One rule bounds every window a search may cover, whatever door it came through."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from test_ingress import NOW, RID, Harness

from logthread import config as config_module
from logthread.bounds import (
    MAX_WINDOW_MS,
    bound_query,
    clamp_window,
    widen_rescan,
    widen_search,
)
from logthread.ingress import MORE_CONTEXT, SEARCH_AGAIN
from logthread.query import SearchQuery, TimeWindow
from logthread.tasks import button_value

NOW_MS = int(NOW * 1000)
CONFIG = config_module.from_mapping({}, env={})
EPOCH_TO_NOW = TimeWindow(0, NOW_MS)  # the 20,000-day window an edited button asked for


def _value(window: TimeWindow) -> str:
    return button_value(SearchQuery(request_id=RID, functions=("HogeService",), window=window))


def test_a_more_context_button_edited_to_search_since_1970_is_refused() -> None:
    h = Harness()
    h.click(_value(EPOCH_TO_NOW), action_id=MORE_CONTEXT)
    assert h.tasks == []
    assert h.told and "no longer works" in h.told[0][1]


def test_a_search_again_button_edited_to_search_since_1970_is_refused() -> None:
    h = Harness()
    h.click(_value(EPOCH_TO_NOW), action_id=SEARCH_AGAIN)
    assert h.tasks == []


def test_a_button_within_31_days_still_works() -> None:
    h = Harness()
    h.click(_value(TimeWindow(NOW_MS - 3_600_000, NOW_MS)), action_id=MORE_CONTEXT)
    assert len(h.tasks) == 1
    assert h.tasks[0].query.window == TimeWindow(NOW_MS - 3_600_000, NOW_MS)


def test_a_task_naming_a_huge_window_is_cut_to_31_days_ending_now() -> None:
    # Whoever can publish to the task topic can write any window: the worker bounds it too.
    query = bound_query(SearchQuery(request_id=RID, window=EPOCH_TO_NOW), CONFIG, now_ms=NOW_MS)
    assert query.window is not None
    assert query.window.duration_ms == MAX_WINDOW_MS
    assert query.window.end_ms == NOW_MS


def test_a_task_with_no_target_reads_the_allowed_prefixes() -> None:
    query = bound_query(SearchQuery(request_id=RID), CONFIG, now_ms=NOW_MS)
    assert query.log_groups == CONFIG.access.log_group_prefixes


windows = st.builds(
    lambda start, span: TimeWindow(start, start + span),
    st.integers(min_value=0, max_value=4 * 10**12),
    st.integers(min_value=1, max_value=10**13),
)


@given(windows, st.integers(min_value=10**12, max_value=4 * 10**12))
def test_every_widening_and_clamp_stays_within_31_days_and_never_ends_in_the_future(
    window: TimeWindow, now_ms: int
) -> None:
    for out in (
        widen_search(window, now_ms, CONFIG),
        widen_search(None, now_ms, CONFIG),
        widen_rescan(window, now_ms),
        clamp_window(window, now_ms),
    ):
        assert 0 < out.duration_ms <= MAX_WINDOW_MS
        assert out.end_ms <= now_ms + 5 * 60_000
