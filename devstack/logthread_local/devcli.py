"""``logthread dev``: registered with the ``logthread`` command through an entry point.

The core package never names the local stack: ``pyproject.toml`` lists
:func:`add_dev_command` in the ``logthread.commands`` entry-point group, and
:func:`logthread.cli.build_parser` adds whatever that group holds. The Lambda
layer carries neither this package nor the entry point.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

EXIT_ERROR = 2


def run_dev(args: argparse.Namespace) -> int:
    """``logthread dev``: the local stack and its web page."""
    from logthread_local.devserver import run

    return run(
        port=args.port,
        slack_token=args.slack_token,
        signing_secret=args.signing_secret,
        channel=args.channel,
        config_path=args.config,
        empty=args.empty,
        verbose=args.verbose,
    )


def add_dev_command(commands: Any) -> None:
    """Register ``dev``: logthread end to end on this machine, with a web page."""
    p = commands.add_parser(
        "dev",
        help="run the bot locally (moto as AWS, a Slack stand-in) with a web page",
        description="Run logthread on this machine: moto as AWS, a Slack stand-in shown as a "
        "web page where you can type /logsearch, click the buttons, add log lines and fire "
        "alarms. With --slack-token, --signing-secret and --channel it posts to that real "
        "workspace instead and prints the local ingress URL to expose through a tunnel.",
    )
    p.add_argument("--port", type=int, default=0, help="the page's port (default: a free one)")
    p.add_argument("--slack-token", default="", help="a bot token: post to that real workspace")
    p.add_argument("--signing-secret", default="", help="the Slack app's signing secret")
    p.add_argument("--channel", default="", help="channel id for alarms (default: C0ALERTS)")
    p.add_argument("--config", default="", help="a logthread config file (YAML or JSON)")
    p.add_argument("--empty", action="store_true", help="start without the seed's logs and alarm")
    p.add_argument("--verbose", action="store_true", help="show the functions' own logs")
    p.set_defaults(handler=run_dev)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m logthread_local.devcli [options]``: the same as ``logthread dev``."""
    parser = argparse.ArgumentParser(prog="logthread")
    add_dev_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["dev", *(sys.argv[1:] if argv is None else argv)])
    return int(args.handler(args))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
