"""Transport-free HTTP request and response for the ingress core.

The Lambda adapter (functions/ingress/app.py) turns API Gateway events into an
:class:`HttpRequest` and an :class:`HttpResponse` back into the proxy result,
so the core can be exercised without any Lambda machinery (as Bolt's adapters do).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One HTTP request as the ingress sees it.

    ``headers`` keys are lower-case (API Gateway HTTP API v2 already lower-cases
    them); ``body`` is the decoded text body exactly as Slack signed it.
    """

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str = ""

    def header(self, name: str) -> str:
        """The header ``name`` (case-insensitive), or ``""``."""
        value = self.headers.get(name.lower())
        if value is None:
            lowered = {k.lower(): v for k, v in self.headers.items()}
            value = lowered.get(name.lower(), "")
        return value


@dataclass(slots=True)
class HttpResponse:
    """Status, headers and a text body."""

    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Mapping[str, Any], status: int = 200) -> HttpResponse:
        """A JSON response (Slack renders slash-command answers from it)."""
        return cls(
            status,
            json.dumps(payload, separators=(",", ":")),
            {"content-type": "application/json"},
        )

    @classmethod
    def empty(cls, status: int = 200) -> HttpResponse:
        """An empty body: a plain ack, or a refusal that must say nothing."""
        return cls(status, "", {})

    def to_api_gateway(self) -> dict[str, Any]:
        """The API Gateway (HTTP API payload v2) proxy result."""
        return {
            "statusCode": self.status,
            "headers": dict(self.headers),
            "body": self.body,
            "isBase64Encoded": False,
        }
