"""The ``logthread`` command line.

``logthread search REQUEST_ID [-f FUNCTION]... [-g LOG_GROUP]... [--since 2h | --start T --end T]
[--context N] [--json]`` prints a request's whole log story as a timeline.
``logthread replay [--dry-run]`` posts the Slack dead letters again
(:mod:`logthread.replaycmd`); ``logthread redrive [--list | --dry-run]`` hands the
worker's dead-letter queue back to the worker (:mod:`logthread.redrivecmd`).

Exit codes (for scripts)::

    0  found: at least one line of the request
    1  not found (nothing matched in the groups and window searched)
    2  error: bad usage, an id that cannot be searched safely, AWS refused or unreachable

A partial result (deadline reached, a group refused) still exits 0 when lines
were found; the reason is printed on stderr (and is in ``--json``).

AWS is reached with the standard credential chain (environment, profile, SSO,
instance role) and honours ``AWS_ENDPOINT_URL`` (e.g. a local moto server).
Colour is used only when stdout is a terminal and ``NO_COLOR`` is not set.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from logthread import __version__
from logthread.ids import InvalidRequestId, validate_request_id
from logthread.loggroups import group_label
from logthread.query import SearchQuery, SearchResult
from logthread.records import LogRecord
from logthread.redrivecmd import add_redrive_command
from logthread.replaycmd import add_replay_command
from logthread.window import explicit_window, since_window

EXIT_FOUND = 0
EXIT_NOT_FOUND = 1
EXIT_ERROR = 2

_COLORS = {
    "ERROR": "\033[1;31m",
    "FATAL": "\033[1;31m",
    "CRITICAL": "\033[1;31m",
    "WARN": "\033[33m",
    "DEBUG": "\033[2m",
    "TRACE": "\033[2m",
    "PLATFORM": "\033[36m",
}
_DIM, _BOLD, _RESET = "\033[2m", "\033[1m", "\033[0m"


def use_color(stream: TextIO, choice: str = "auto") -> bool:
    """Colour on a terminal only, never with ``NO_COLOR`` set (unless forced)."""
    if choice in ("always", "never"):
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _utc(ms: int, fmt: str) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime(fmt)


def _label(r: LogRecord) -> tuple[str, str]:
    """The level column and the message, without repeating START/END/REPORT."""
    if r.kind in ("start", "end", "report"):
        word = r.kind.upper()
        return word, r.message.removeprefix(word).lstrip()
    return r.level or "-", r.message


def render_text(result: SearchResult, *, color: bool = False) -> str:
    """The timeline as terminal text: group and stream headers, relative and UTC times.

    Context lines are marked with ``·``; lines between START and REPORT that
    carry no id are the request's own untagged output.
    """

    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if color and code else text

    if not result.records:
        return ""
    own = [r for r in result.records if not r.context] or result.records
    origin = own[0].timestamp
    ids = result.request_ids or [result.query.request_id]
    groups = sorted({r.log_group for r in result.records})
    count = len(own) + result.omitted_lines
    head = (
        f"{', '.join(ids)} · {count} line{'s' if count != 1 else ''}"
        f" · {result.error_count} error{'s' if result.error_count != 1 else ''}"
        f" · {len(groups)} log group{'s' if len(groups) != 1 else ''}"
        f" · {_utc(origin, '%Y-%m-%d %H:%M:%S')} UTC"
    )
    lines = [paint(head, _BOLD)]
    where = ("", "")
    for index, r in enumerate(result.records):
        if index == result.omitted_at and result.omitted_lines:
            lines.append(paint(f"  … {result.omitted_lines} more lines not shown …", _DIM))
            where = ("", "")
        if (r.log_group, r.log_stream) != where:
            where = (r.log_group, r.log_stream)
            lines.append("")
            # A source account's group (an ARN) as "<account> <name>", the own one as before.
            lines.append(paint(f"{group_label(r.log_group)}  {r.log_stream}", _BOLD))
        delta = (r.timestamp - origin) / 1000
        gutter = "·" if r.context else " "
        label, message = _label(r)
        message_lines = message.splitlines() or [""]
        prefix = (
            f"{gutter} {delta:+9.3f}s  {_utc(r.timestamp, '%H:%M:%S')}.{r.timestamp % 1000:03d}  "
        )
        code = _DIM if r.context else _COLORS.get(r.level, "")
        lines.append(paint(prefix, _DIM) + paint(f"{label:<8} {message_lines[0]}", code))
        pad = " " * (len(prefix) + 9)
        lines.extend(paint(pad + more, code) for more in message_lines[1:])
    if result.omitted_at >= len(result.records) and result.omitted_lines:
        lines.append(paint(f"  … {result.omitted_lines} more lines not shown …", _DIM))
    return "\n".join(lines) + "\n"


def summary_text(result: SearchResult) -> str:
    """One line: where and when it searched, by which path, at what cost."""
    calls = ", ".join(f"{k} {v}" for k, v in result.api_calls.items()) or "none"
    n = len(result.log_groups_searched)
    window = ""
    if result.window is not None:
        fmt = "%Y-%m-%d %H:%M"
        window = f", {_utc(result.window.start_ms, fmt)} → {_utc(result.window.end_ms, fmt)} UTC"
    return f"searched {n} log group{'s' if n != 1 else ''} ({result.path}{window}) · API calls: {calls}"


class _Progress:
    """A single self-erasing status line on stderr (only on a terminal)."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream, self.enabled = stream, enabled
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._shown = False

    def update(self, message: str) -> None:
        if not self.enabled:
            return
        with self._lock:
            elapsed = time.monotonic() - self._started
            self.stream.write(f"\r\033[K searching… {elapsed:4.1f}s  {message}"[:200])
            self.stream.flush()
            self._shown = True

    def clear(self) -> None:
        with self._lock:
            if self._shown:
                self.stream.write("\r\033[K")
                self.stream.flush()
                self._shown = False


