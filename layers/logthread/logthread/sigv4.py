"""The two AWS calls the ack path makes, signed with SigV4 over ``http.client``.

The ingress publishes one SNS message per request and reads its signing secret
once per process. boto3 would cost its cold start about 200 ms (botocore's
session, loaders and service models) for those two calls; this module signs
them the way botocore's ``SigV4Auth`` does, and ``tests/unit/test_sigv4.py``
holds its signatures to botocore's on the same requests. Everything else in
logthread keeps boto3.

Credentials come from the environment, as Lambda provides them
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``); with
none there, :func:`from_env` returns ``None`` and the caller uses boto3, whose
provider chain knows profiles and instance roles. ``AWS_ENDPOINT_URL_<SERVICE>``
and ``AWS_ENDPOINT_URL`` (the moto server locally) override the endpoint, as
they do for botocore.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

# The ingress has 3 s for everything; a publish that takes more than this has failed anyway.
TIMEOUT_SECONDS = 2.0
# botocore leaves these out of the signature (a proxy may change them).
_UNSIGNED = frozenset({"user-agent", "expect", "x-amzn-trace-id"})
_RETRIED_STATUS = frozenset({500, 502, 503, 504})


class AwsError(RuntimeError):
    """An AWS call failed; ``code`` is AWS's error code (``""`` if none came back)."""

    def __init__(self, message: str, code: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


@dataclass(frozen=True, slots=True)
class Credentials:
    access_key: str
    secret_key: str
    token: str = ""

    def __repr__(self) -> str:  # never print keys in logs or tracebacks
        return f"Credentials(access_key={self.access_key[:4]}***)"


@dataclass(frozen=True, slots=True)
class Target:
    """Where one service's calls go: its endpoint URL and signing region."""

    service: str
    region: str
    endpoint: str
    credentials: Credentials


def from_env(service: str, env: Mapping[str, str] | None = None) -> Target | None:
    """The target for ``service`` from Lambda's environment; ``None`` without env credentials."""
    env = os.environ if env is None else env
    key, secret = env.get("AWS_ACCESS_KEY_ID", ""), env.get("AWS_SECRET_ACCESS_KEY", "")
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or ""
    if not key or not secret or not region:
        return None
    endpoint = (
        env.get(f"AWS_ENDPOINT_URL_{service.upper()}")
        or env.get("AWS_ENDPOINT_URL")
        or f"https://{service}.{region}.amazonaws.com"
    )
    credentials = Credentials(key, secret, env.get("AWS_SESSION_TOKEN", ""))
    return Target(service, region, endpoint.rstrip("/"), credentials)


def sign(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    service: str,
    region: str,
    credentials: Credentials,
    amz_date: str | None = None,
) -> dict[str, str]:
    """``headers`` plus ``X-Amz-Date``, the session token and SigV4's ``Authorization``.

    Parameters
    ----------
    method, url, headers, body:
        The request as it will be sent (the body exactly, bytes).
    service, region:
        The signing scope, e.g. ``sns`` and ``eu-west-1``.
    credentials:
        The keys (and session token, if any).
    amz_date:
        ``YYYYMMDDTHHMMSSZ``; the current UTC time when omitted (tests pin it).
    """
    stamp = amz_date or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    parts = urlsplit(url)
    out = {k: v for k, v in headers.items() if k.lower() not in {"x-amz-date", "authorization"}}
    out["X-Amz-Date"] = stamp
    if credentials.token:
        out["X-Amz-Security-Token"] = credentials.token
    if not any(k.lower() == "host" for k in out):
        out["host"] = _host(parts.scheme, parts.netloc)
    signed = {
        k.lower(): " ".join(str(v).split()) for k, v in out.items() if k.lower() not in _UNSIGNED
    }
    names = ";".join(sorted(signed))
    canonical = "\n".join(
        [
            method.upper(),
            quote(parts.path or "/", safe="/~"),
            _canonical_query(parts.query),
            "".join(f"{k}:{signed[k]}\n" for k in sorted(signed)),
            names,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{stamp[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = f"AWS4{credentials.secret_key}".encode()
    for part in (stamp[:8], region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    out["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={names}, Signature={signature}"
    )
    return out


def _host(scheme: str, netloc: str) -> str:
    # botocore drops the port when it is the scheme's default.
    default = {"https": ":443", "http": ":80"}.get(scheme, "")
    return netloc[: -len(default)] if default and netloc.endswith(default) else netloc


def _canonical_query(query: str) -> str:
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(pairs))


class Client:
    """Signed POSTs to one service over a kept-alive connection (one per process).

    Parameters
    ----------
    target:
        Endpoint, region and credentials (:func:`from_env`).
    timeout:
        Seconds to connect and to wait for the answer.
    """

    def __init__(self, target: Target, timeout: float = TIMEOUT_SECONDS) -> None:
        self.target = target
        self._timeout = timeout
        self._parts = urlsplit(target.endpoint)
        self._connection: http.client.HTTPConnection | None = None

    def post(self, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        """Send a signed POST to the endpoint's path; return ``(status, body)``.

        Retried once on a dropped connection (a kept-alive socket the far end
        closed) or a 5xx; what comes back then is the answer.
        """
        for attempt in (1, 2):
            signed = sign(
                "POST",
                self.target.endpoint,
                headers,
                body,
                service=self.target.service,
                region=self.target.region,
                credentials=self.target.credentials,
            )
            try:
                status, data = self._send(body, signed)
            except (OSError, http.client.HTTPException):
                self._close()
                if attempt == 2:
                    raise
                continue
            if status in _RETRIED_STATUS and attempt == 1:
                continue
            return status, data
        raise AssertionError("unreachable")

    def _send(self, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        if self._connection is None:
            kind = (
                http.client.HTTPSConnection
                if self._parts.scheme == "https"
                else http.client.HTTPConnection
            )
            self._connection = kind(self._parts.netloc, timeout=self._timeout)
        self._connection.request("POST", self._parts.path or "/", body=body, headers=headers)
        response = self._connection.getresponse()
        data = response.read()
        if response.will_close:
            self._close()
        return response.status, data

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class SnsClient:
    """SNS ``Publish`` (the query protocol), with boto3's argument and result shapes.

    Enough of boto3's SNS client for :class:`logthread.bus.SnsTaskBus`.
    """

    def __init__(self, target: Target, timeout: float = TIMEOUT_SECONDS) -> None:
        self._client = Client(target, timeout)

    def publish(
        self,
        *,
        TopicArn: str,  # boto3's argument names: SnsTaskBus takes either client
        Message: str,
        Subject: str = "",
        MessageAttributes: Mapping[str, Mapping[str, str]] | None = None,
    ) -> dict[str, Any]:
        """Publish; return ``{"MessageId": …}``. Raises :class:`AwsError` on a refusal."""
        params = {"Action": "Publish", "Version": "2010-03-31", "TopicArn": TopicArn}
        params["Message"] = Message
        if Subject:
            params["Subject"] = Subject
        for i, (name, value) in enumerate(sorted((MessageAttributes or {}).items()), 1):
            entry = f"MessageAttributes.entry.{i}"
            params[f"{entry}.Name"] = name
            params[f"{entry}.Value.DataType"] = value["DataType"]
            params[f"{entry}.Value.StringValue"] = value["StringValue"]
        body = "&".join(f"{k}={quote(v, safe='-_.~')}" for k, v in params.items()).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        status, data = self._client.post(body, headers)
        text = data.decode("utf-8", "replace")
        found = re.search(r"<MessageId>([^<]+)</MessageId>", text)
        if status != 200 or not found:
            code = re.search(r"<Code>([^<]+)</Code>", text)
            raise AwsError(
                f"SNS Publish failed ({status}): {text[:300]}", code[1] if code else "", status
            )
        return {"MessageId": found[1]}


def get_secret_string(target: Target, secret_id: str, timeout: float = 5.0) -> str:
    """Secrets Manager ``GetSecretValue`` (the JSON protocol); the ``SecretString``."""
    body = json.dumps({"SecretId": secret_id}).encode()
    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "secretsmanager.GetSecretValue",
    }
    status, data = Client(target, timeout).post(body, headers)
    try:
        answer = json.loads(data or b"{}")
    except ValueError:
        answer = {}
    if status != 200 or not isinstance(answer, dict) or "SecretString" not in answer:
        code = str(answer.get("__type", "")).rpartition("#")[2] if isinstance(answer, dict) else ""
        raise AwsError(f"GetSecretValue failed ({status}): {code or data[:200]!r}", code, status)
    return str(answer["SecretString"])
