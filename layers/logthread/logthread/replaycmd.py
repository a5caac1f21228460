"""``logthread replay``: post the Slack dead letters again.

Reads every letter in the dead-letter queue (``--queue-url`` or
``SLACK_DEAD_LETTER_QUEUE_URL``), replays each with the bot token
(``SLACK_BOT_TOKEN`` or ``SLACK_SECRET_ARN``) and deletes only what landed: a
letter that landed whole is deleted; one that landed in part is replaced by a
letter holding what is left; one that landed not at all is put back. Calls that
timed out may already be in Slack: they are listed, not posted, unless
``--include-uncertain``. ``--dry-run`` lists the letters and changes nothing.

Exit codes: 0 every letter replayed (or none waiting), 1 some letters are still
waiting, 2 error (no queue, no token, AWS refused).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, TextIO

from logthread.slack.chat import Chat
from logthread.slack.deadletter import (
    QUEUE_ENV,
    DeadLetters,
    Letter,
    Received,
    SqsDeadLetters,
    replay,
)

EXIT_DONE = 0
EXIT_WAITING = 1
EXIT_ERROR = 2


def describe(call: dict[str, Any]) -> str:
    """One line for a call: what, where, and the head of its text."""
    args = call.get("arguments") or {}
    where = str(args.get("channel") or args.get("response_url") or "?")
    thread = args.get("thread_ts") or args.get("ts")
    text = str(args.get("text") or args.get("filename") or "").replace("\n", " ")
    head = text[:60] + ("…" if len(text) > 60 else "")
    in_thread = f" thread {thread}" if thread else ""
    doubt = " [timed out: may already be in Slack]" if call.get("uncertain") else ""
    return f"{call.get('operation', '?')} in {where}{in_thread}: {head!r}{doubt}"


def drain(store: DeadLetters, limit: int = 1000) -> list[Received]:
    """Take every waiting letter (up to ``limit``), hidden until settled."""
    taken: list[Received] = []
    while len(taken) < limit:
        batch = store.receive(min(10, limit - len(taken)))
        if not batch:
            break
        taken.extend(batch)
    return taken


def replay_all(
    store: DeadLetters,
    chat: Chat | None,
    out: TextIO,
    *,
    dry_run: bool = False,
    include_uncertain: bool = False,
) -> int:
    """Replay (or list) every letter in ``store``; print a report; return the exit code."""
    taken = drain(store)
    if not taken:
        print("no dead letters waiting", file=out)
        return EXIT_DONE
    posted = done = waiting = 0
    leftovers: list[Letter] = []
    for received in taken:
        letter = received.letter
        if letter is None:
            print(f"? not a logthread letter, left in the queue: {received.body[:80]!r}", file=out)
            store.release(received)
            waiting += 1
            continue
        label = (
            f"letter {letter.id[:8]} ({letter.error.get('code', '?')}, {len(letter.calls)} calls)"
        )
        if dry_run or chat is None:
            print(label, file=out)
            for call in letter.calls:
                print(f"  - {describe(call)}", file=out)
            store.release(received)
            waiting += 1
            continue
        result = replay(letter, chat, include_uncertain=include_uncertain)
        posted += len(result.posted)
        print(f"{label}: {len(result.posted)} posted", file=out)
        for call in result.skipped:
            print(f"  skipped {describe(call)}", file=out)
        if result.failed is not None:
            print(f"  failed again: {result.failed}", file=out)
        if result.left is None:
            store.delete(received)
            done += 1
        elif result.posted:
            # Only the part still to do goes back, so nothing is posted twice.
            leftovers.append(result.left)
            store.delete(received)
            waiting += 1
        else:
            store.release(received)
            waiting += 1
    for letter in leftovers:
        store.send(letter)
    verb = "would replay" if dry_run else "replayed"
    print(
        f"{verb} {len(taken)} letters: {posted} calls posted, {done} done, {waiting} waiting",
        file=out,
    )
    return EXIT_WAITING if waiting else EXIT_DONE


def run_replay(args: argparse.Namespace, *, sqs: Any = None, chat: Chat | None = None) -> int:
    """``logthread replay``: build the queue and Slack clients, then :func:`replay_all`."""
    url = args.queue_url or os.environ.get(QUEUE_ENV, "")
    if not url:
        print(f"logthread replay: no queue (--queue-url or {QUEUE_ENV})", file=sys.stderr)
        return EXIT_ERROR
    try:
        if sqs is None:
            from logthread.aws import client

            sqs = client("sqs", region_name=args.region)
        if chat is None and not args.dry_run:
            from logthread.secrets import bot_token
            from logthread.slack.chat import SlackChat
            from logthread.slack.webclient import make_web_client

            chat = SlackChat(make_web_client(bot_token(), os.environ.get("SLACK_API_URL") or None))
        return replay_all(
            SqsDeadLetters(sqs, url),
            chat,
            sys.stdout,
            dry_run=args.dry_run,
            include_uncertain=args.include_uncertain,
        )
    except Exception as exc:  # a CLI answers in one line, not a traceback
        print(f"logthread replay: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR


def add_replay_command(commands: Any) -> None:
    """Register ``replay``: post the Slack dead letters again."""
    p = commands.add_parser(
        "replay",
        help="post the Slack messages that failed after retries (the dead-letter queue)",
        description="Replay the Slack dead letters: post each again with the bot token, "
        "delete only what landed, and report. Timed-out posts may already be in Slack and are "
        "skipped unless --include-uncertain.",
    )
    p.add_argument("--queue-url", default="", help=f"the queue (default: ${QUEUE_ENV})")
    p.add_argument("--dry-run", action="store_true", help="list the letters, post nothing")
    p.add_argument(
        "--include-uncertain",
        action="store_true",
        help="also post calls that timed out (they may then appear twice)",
    )
    p.add_argument("--region", help="AWS region (default: from the environment or profile)")
    p.set_defaults(handler=run_replay)
