"""What a search may read when nothing names a target, or nothing is allowed."""

from __future__ import annotations

import pytest

from logthread.config import ConfigError, from_mapping
from logthread.query import SearchQuery
from logthread.worker.deps import WorkerDeps
from logthread.worker.search_task import bounded_query

RID = "12345678-aaaa-bbbb-cccc-1234567890ab"


def test_an_empty_list_of_allowed_prefixes_is_refused_at_load() -> None:
    # An empty list would leave nothing to refuse: every group would pass the check.
    with pytest.raises(ConfigError, match=r"access\.log_group_prefixes"):
        from_mapping({"access": {"log_group_prefixes": []}}, env={})


def test_a_task_naming_no_target_searches_only_the_allowed_prefixes() -> None:
    config = from_mapping({"access": {"log_group_prefixes": ["/aws/lambda/shop-"]}}, env={})
    deps = WorkerDeps(logs=None, chat=None, config=config)
    query = bounded_query(SearchQuery(RID), deps)
    assert (query.functions, query.log_groups) == ((), ("/aws/lambda/shop-",))


def test_a_task_with_targets_keeps_them() -> None:
    config = from_mapping({}, env={})
    deps = WorkerDeps(logs=None, chat=None, config=config)
    query = bounded_query(SearchQuery(RID, functions=("HogeService",)), deps)
    assert (query.functions, query.log_groups) == (("HogeService",), ())
