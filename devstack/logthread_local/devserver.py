"""``logthread dev``: the local stack kept running, and a web page that shows it as Slack would.

The page (static/, vanilla JS, no build step) polls ``/api/state`` for the stand-in's
channels and threads and renders their Block Kit. What a person does on it goes
through this server, which acts as Slack does: a typed slash command or a button
click is built into Slack's request, signed with the app's signing secret and
POSTed to the local ingress URL. The secret never reaches the browser, and a
click names only the message and the button: the payload is built from the
message the stand-in holds, so the page cannot send what Slack would not.

With ``--slack-token`` and ``--signing-secret`` the worker posts to that real
workspace instead, and the ingress URL printed at start is the one to expose
through a tunnel as the app's request URL.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import sys
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from logthread_local import second_account, seed, story
from logthread_local.slackreq import USER, buttons
from logthread_local.stack import LocalStack

STATIC = Path(__file__).resolve().parent / "static"
CHANNEL_NAMES = {"C0ALERTS": "alerts"}
_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
MAX_BODY = 5 * 1024 * 1024  # a pasted log file; more belongs in a real log group


class BadRequest(ValueError):
    """The page asked for something that can't be done; the message says why."""


class DevApp:
    """What the page can read and do, on a started :class:`LocalStack`."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self._lock = threading.Lock()
        self.notes: list[dict[str, Any]] = []  # what happened outside Slack (logs added, alarms)

    def note(self, kind: str, text: str) -> None:
        with self._lock:
            self.notes.append({"kind": kind, "text": text})

    def state(self) -> dict[str, Any]:
        """Everything the page shows: mode, channels with threads, ephemerals, fixtures."""
        slack = self.stack.slack
        channels: dict[str, Any] = {}
        ephemerals: list[dict[str, Any]] = []
        if slack is not None:
            for cid, messages in slack.conversation().items():
                channels[cid] = {"name": CHANNEL_NAMES.get(cid, cid), "messages": messages}
            ephemerals = slack.ephemerals()
        default = self.stack.default_channel
        channels.setdefault(default, {"name": CHANNEL_NAMES.get(default, default), "messages": []})
        with self._lock:
            notes = list(self.notes)
        return {
            "mode": "slack" if self.stack.real_slack else "standin",
            "ingress_url": self.stack.ingress_url,
            "aws_endpoint": self.stack.aws_endpoint,
            "default_channel": default,
            "user": USER,
            "channels": channels,
            "ephemerals": ephemerals,
            "fixtures": sorted(story.fixture_log_files()),
            # The monitoring account the bot runs in, and the source accounts linked to it.
            "accounts": {
                "monitoring": story.MONITORING_ACCOUNT,
                "linked": [
                    {"id": a, "name": self.account_names.get(a, "")}
                    for a in self.stack.linked_accounts
                ],
            },
            "notes": notes,
            "deliveries": [
                {
                    "topic": d.topic,
                    "done": d.done,
                    "error": d.problem,
                }
                for d in list(self.stack.deliveries)
            ],
        }

    def command(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Type a slash command (``/logsearch 12345678``) in a channel."""
        if self.stack.slack is None:
            raise BadRequest("on a real workspace, type the command in Slack itself")
        text = str(data.get("text", "")).strip()
        command, _, rest = text.partition(" ")
        if not command.startswith("/"):
            command, rest = "/logsearch", text
        channel = str(data.get("channel") or self.stack.default_channel)
        response = self.stack.slash_command(
            rest.strip(), command=command, channel_id=channel,
            channel_name=CHANNEL_NAMES.get(channel, channel),
        )  # fmt: skip
        return _answer(response)

    def _message(self, data: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """The stand-in's message ``ts`` in ``channel`` (a parent, or a reply in ``thread_ts``)."""
        slack = self.stack.slack
        if slack is None:
            raise BadRequest("on a real workspace, use the message in Slack itself")
        channel, ts = str(data.get("channel", "")), str(data.get("ts", ""))
        message = next((m for m in slack.thread(channel, ts) if m["ts"] == ts), None)
        if message is None:
            thread_ts = str(data.get("thread_ts", ""))
            message = next((m for m in slack.thread(channel, thread_ts) if m["ts"] == ts), None)
        if message is None:
            raise BadRequest(f"no message {ts} in {channel}")
        return channel, message

    def shortcut(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Use the "Find logs" message shortcut on message ``ts`` in ``channel``."""
        from logthread.shortcut import CALLBACK_ID

        channel, message = self._message(data)
        response = self.stack.shortcut(
            message, CALLBACK_ID, channel_id=channel,
            channel_name=CHANNEL_NAMES.get(channel, channel),
        )  # fmt: skip
        return _answer(response)

    def click(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Click the button ``action_id`` (``index``-th such) of message ``ts`` in ``channel``."""
        channel, message = self._message(data)
        ts = message["ts"]
        matching = [b for b in buttons(message) if b.get("action_id") == data.get("action_id")]
        index = int(data.get("index") or 0)
        if not 0 <= index < len(matching):
            raise BadRequest(f"no button {data.get('action_id')!r} on message {ts}")
        response = self.stack.click(
            message, matching[index], channel_id=channel,
            channel_name=CHANNEL_NAMES.get(channel, channel),
        )  # fmt: skip
        return _answer(response)

    def add_logs(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Add log lines: a fixture by name, pasted text to a log group, or a second kind
        of error in HogeService (``second_kind``), for a follow-up to find.
        """
        if data.get("second_kind"):
            lines = story.second_kind_failures()
            stream = self.stack.put_log_lines(story.LOG_GROUP, lines)
            self.note("logs", f"requests failing with {story.SECOND_KIND} in {story.LOG_GROUP}")
            return {"ok": True, "log_group": story.LOG_GROUP, "log_stream": stream}
        if data.get("fixture"):
            files = story.fixture_log_files()
            name = str(data["fixture"])
            if name not in files:
                raise BadRequest(f"no log fixture {name!r}")
            if files[name].suffix == ".json":  # the seed's format: groups, streams, times
                seeded = seed.seed(self.stack.client("logs"), files=[files[name]])
                count = sum(g["events"] for g in seeded["log_groups"].values())
                groups = ", ".join(sorted(seeded["log_groups"]))
                self.note("logs", f"{count} events from {name} added to {groups}")
                return {"ok": True, "log_groups": sorted(seeded["log_groups"]), "lines": count}
            text = files[name].read_text(encoding="utf-8")
            group = str(data.get("log_group") or story.LOG_GROUP)
        else:
            text = str(data.get("text", ""))
            group = str(data.get("log_group") or story.LOG_GROUP)
        if not group.startswith("/") or len(group) > 512:
            raise BadRequest("log_group must be a log group name such as /aws/lambda/HogeService")
        lines = story.lines_from_text(text)
        if not lines:
            raise BadRequest("no log lines to add")
        stream = self.stack.put_log_lines(group, lines)
        self.note("logs", f"{len(lines)} lines added to {group} ({stream})")
        return {"ok": True, "log_group": group, "log_stream": stream, "lines": len(lines)}

    @property
    def account_names(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in dict(self.stack.config.get("accounts") or {}).items()}

    def alarm(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Fire a Lambda Errors alarm (``state`` ALARM, OK...) for ``function``.

        ``with_failure`` first writes a new failing request to the function's log
        group, so the alarm's window has something to find whenever it fires.
        ``account`` (a linked source account) fires PaymentService's alarm there instead.
        """
        if data.get("account"):
            return self.linked_alarm(data)
        function = str(data.get("function") or story.FUNCTION)
        state = str(data.get("state") or "ALARM")
        if state not in {"ALARM", "OK", "INSUFFICIENT_DATA"}:
            raise BadRequest("state must be ALARM, OK or INSUFFICIENT_DATA")
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", function):
            raise BadRequest("function must be a Lambda function name")
        request_id = ""
        if data.get("with_failure"):
            request_id, lines = story.fresh_failure()
            group = f"/aws/lambda/{function}"
            self.stack.put_log_lines(group, lines)
            self.note("logs", f"request {request_id} failed in {group}")
        message, subject = story.lambda_errors_alarm(state=state, function=function)
        message_id = self.stack.publish_alarm(message, subject)
        self.note("alarm", f"published to the alarm topic: {subject}")
        return {"ok": True, "message_id": message_id, "subject": subject, "request_id": request_id}

    def linked_alarm(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """PaymentService's alarm in the linked payments account: the monitoring account's
        alarm on its metric (``via`` "metric"), or its own alarm as EventBridge forwards it
        (``via`` "eventbridge")."""
        account = str(data.get("account"))
        if account != story.SOURCE_ACCOUNT or account not in self.stack.linked_accounts:
            raise BadRequest(f"account must be the linked source account {story.SOURCE_ACCOUNT}")
        state = str(data.get("state") or "ALARM")
        if state not in {"ALARM", "OK"}:
            raise BadRequest("state must be ALARM or OK")
        via = str(data.get("via") or "metric")
        if via not in {"metric", "eventbridge"}:
            raise BadRequest("via must be metric or eventbridge")
        fired = second_account.fire(
            self.stack, via=via, state=state, with_failure=bool(data.get("with_failure"))
        )
        if fired.request_id:
            self.note("logs", f"request {fired.request_id} failed in {fired.log_group}")
        self.note("alarm", f"published to the alarm topic: {fired.subject}")
        return {
            "ok": True,
            "message_id": fired.message_id,
            "subject": fired.subject,
            "request_id": fired.request_id,
        }

    def start_story(self) -> None:
        """The seed's story: every log fixture loaded, then HogeService's alarm fires."""
        seeded = story.seed_logs(self.stack.client("logs"))
        count = sum(g["events"] for g in seeded["log_groups"].values())
        self.note("logs", f"{count} fixture events loaded in {len(seeded['log_groups'])} groups")
        if story.SOURCE_ACCOUNT in self.stack.linked_accounts:
            source = self.stack.client("logs", account=story.SOURCE_ACCOUNT)
            linked = story.seed_source_account(source)
            count = sum(g["events"] for g in linked["log_groups"].values())
            self.note("logs", f"{count} events loaded in the payments account's PaymentService")
        self.alarm({})

    def file(self, file_id: str) -> bytes:
        if self.stack.slack is None:
            raise BadRequest("no files on a real workspace")
        try:
            content = self.stack.slack.file(file_id).get("content")
        except KeyError:
            raise BadRequest(f"no file {file_id}") from None
        return content if isinstance(content, bytes) else b""


PNG = b"\x89PNG\r\n\x1a\n"


def _answer(response: Mapping[str, Any]) -> dict[str, Any]:
    """The ingress's HTTP answer, with its JSON body decoded when it has one."""
    body: Any = response["body"]
    with contextlib.suppress(json.JSONDecodeError):
        body = json.loads(body) if body else None
    return {"status": response["statusCode"], "body": body}


def make_server(app: DevApp, port: int = 0) -> ThreadingHTTPServer:
    """The page's HTTP server on 127.0.0.1 (``port`` 0 = a free one)."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "logthread-dev"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the page polls every second; an access log would drown the terminal

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path == "/api/state":
                self._json(200, app.state())
            elif path.startswith("/api/file/"):
                try:
                    content = app.file(path.rsplit("/", 1)[1])
                    # The alarm graph is a PNG; every other file the bot uploads is text.
                    kind = "image/png" if content.startswith(PNG) else "text/plain; charset=utf-8"
                    self._send(200, kind, content)
                except BadRequest as exc:
                    self._json(404, {"error": str(exc)})
            elif path in ("/", "/index.html"):
                self._static("index.html")
            elif path.startswith("/static/"):
                self._static(path.removeprefix("/static/"))
            else:
                self._json(404, {"error": "not found"})

        def do_POST(self) -> None:
            routes = {
                "/api/command": app.command,
                "/api/click": app.click,
                "/api/shortcut": app.shortcut,
                "/api/logs": app.add_logs,
                "/api/alarm": app.alarm,
            }
            action = routes.get(urlsplit(self.path).path)
            if action is None:
                self._json(404, {"error": "not found"})
                return
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY:
                self._json(413, {"error": "too large"})
                return
            try:
                data = json.loads(self.rfile.read(length) or b"{}")
                if not isinstance(data, dict):
                    raise BadRequest("send a JSON object")
                self._json(200, action(data))
            except (BadRequest, json.JSONDecodeError) as exc:
                self._json(400, {"error": str(exc)})

        def _static(self, name: str) -> None:
            path = (STATIC / name).resolve()
            if STATIC.resolve() not in path.parents or not path.is_file():
                self._json(404, {"error": "not found"})
                return
            ctype = _TYPES.get(path.suffix, "application/octet-stream")
            self._send(200, f"{ctype}; charset=utf-8", path.read_bytes())

        def _json(self, status: int, data: Any) -> None:
            self._send(status, "application/json", json.dumps(data, default=str).encode())

        def _send(self, status: int, ctype: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("content-type", ctype)
            self.send_header("content-length", str(len(body)))
            self.send_header("cache-control", "no-store")
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server


class DevServer:
    """The page's server on its own thread; a context manager like the stack."""

    def __init__(self, stack: LocalStack, port: int = 0) -> None:
        self.app = DevApp(stack)
        self._server = make_server(self.app, port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="devserver", daemon=True
        )
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"

    def __enter__(self) -> DevServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def run(
    *,
    port: int = 0,
    slack_token: str = "",
    signing_secret: str = "",
    channel: str = "",
    config_path: str = "",
    empty: bool = False,
    verbose: bool = False,
) -> int:
    """Start the stack and the page; run until Ctrl-C (or SIGTERM). Returns the exit status.

    Parameters
    ----------
    port:
        The page's port (0: a free one).
    slack_token, signing_secret, channel:
        A real workspace's bot token and app signing secret, and the channel for
        alarms there; all three or none (then the stand-in serves).
    config_path:
        A logthread config file, validated before anything starts.
    empty:
        Start without the seed's logs and alarm.
    verbose:
        Let the functions' Powertools logs through to the terminal.
    """
    if slack_token and not (signing_secret and channel):
        print("logthread dev: with --slack-token, give --signing-secret and --channel too",
              file=sys.stderr)  # fmt: skip
        return 2
    config: dict[str, Any] | None = None
    if config_path:
        from logthread import config as core_config

        path = Path(config_path)
        try:
            document = core_config.parse_document(path.read_text(encoding="utf-8"), str(path))
            core_config.from_mapping(document)  # refuse a bad file now, naming the bad key
        except (OSError, core_config.ConfigError) as exc:
            print(f"logthread dev: {exc}", file=sys.stderr)
            return 2
        # An explicit --channel wins over the file's default channel.
        channel = channel or str(document.get("default_channel") or "")
        config = {**document, "default_channel": channel or "C0ALERTS"}
    # Follow-ups in compressed time (every 3 s), unless the document says otherwise. Without
    # a document, the bot may read the linked payments account (a second AWS account).
    config = config or {"default_channel": channel or "C0ALERTS", **story.linked_config()}
    config["limits"] = {**story.FOLLOW_UPS, **dict(config.get("limits") or {})}
    stop = threading.Event()
    with contextlib.suppress(ValueError):  # only the main thread may set handlers
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with (
        LocalStack(
            slack_token=slack_token,
            signing_secret=signing_secret,
            default_channel=channel or "C0ALERTS",
            config=config,
            quiet=not verbose,
            linked_accounts=[story.SOURCE_ACCOUNT],
        ) as stack,
        DevServer(stack, port) as dev,
    ):
        print(f"logthread dev: {dev.url}", flush=True)
        print(f"  ingress (Slack request URL): {stack.ingress_url}")
        print(f"  AWS (moto):                  {stack.aws_endpoint}")
        if stack.real_slack:
            print("  Slack: your workspace. Expose the ingress with a tunnel and set the app's")
            print("  request URL to <tunnel>/slack/events for /logsearch and the buttons.")
        else:
            print(f"  Slack stand-in:              {stack.slack_api_url}")
            if not empty:
                dev.app.start_story()
        print("Ctrl-C to stop.", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    print("stopped", file=sys.stderr)
    return 0
