"""API Gateway's HTTP API, locally: an HTTP server that calls a Lambda handler.

Requests become payload format 2.0 events (lower-cased headers, comma-joined
repeats, base64 body, ``requestContext.http``); the handler's result is turned
back into an HTTP response by the same rules API Gateway applies. Only the
template's one route, ``POST /slack/events``, reaches the handler.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from logthread_local.lambdas import ACCOUNT_ID

ROUTE = ("POST", "/slack/events")
log = logging.getLogger("logthread_local.gateway")


def gateway_event(
    method: str, raw_path: str, headers: Mapping[str, str], body: bytes, source_ip: str
) -> dict[str, Any]:
    """The API Gateway HTTP API (payload format 2.0) event for one request."""
    parts = urlsplit(raw_path)
    lowered: dict[str, str] = {}
    for key, value in headers.items():  # repeated headers are comma-joined, as API Gateway does
        k = key.lower()
        lowered[k] = f"{lowered[k]},{value}" if k in lowered else value
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {parts.path}",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": lowered,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "domainName": lowered.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": base64.b32encode(uuid.uuid4().bytes)[:16].decode(),
            "routeKey": f"{method} {parts.path}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": bool(body),
    }
    if parts.query:
        event["queryStringParameters"] = {
            k: ",".join(v) for k, v in parse_qs(parts.query, keep_blank_values=True).items()
        }
    if body:
        event["body"] = base64.b64encode(body).decode("ascii")
    return event


def normalise_result(result: Any) -> dict[str, Any]:
    """Apply API Gateway's payload 2.0 rules to a handler's return value."""
    if isinstance(result, dict) and "statusCode" in result:
        body = result.get("body") or ""
        if result.get("isBase64Encoded"):
            body = base64.b64decode(body).decode("utf-8", "replace")
        return {
            "statusCode": int(result["statusCode"]),
            "headers": {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()},
            "body": body,
        }
    # Without a statusCode, API Gateway answers 200 with the JSON of whatever came back.
    text = result if isinstance(result, str) else json.dumps(result)
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": text}


class Gateway:
    """An HTTP server on a free loopback port that calls ``invoke(event)`` per request.

    ``invoke`` takes the v2 event and returns what the Lambda handler returned.
    """

    def __init__(self, invoke: Callable[[dict[str, Any]], Any], *, poll: float = 0.05) -> None:
        self._invoke = invoke
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self._call))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(poll,), name="ingress", daemon=True
        )
        host, port = self._server.server_address[:2]
        self.base_url = f"http://{host!s}:{port}"
        self.url = self.base_url + ROUTE[1]

    def start(self) -> Gateway:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _call(self, event: dict[str, Any]) -> dict[str, Any]:
        return normalise_result(self._invoke(event))


def _handler_class(
    call: Callable[[dict[str, Any]], dict[str, Any]],
) -> type[BaseHTTPRequestHandler]:
    class GatewayHandler(BaseHTTPRequestHandler):
        server_version = "logthread-local-gateway"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("ingress %s", format % args)

        def _route(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            if (self.command, urlsplit(self.path).path) != ROUTE:
                # The HTTP API has this one route; anything else never reaches Lambda.
                self._send(404, {"content-type": "application/json"}, '{"message":"Not Found"}')
                return
            event = gateway_event(
                self.command, self.path, dict(self.headers.items()), body, self.client_address[0]
            )
            try:
                result = call(event)
            except Exception:
                log.exception("the ingress handler raised")
                self._send(
                    500,
                    {"content-type": "application/json"},
                    '{"message":"Internal Server Error"}',
                )
                return
            self._send(result["statusCode"], result["headers"], result["body"])

        def _send(self, status: int, headers: Mapping[str, str], body: str) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            for key, value in headers.items():
                if key not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(key, value)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = _route
        do_GET = _route
        do_PUT = _route
        do_DELETE = _route

    return GatewayHandler
