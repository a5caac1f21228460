"""moto in server mode on 127.0.0.1, reached by boto3 over real HTTP."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer

LOCAL_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


@contextmanager
def moto_server() -> Iterator[str]:
    """Start moto on a free loopback port; yield its endpoint URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def in_account(client: Any, account: str) -> Any:
    """``client``, made to act as ``account`` on moto (its ``x-moto-account-id`` header).

    moto keeps every account in one server; this is how the local stack seeds a source
    account's log groups, functions and metrics. Returns the same client.
    """

    def _add_header(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account

    client.meta.events.register("before-sign.*.*", _add_header)
    return client


def reset_moto(endpoint: str) -> None:
    """Forget every resource of the moto server at ``endpoint`` (its state is per process)."""
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).read()


def use_endpoint(endpoint: str) -> dict[str, str]:
    """Point this process's botocore at ``endpoint``; return the previous values."""
    previous = {k: os.environ.get(k, "") for k in [*LOCAL_ENV, "AWS_ENDPOINT_URL"]}
    os.environ.update(LOCAL_ENV)
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    return previous


def create_table(client: Any, table_name: str) -> None:
    """Create the episode table as template.yaml declares it (pk ``id``, TTL ``expiration``)."""
    client.create_table(
        TableName=table_name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=table_name)
    client.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"},
    )
