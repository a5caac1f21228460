"""Result headers name the requests found; buttons carry the window actually searched."""

from __future__ import annotations

import json

from test_ingress import NOW, Harness
from test_render import RID, WINDOW, buttons, rec, result, texts

from logthread import config as config_module
from logthread.bounds import widen_search as widen
from logthread.query import SearchQuery, TimeWindow
from logthread.slack.search_render import MORE_CONTEXT, SEARCH_AGAIN, button_query, render_search
from logthread.tasks import query_from_button

PREFIX = RID[:8]
OTHER = RID.replace("1234567890ab", "ffffffffffff")


def header(blocks: list) -> str:
    return str(json.loads(texts(blocks))[0]["text"]["text"])


def test_a_prefix_names_the_full_id_it_matched() -> None:
    out = render_search(result([rec(0)], query=SearchQuery(PREFIX), request_ids=[RID]))
    assert f"for `{RID}` (from `{PREFIX}`)" in header(out.parent_blocks)
    assert header(out.thread_blocks) == f"Request {RID}"
    assert out.parent_text.startswith(f"Log search for {RID}: ")
    assert out.thread_text.startswith(f"Log timeline of {RID}: ")
    assert RID in out.filename


def test_a_prefix_matching_several_names_them_all() -> None:
    query = SearchQuery(PREFIX)
    out = render_search(result([rec(0)], query=query, request_ids=[RID, OTHER]))
    assert f"for `{PREFIX}` (matched 2 requests: `{RID}`, `{OTHER}`)" in header(out.parent_blocks)
    assert header(out.thread_blocks).startswith("Requests ")
    assert RID in header(out.thread_blocks) and OTHER in header(out.thread_blocks)
    assert RID in out.parent_text and OTHER in out.parent_text
    many = [RID.replace("1234567890ab", f"{i:012x}") for i in range(8)]
    out = render_search(result([rec(0)], query=query, request_ids=many))
    assert "matched 8 requests" in header(out.parent_blocks)
    assert "and 3 more" in header(out.parent_blocks)
    assert many[5] not in header(out.parent_blocks)


def test_a_full_id_is_named_once() -> None:
    out = render_search(result([rec(0)]))
    assert f"for `{RID}`" in header(out.parent_blocks)
    assert "(from" not in header(out.parent_blocks)
    assert header(out.thread_blocks) == f"Request {RID}"


def test_buttons_carry_the_default_look_back_that_was_searched() -> None:
    searched = result([rec(0)], query=SearchQuery(RID, functions=("orders",)), window=WINDOW)
    assert button_query(searched).window == WINDOW
    found = buttons(render_search(searched).parent_blocks)
    for action in (SEARCH_AGAIN, MORE_CONTEXT):
        assert query_from_button(found[action]["value"]).window == WINDOW


def test_a_typed_window_is_kept_as_typed() -> None:
    typed = TimeWindow(WINDOW.start_ms - 60_000, WINDOW.end_ms)
    searched = result([rec(0)], query=SearchQuery(RID, window=typed), window=WINDOW)
    value = buttons(render_search(searched).parent_blocks)[SEARCH_AGAIN]["value"]
    assert query_from_button(value).window == typed


def test_search_again_on_a_default_look_back_really_widens_it() -> None:
    now_ms = int(NOW * 1000)
    looked = TimeWindow(now_ms - 2 * 3_600_000, now_ms - 3_600_000)
    searched = result([rec(0)], query=SearchQuery(RID, functions=("orders",)), window=looked)
    value = buttons(render_search(searched).parent_blocks)[SEARCH_AGAIN]["value"]

    h = Harness()
    assert h.click(value).status == 200
    [task] = h.tasks
    assert task.query.window is not None
    assert task.query.window.duration_ms == 4 * looked.duration_ms
    assert (
        task.query.window.start_ms <= looked.start_ms and task.query.window.end_ms >= looked.end_ms
    )
    config = config_module.from_mapping({}, env={})
    assert task.query.window == widen(looked, now_ms, config)