def _error(message: str) -> int:
    print(f"logthread: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def _aws_message(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return f"AWS refused: {err.get('Code', 'error')}: {err.get('Message', exc)}"
    return f"AWS: {exc}"


def run_search(args: argparse.Namespace, *, logs: Any = None) -> int:
    """``logthread search``: the handler behind the subcommand."""
    from logthread import aws
    from logthread.search import SearchError, search

    now = int(time.time() * 1000)
    try:
        validate_request_id(args.request_id)
        window = None
        if args.since:
            window = since_window(args.since, now)
        elif args.start:
            window = explicit_window(args.start, args.end, now)
        elif args.end:
            return _error("--end needs --start")
        query = SearchQuery(
            request_id=args.request_id,
            functions=tuple(args.function or ()),
            log_groups=tuple(args.log_group or ()),
            window=window,
            context_lines=args.context,
            max_lines=args.max_lines,
            deadline_seconds=args.deadline,
            lookback_days=args.days,
            strategy=args.path,
        )
    except (InvalidRequestId, ValueError) as exc:
        return _error(str(exc))

    progress = _Progress(sys.stderr, enabled=not args.quiet and sys.stderr.isatty())
    try:
        client = logs if logs is not None else aws.client("logs", region_name=args.region)
        result = search(client, query, on_progress=progress.update)
    except (InvalidRequestId, ValueError) as exc:
        return _error(str(exc))
    except SearchError as exc:
        return _error(f"nothing could be searched: {exc}")
    except (BotoCoreError, ClientError) as exc:
        return _error(_aws_message(exc))
    finally:
        progress.clear()

    if result.missing_log_groups:
        names = ", ".join(result.missing_log_groups)
        print(f"logthread: warning: no such log group: {names}", file=sys.stderr)
    if result.partial:
        print(f"logthread: warning: partial result ({result.partial_reason})", file=sys.stderr)
    if args.json:
        json.dump(result.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif result.found:
        color = use_color(sys.stdout, args.color)
        sys.stdout.write(render_text(result, color=color))
        sys.stdout.write(
            "\n"
            + (f"{_DIM}{summary_text(result)}{_RESET}" if color else summary_text(result))
            + "\n"
        )
    if not result.found:
        where = ", ".join(result.log_groups_searched) or "no log group"
        print(f"logthread: no log lines for {args.request_id} in {where}", file=sys.stderr)
        if not args.json:
            print(summary_text(result), file=sys.stderr)
        return EXIT_NOT_FOUND
    return EXIT_FOUND


def add_search_command(commands: Any) -> None:
    """Register ``search`` on the subcommand parsers."""
    p = commands.add_parser(
        "search",
        help="print every log line of one request",
        description="Find every CloudWatch Logs line of one request (a Lambda request id, "
        "a prefix of at least 8 characters, or an X-Ray trace id) and print the timeline. "
        "Exit status: 0 found, 1 not found, 2 error.",
    )
    p.add_argument("request_id", metavar="REQUEST_ID")
    p.add_argument(
        "-f",
        "--function",
        action="append",
        metavar="FUNCTION",
        help="Lambda function name (its log group /aws/lambda/FUNCTION); repeatable",
    )
    p.add_argument(
        "-g",
        "--log-group",
        action="append",
        metavar="LOG_GROUP",
        help="log group name, or name prefix (end with * to force a prefix); repeatable. "
        "With neither -f nor -g, every /aws/lambda/ group is searched",
    )
    when = p.add_mutually_exclusive_group()
    when.add_argument("--since", metavar="DURATION", help="look back this long, e.g. 30m, 2h, 3d")
    when.add_argument(
        "--start",
        metavar="TIME",
        help="window start: ISO 8601 (UTC if no zone), epoch seconds/ms, or -2h",
    )
    p.add_argument("--end", metavar="TIME", help="window end (default: now); needs --start")
    p.add_argument(
        "--days",
        type=int,
        default=3,
        help="default look-back in UTC days, newest first (default: 3)",
    )
    p.add_argument(
        "--context",
        type=int,
        default=0,
        metavar="N",
        help="N lines of context before and after, per stream",
    )
    p.add_argument(
        "--max-lines",
        type=int,
        default=500,
        metavar="N",
        help="show at most N lines (head and tail kept; default: 500)",
    )
    p.add_argument(
        "--deadline",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="stop searching after this long and show what was found (default: 60)",
    )
    p.add_argument(
        "--path",
        choices=("auto", "filter", "insights"),
        default="auto",
        help="FilterLogEvents or Logs Insights (default: chosen by groups and window)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    p.add_argument("--region", help="AWS region (default: from the environment or profile)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line on stderr")
    p.set_defaults(handler=run_search)


# Each entry adds one subcommand (and sets ``handler``); later commands append here.
COMMANDS: list[Callable[[Any], None]] = [
    add_search_command,
    add_replay_command,
    add_redrive_command,
]
# Subcommands the core does not own (``logthread dev`` comes with the local stack in a
# checkout) register a function like the ones above under this entry-point group.
PLUGIN_GROUP = "logthread.commands"


def plugin_commands() -> list[Callable[[Any], None]]:
    """The subcommands installed packages register under :data:`PLUGIN_GROUP`."""
    from importlib.metadata import entry_points

    found: list[Callable[[Any], None]] = []
    for entry in sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: e.name):
        try:
            found.append(entry.load())
        except Exception as exc:  # a broken plugin must not take the core commands down
            print(f"logthread: skipping the {entry.name!r} command: {exc}", file=sys.stderr)
    return found


def build_parser() -> argparse.ArgumentParser:
    """The ``logthread`` parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="logthread",
        description="A request's CloudWatch logs, in a terminal or threaded in Slack.",
    )
    parser.add_argument("--version", action="version", version=f"logthread {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in [*COMMANDS, *plugin_commands()]:
        add(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``logthread`` script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        print("logthread: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
