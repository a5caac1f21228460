"""The read guard on a real client: a refused call is never sent, an allowed one is."""

from __future__ import annotations

from typing import Any

import pytest

from logthread.config import from_mapping
from logthread.readguard import ReadRefused, install
from logthread.search import SearchError, SearchQuery, search
from logthread.worker.deps import WorkerDeps

PROD = "210987654321"


def sent_operations(client: Any) -> list[str]:
    sent: list[str] = []
    client.meta.events.register(
        "before-send.cloudwatch-logs",
        lambda request, **_: sent.append(request.headers["X-Amz-Target"].decode().split(".")[-1]),
    )
    return sent


def test_refused_calls_are_never_sent(logs_client: Any) -> None:
    logs_client.create_log_group(
        logGroupName="/aws/lambda/a"
    )  # writes pass: the guard is about reads
    install(logs_client, from_mapping({}, env={}).access, lambda: "123456789012")
    sent = sent_operations(logs_client)
    logs_client.filter_log_events(logGroupName="/aws/lambda/a")
    with pytest.raises(ReadRefused):
        logs_client.filter_log_events(logGroupName="/secret/group")
    arn = f"arn:aws:logs:{logs_client.meta.region_name}:{PROD}:log-group:/aws/lambda/a"
    with pytest.raises(ReadRefused):
        logs_client.filter_log_events(logGroupIdentifier=arn)
    with pytest.raises(ReadRefused):  # paginators go through the same hook
        list(logs_client.get_paginator("filter_log_events").paginate(logGroupName="/etc"))
    assert sent == ["FilterLogEvents"]


def test_worker_deps_install_it_and_a_search_outside_reads_nothing(logs_client: Any) -> None:
    config = from_mapping({"access": {"log_group_prefixes": ["/aws/lambda/shop-"]}}, env={})
    WorkerDeps(logs=logs_client, chat=None, config=config)  # type: ignore[arg-type]
    sent = sent_operations(logs_client)
    # Past authz (a forged task): the engine's calls are refused in the client.
    with pytest.raises(SearchError, match="outside the allowed log group prefixes"):
        search(logs_client, SearchQuery("12345678", functions=("other",), strategy="filter"))
    assert "FilterLogEvents" not in sent and "GetLogEvents" not in sent
