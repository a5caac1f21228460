"""CloudWatch cross-account observability, emulated in front of moto (local stack and tests).

In AWS a *monitoring* account linked to *source* accounts (an OAM sink and links) reads the
source accounts' log groups by ARN. moto keeps every account in one server and picks one by
the ``x-moto-account-id`` request header, but knows nothing of links, and its Logs API takes
names where CloudWatch takes ARNs (its FilterLogEvents and StartQuery ignore
``logGroupIdentifier(s)``; its ARN look-up for GetLogEvents returns whichever group it met
last). :class:`LinkedLogsProxy` sits between the bot and moto and does what CloudWatch does:

- a Logs call naming a log group by ARN (``logGroupIdentifier``, ``logGroupIdentifiers``) is
  sent to the account in the ARN, with the ARN replaced by the name moto understands;
- ``DescribeLogGroups`` with ``includeLinkedAccounts`` (and ``accountIdentifiers``, or
  ``logGroupIdentifiers``) answers the monitoring account's groups and the linked ones', each
  with its ``logGroupArn``;
- ``StartQuery`` over groups of several accounts starts one moto query per account under one
  query id; ``GetQueryResults`` merges their rows (``@log`` as ``<account>:<name>``, as Logs
  Insights names a group), sorted and limited as the query says; ``StopQuery`` is answered;
- a call naming a group of an account that is not linked is refused with
  ``AccessDeniedException``, and a group a link does not share (outside its ``LogGroupName
  LIKE 'prefix%'`` filter) with ``ResourceNotFoundException``, before anything reaches moto; a
  listing (``accountIdentifiers``) answers nothing for an account that is not linked, the way
  a sink holds nothing of it.

Every other request (SNS, SQS, DynamoDB, CloudWatch, Logs calls without a cross-account
parameter) is forwarded unchanged. A request that carries ``x-moto-account-id`` itself (a
seed writing a source account's logs, :func:`logthread_local.aws.in_account`) acts as that
account. :attr:`LinkedLogsProxy.calls` records, for every Logs call, which account it reached
or why it was refused, so tests check that nothing was read from where it must not be.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from logthread_local.lambdas import ACCOUNT_ID, REGION

__all__ = ["ACCOUNT_HEADER", "LinkedLogsProxy", "LogsCall", "LogsError", "log_group_arn"]

ACCOUNT_HEADER = "x-moto-account-id"
LOGS_TARGET = "Logs_20140328."
JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
MAX_QUERY_GROUPS = 50  # StartQuery's logGroupIdentifiers
MAX_ACCOUNT_IDENTIFIERS = 20  # DescribeLogGroups' accountIdentifiers
NOT_LINKED = "not linked"  # the outcome of a listing that named an account not linked
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}
_ARN = re.compile(r"^arn:aws[\w-]*:logs:([\w-]+):(\d{12}):log-group:(.+?)(?::\*)?$")
# Operations that name one log group, by name or (in a monitoring account) by ARN.
_ONE_GROUP = {"FilterLogEvents", "GetLogEvents", "DescribeLogStreams", "GetLogGroupFields"}


def log_group_arn(account: str, name: str, region: str = REGION) -> str:
    """The ARN CloudWatch gives a log group (without the trailing ``:*``)."""
    return f"arn:aws:logs:{region}:{account}:log-group:{name}"


class LogsError(Exception):
    """A refusal, answered as CloudWatch Logs answers it (HTTP 400, JSON ``__type``)."""

    def __init__(self, kind: str, message: str, account: str = "", group: str = "") -> None:
        super().__init__(message)
        self.kind, self.message, self.account, self.group = kind, message, account, group


@dataclass(frozen=True, slots=True)
class LogsCall:
    """One Logs call as the proxy handled it.

    ``account`` is the account whose moto backend it reached (or, when refused, the account
    it named); ``outcome`` is ``ok``, or the error it was refused with.
    """

    operation: str
    account: str
    log_groups: tuple[str, ...] = ()
    outcome: str = "ok"


@dataclass(slots=True)
class _Query:
    parts: list[tuple[str, str]]  # (account, moto's query id)
    order: str  # "asc" | "desc" | "" (no sort by @timestamp)
    limit: int | None


class LinkedLogsProxy:
    """A threaded HTTP proxy on 127.0.0.1 that emulates cross-account observability.

    Parameters
    ----------
    upstream:
        The moto server's URL.
    monitoring:
        The monitoring account (requests without ``x-moto-account-id`` act as it).
    linked:
        Source accounts linked to it: an account id, or ``(account, prefixes)`` where
        ``prefixes`` are the link's log group name filter (empty: every group is shared).
    """

    def __init__(
        self,
        upstream: str,
        *,
        monitoring: str = ACCOUNT_ID,
        linked: Iterable[str | tuple[str, Iterable[str]]] = (),
        region: str = REGION,
    ) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.monitoring, self.region = monitoring, region
        self._lock = threading.Lock()
        self._links: dict[str, tuple[str, ...]] = {}
        self._queries: dict[str, _Query] = {}
        self.calls: list[LogsCall] = []
        for entry in linked:
            account, prefixes = (entry, ()) if isinstance(entry, str) else entry
            self.link(account, prefixes)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                proxy._serve(self)

            do_GET = do_PUT = do_DELETE = do_HEAD = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that hung up mid-answer (a test that ended) is no news

        self._server = Server(("127.0.0.1", 0), Handler)

    # -- lifecycle and links ------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LinkedLogsProxy:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LinkedLogsProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def link(self, account: str, prefixes: Iterable[str] = ()) -> None:
        """Link ``account`` (sharing the groups whose names start with one of ``prefixes``)."""
        with self._lock:
            self._links[account] = tuple(prefixes)

    def unlink(self, account: str) -> None:
        with self._lock:
            self._links.pop(account, None)

    @property
    def linked(self) -> list[str]:
        with self._lock:
            return list(self._links)

    # -- what happened ------------------------------------------------------------------------

    def reached(self, operation: str | None = None) -> list[str]:
        """The account each Logs call (of ``operation``) reached, in order; refusals left out."""
        with self._lock:
            return [
                c.account
                for c in self.calls
                if c.outcome == "ok" and (operation is None or c.operation == operation)
            ]

    def refused(self) -> list[LogsCall]:
        with self._lock:
            return [c for c in self.calls if c.outcome != "ok"]

    def clear(self) -> None:
        """Forget the request log."""
        with self._lock:
            self.calls.clear()

    def _record(self, call: LogsCall) -> None:
        with self._lock:
            self.calls.append(call)

    # -- resolving names and ARNs -------------------------------------------------------------

    def resolve(self, identifier: str, caller: str, operation: str) -> tuple[str, str]:
        """``(account, name)`` of a log group named by name or ARN, or :class:`LogsError`."""
        match = _ARN.match(identifier)
        if match is None:
            return caller, identifier
        region, account, name = match.groups()
        if region != self.region:
            raise LogsError(
                "ResourceNotFoundException", "The specified log group does not exist.", account
            )
        if account == caller:
            return account, name
        with self._lock:
            prefixes = self._links.get(account) if caller == self.monitoring else None
        if prefixes is None:
            raise LogsError(
                "AccessDeniedException",
                f"User is not authorized to perform: logs:{operation} on resource: "
                f"{log_group_arn(account, name, region)} because no resource-based policy "
                f"allows the logs:{operation} action",
                account,
                name,
            )
        if prefixes and not name.startswith(prefixes):
            raise LogsError(
                "ResourceNotFoundException", "The specified log group does not exist.", account
            )
        return account, name

    def _visible(self, caller: str, accounts: list[str] | None) -> list[str]:
        """The accounts a DescribeLogGroups with ``includeLinkedAccounts`` reads."""
        if caller != self.monitoring:
            return [caller]
        with self._lock:
            links = dict(self._links)
        if not accounts:
            return [caller, *links]
        if len(accounts) > MAX_ACCOUNT_IDENTIFIERS:
            raise LogsError("InvalidParameterException", "accountIdentifiers: at most 20")
        visible = []
        for account in dict.fromkeys(accounts):
            if account == caller or account in links:
                visible.append(account)
            else:  # CloudWatch lists what the sink receives: nothing from an unlinked account
                self._record(LogsCall("DescribeLogGroups", account, (), NOT_LINKED))
        return visible

    # -- serving ------------------------------------------------------------------------------

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("content-length") or 0)
        body = request.rfile.read(length) if length else b""
        target = request.headers.get("x-amz-target", "")
        if not target.startswith(LOGS_TARGET):
            self._relay(request, *self._forward(request, body))
            return
        operation = target[len(LOGS_TARGET) :]
        caller = request.headers.get(ACCOUNT_HEADER) or self.monitoring
        try:
            params = json.loads(body or b"{}")
            answer = self._logs(request, operation, caller, params, body)
        except LogsError as exc:
            self._record(LogsCall(operation, exc.account or caller, (exc.group,), exc.kind))
            self._answer(request, 400, {"__type": exc.kind, "message": exc.message})
            return
        self._relay(request, *answer)

    def _logs(
        self, request: BaseHTTPRequestHandler, operation: str, caller: str, params: Any, raw: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        if operation in _ONE_GROUP and params.get("logGroupIdentifier"):
            if params.get("logGroupName"):
                raise LogsError(
                    "InvalidParameterException",
                    "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
                )
            account, name = self.resolve(params.pop("logGroupIdentifier"), caller, operation)
            params["logGroupName"] = name
            return self._call(request, operation, account, params, (name,))
        if operation == "StartQuery":
            return self._start_query(request, caller, params)
        if operation in ("GetQueryResults", "StopQuery") and params.get("queryId") in self._queries:
            return self._query_answer(request, operation, params["queryId"])
        if operation == "StopQuery":
            return self._json(200, {"success": True})  # moto has no StopQuery
        if operation == "DescribeLogGroups" and (
            params.get("includeLinkedAccounts") or params.get("logGroupIdentifiers")
        ):
            return self._describe_linked(request, caller, params)
        group = params.get("logGroupName") if isinstance(params, dict) else None
        self._record(LogsCall(operation, caller, (group,) if group else ()))
        return self._forward(request, raw, caller)

    def _call(
        self,
        request: BaseHTTPRequestHandler,
        operation: str,
        account: str,
        params: dict[str, Any],
        groups: tuple[str, ...],
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        answer = self._forward(request, json.dumps(params).encode(), account, operation)
        self._record(LogsCall(operation, account, groups, "ok" if answer[0] == 200 else "error"))
        return answer

    def _internal(
        self, request: BaseHTTPRequestHandler, operation: str, account: str, params: dict[str, Any]
    ) -> Any:
        """One call to moto made by the proxy itself; its JSON answer, or :class:`LogsError`."""
        status, _, payload = self._forward(request, json.dumps(params).encode(), account, operation)
        data = json.loads(payload or b"{}")
        if status != 200:
            kind = str(data.get("__type", "ServiceUnavailableException")).rpartition("#")[2]
            raise LogsError(kind, str(data.get("message", "")), account)
        return data

    # -- StartQuery / GetQueryResults / StopQuery across accounts -----------------------------

    def _start_query(
        self, request: BaseHTTPRequestHandler, caller: str, params: dict[str, Any]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        given = [k for k in ("logGroupName", "logGroupNames", "logGroupIdentifiers") if k in params]
        if len(given) > 1:
            raise LogsError(
                "InvalidParameterException",
                "Only one of logGroupName, logGroupNames or logGroupIdentifiers may be given",
            )
        names = params.pop(given[0]) if given else []
        identifiers = [names] if isinstance(names, str) else list(names)
        if len(identifiers) > MAX_QUERY_GROUPS:
            raise LogsError("InvalidParameterException", "At most 50 log groups per query")
        by_account: dict[str, list[str]] = {}
        for identifier in identifiers:  # every group checked before any query starts
            account, name = self.resolve(identifier, caller, "StartQuery")
            by_account.setdefault(account, []).append(name)
        text = str(params.get("queryString", ""))
        sort = re.search(r"\|\s*sort\s+@timestamp(?:\s+(asc|desc))?", text)
        limit = re.search(r"\|\s*limit\s+(\d+)", text)
        query = _Query(
            [],
            (sort.group(1) or "desc") if sort else "",
            int(params["limit"]) if params.get("limit") else int(limit.group(1)) if limit else None,
        )
        for account, group_names in by_account.items():
            started = self._internal(
                request, "StartQuery", account, {**params, "logGroupNames": group_names}
            )
            self._record(LogsCall("StartQuery", account, tuple(group_names)))
            query.parts.append((account, str(started["queryId"])))
        query_id = str(uuid.uuid4())
        with self._lock:
            self._queries[query_id] = query
        return self._json(200, {"queryId": query_id})

    def _query_answer(
        self, request: BaseHTTPRequestHandler, operation: str, query_id: str
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        query = self._queries[query_id]
        if operation == "StopQuery":
            for account, _ in query.parts:
                self._record(LogsCall("StopQuery", account))
            return self._json(200, {"success": True})
        rows: list[list[dict[str, str]]] = []
        statuses: set[str] = set()
        stats: dict[str, float] = {}
        for account, part_id in query.parts:
            data = self._internal(request, operation, account, {"queryId": part_id})
            self._record(LogsCall(operation, account))
            statuses.add(str(data.get("status", "Complete")))
            for key, value in (data.get("statistics") or {}).items():
                stats[key] = stats.get(key, 0.0) + float(value)
            rows.extend(_named_row(row, account) for row in data.get("results", []))
        if query.order:
            rows.sort(key=_row_time, reverse=query.order == "desc")
        if query.limit is not None:
            rows = rows[: query.limit]
        status = next((s for s in ("Running", "Failed", "Cancelled") if s in statuses), "Complete")
        return self._json(200, {"results": rows, "status": status, "statistics": stats})

    # -- DescribeLogGroups with linked accounts ------------------------------------------------

    def _describe_linked(
        self, request: BaseHTTPRequestHandler, caller: str, params: dict[str, Any]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        wanted: set[tuple[str, str]] | None = None
        if params.get("logGroupIdentifiers"):
            wanted = {
                self.resolve(i, caller, "DescribeLogGroups") for i in params["logGroupIdentifiers"]
            }
            accounts = sorted({account for account, _ in wanted})
        elif params.get("includeLinkedAccounts"):
            accounts = self._visible(caller, params.get("accountIdentifiers"))
        else:
            accounts = [caller]
        prefix = params.get("logGroupNamePrefix")
        pattern = params.get("logGroupNamePattern")
        groups: list[dict[str, Any]] = []
        for account in accounts:
            with self._lock:
                shared = self._links.get(account, ()) if account != caller else ()
            token = None
            names: list[str] = []
            while True:
                page_params: dict[str, Any] = {"limit": 50}
                if prefix:
                    page_params["logGroupNamePrefix"] = prefix
                if token:
                    page_params["nextToken"] = token
                page = self._internal(request, "DescribeLogGroups", account, page_params)
                for group in page.get("logGroups", []):
                    name = str(group["logGroupName"])
                    if shared and not name.startswith(shared):
                        continue
                    if pattern and pattern not in name:
                        continue
                    if wanted is not None and (account, name) not in wanted:
                        continue
                    groups.append(group)
                    names.append(name)
                token = page.get("nextToken")
                if not token:
                    break
            self._record(LogsCall("DescribeLogGroups", account, tuple(names)))
        groups.sort(key=lambda g: (g["logGroupName"], g.get("logGroupArn", "")))
        start = int(str(params.get("nextToken") or "0").removeprefix("linked-"))
        limit = int(params.get("limit") or 50)
        answer: dict[str, Any] = {"logGroups": groups[start : start + limit]}
        if start + limit < len(groups):
            answer["nextToken"] = f"linked-{start + limit}"
        return self._json(200, answer)

    # -- HTTP ---------------------------------------------------------------------------------

    def _forward(
        self,
        request: BaseHTTPRequestHandler,
        body: bytes,
        account: str | None = None,
        operation: str | None = None,
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(*self._upstream, timeout=60)
        try:
            headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
            headers["Host"] = f"{self._upstream[0]}:{self._upstream[1]}"
            headers["Content-Length"] = str(len(body))
            if account is not None:
                headers = {k: v for k, v in headers.items() if k.lower() != ACCOUNT_HEADER}
                headers[ACCOUNT_HEADER] = account
            if operation is not None:
                headers = {k: v for k, v in headers.items() if k.lower() != "x-amz-target"}
                headers["X-Amz-Target"] = LOGS_TARGET + operation
            conn.request(request.command, request.path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()

    @staticmethod
    def _json(status: int, body: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        headers = [("Content-Type", JSON_CONTENT_TYPE), ("x-amzn-RequestId", str(uuid.uuid4()))]
        return status, headers, json.dumps(body).encode()

    def _answer(self, request: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        self._relay(request, *self._json(status, body))

    @staticmethod
    def _relay(
        request: BaseHTTPRequestHandler, status: int, headers: list[tuple[str, str]], payload: bytes
    ) -> None:
        request.send_response(status)
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP:
                request.send_header(name, value)
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)


def _named_row(row: list[dict[str, str]], account: str) -> list[dict[str, str]]:
    """A result row with ``@log`` as Logs Insights writes it: ``<account>:<name>``."""
    return [
        {**f, "value": f"{account}:{f.get('value', '')}"} if f.get("field") == "@log" else f
        for f in row
    ]


def _row_time(row: list[dict[str, str]]) -> str:
    stamp = next((f.get("value", "") for f in row if f.get("field") == "@timestamp"), "")
    # moto writes epoch milliseconds, CloudWatch "YYYY-MM-DD hh:mm:ss.mmm": both sort as text
    # once the digits are padded.
    return stamp.zfill(24) if stamp.isdigit() else stamp
