"""boto3 clients: built once per process, with botocore's adaptive retries.

Core modules take clients as arguments and never build them at import time;
the Lambda handlers and the CLI call :func:`client` and pass the result in.
``AWS_ENDPOINT_URL`` (honoured by botocore itself) points every client at a
local endpoint such as the moto server.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.config import Config

RETRY_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": 8},
    connect_timeout=5,
    read_timeout=30,
)


@functools.cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


@functools.cache
def client(service: str, region_name: str | None = None) -> Any:
    """The process-wide client for ``service`` (cached per region)."""
    session: Any = _session()  # boto3-stubs types client() per literal service name
    return session.client(service, region_name=region_name, config=RETRY_CONFIG)


# For calls that are only nice to have (the alarm's graph): one retry, short timeouts, so a
# failing one costs a second, not the adaptive budget's half minute.
QUICK_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 2},
    connect_timeout=3,
    read_timeout=10,
)


@functools.cache
def quick_client(service: str, region_name: str | None = None) -> Any:
    """The process-wide client for ``service`` with :data:`QUICK_CONFIG` (cached per region)."""
    session: Any = _session()
    return session.client(service, region_name=region_name, config=QUICK_CONFIG)
