"""User text never reaches a CloudWatch filter pattern or Insights query unescaped (issue 7, item 6).

Whatever the slash command's text, the request id that survives parsing is
allowlisted (letters, digits, ``-`` and ``_``), and the FilterLogEvents pattern
and the Logs Insights query are built from it by a fixed template: one quoted
term, nothing else of the user's.
"""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from test_hostile_input import FRAGMENTS, RID

from logthread import commands
from logthread.ids import InvalidRequestId, filter_term, insights_term, validate_request_id
from logthread.search.insights import ROW_LIMIT, query_string

SAFE = r"[A-Za-z0-9][A-Za-z0-9_-]*"
QUERY = re.compile(
    r"fields @timestamp, @message, @logStream, @log"
    r' \| filter @message like "([A-Za-z0-9_-]+)"'
    rf" \| sort @timestamp asc \| limit {ROW_LIMIT}"
)
injections = st.one_of(
    st.text(max_size=120),
    st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=8).map("".join),
    st.sampled_from(FRAGMENTS).map(lambda f: RID[:12] + f),
    st.sampled_from(FRAGMENTS).map(lambda f: RID + f + " | stats count(*)"),
)


def _built(request_id: str) -> tuple[str, str]:
    rid = validate_request_id(request_id)
    return filter_term(rid), query_string(rid)


@given(injections)
def test_any_id_text_is_refused_or_becomes_one_quoted_allowlisted_term(text: str) -> None:
    try:
        pattern, query = _built(text)
    except InvalidRequestId:
        return
    rid = validate_request_id(text)
    assert re.fullmatch(SAFE, rid)
    # One quoted term, made of the id's own characters (a trailing '-' may be dropped).
    term = re.fullmatch(r'"([A-Za-z0-9_-]+)"', pattern)
    assert term is not None and rid.startswith(term.group(1)), pattern
    match = QUERY.fullmatch(query)
    assert match is not None, query
    assert rid.startswith(match.group(1)) and insights_term(rid) == f'"{match.group(1)}"'


@given(injections)
def test_what_a_command_searches_is_built_only_from_the_validated_id(text: str) -> None:
    try:
        parsed = commands.parse_command(text, now_ms=1_714_564_800_000)
    except commands.CommandError:
        return
    if not isinstance(parsed, commands.SearchCommand):
        return
    pattern, query = _built(parsed.request_id)
    assert QUERY.fullmatch(query) is not None
    # No other part of the command (targets, window words) reaches the pattern or the query.
    for target in (*parsed.functions, *parsed.log_groups):
        assert target not in pattern or target in parsed.request_id
