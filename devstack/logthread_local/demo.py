"""``make demo``: the whole bot, end to end, on this machine, and the conversation it has.

The seed's story on the embedded local stack (moto as AWS, the Slack stand-in as
Slack, the real ingress and worker handlers):

1. HogeService fails to read from its database, and the alarm fires;
2. the alarm message appears, its metric graph and the failing request's logs in its thread;
3. a user types ``/logsearch 12345678`` and gets back the same request;
4. someone clicks "Search again" in the thread, and the new result lands there;
   then "I'm on it" on the alarm message, which then shows who is on it;
5. while the alarm lasts, a second kind of error starts: a follow-up (every 3 s
   here, 5 minutes by default) brings it to the thread, and the live tally counts it;
6. the alarm resolves: its message becomes the recap;
7. PaymentService fails in a second AWS account (a source account linked to the bot's
   monitoring account): the alarm on that account's metric threads that account's lines,
   read by ARN through the link (:mod:`logthread_local.second_account`).

Each step is checked against what the stand-in really holds, not assumed; the
exit status is 0 only if every step produced what it should.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from logthread_local import story
from logthread_local.second_account import alarm_from_linked_account
from logthread_local.slackreq import USER, buttons
from logthread_local.stack import LocalStack
from logthread_local.terminal import Style, message_lines, thread_lines

CHANNEL = "C0ALERTS"
CHANNEL_NAME = "#alerts"
SEARCH_AGAIN = "logthread.search_again"
CLAIM = "logthread.alarm_claim"
STEPS = 8


class StepFailed(Exception):
    """A step did not produce what it should; the message says what was missing."""


@dataclass
class Step:
    title: str
    run: Callable[[], None]
    seconds: float = 0.0
    ok: bool = False
    problem: str = ""


def strings(obj: Any) -> Iterator[str]:
    """Every string inside a message (text, blocks, fields, file names)."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, Mapping):
        for value in obj.values():
            yield from strings(value)
    elif isinstance(obj, list | tuple):
        for value in obj:
            yield from strings(value)


class Demo:
    """Runs the eight steps on a started stack and prints the conversation to ``out``."""

    def __init__(self, stack: LocalStack, out: TextIO, style: Style, timeout: float) -> None:
        self.stack = stack
        self.slack = stack.slack
        self.out = out
        self.style = style
        self.timeout = timeout
        self.alarm_ts = ""
        self.search_ts = ""

    # -- helpers -----------------------------------------------------------------------------

    def say(self, *lines: str) -> None:
        for line in lines:
            print(line, file=self.out)
        self.out.flush()

    def text_of(self, message: Mapping[str, Any]) -> str:
        """All the text a reader could see in ``message``, uploaded files included."""
        parts = list(strings({k: v for k, v in message.items() if k != "files"}))
        for f in message.get("files") or []:
            parts.extend(strings(f))
            content = self.file_content(str(f.get("id", "")))
            if content:
                parts.append(content.decode("utf-8", "replace"))
        return "\n".join(parts)

    def file_content(self, file_id: str) -> bytes | None:
        try:
            content = self.slack.file(file_id).get("content")
        except KeyError:
            return None
        return content if isinstance(content, bytes) else None

    def shows_request(self, messages: Iterable[Mapping[str, Any]]) -> bool:
        """The messages show the failing request's lines (and not the healthy one's)."""
        return story.shows_failing_request("\n".join(self.text_of(m) for m in messages))

    def wait_for(self, what: str, check: Callable[[], Any]) -> Any:
        """Poll ``check`` until it returns something truthy; fail with ``what`` on timeout."""
        deadline = time.monotonic() + self.timeout
        while True:
            failed = [d for d in self.stack.deliveries if d.done and d.error]
            if failed:
                raise StepFailed(f"the worker failed: {failed[0].problem}")
            found = check()
            if found:
                return found
            if time.monotonic() > deadline:
                raise StepFailed(f"after {self.timeout:.0f} s, still no {what}")
            time.sleep(0.05)

    def thread(self, ts: str) -> list[dict[str, Any]]:
        return self.slack.thread(CHANNEL, ts)

    def show_thread(self, parent: Mapping[str, Any], replies: list[dict[str, Any]]) -> None:
        self.say(*thread_lines(parent, replies, self.style, file_content=self.file_content), "")

    def show_user(self, text: str) -> None:
        when = time.strftime("%H:%M:%S")
        self.say(f"{self.style.bold(USER['name'])}  {self.style.dim(when)}", f"  {text}")

    # -- the story ---------------------------------------------------------------------------

    def alarm_fires(self) -> None:
        now_ms = int(time.time() * 1000)
        seeded = story.seed_logs(self.stack.client("logs"), now_ms)
        groups = seeded["log_groups"]
        total = sum(g["events"] for g in groups.values())
        self.say(
            self.style.dim(
                f"  CloudWatch Logs: {total} events seeded in {len(groups)} log groups "
                f"({', '.join(sorted(groups))})"
            )
        )
        # The stream where the failure happened, as CloudWatch shows it.
        stream = next(
            e["logStreamName"] for e in seeded["events"] if story.REQUEST_ID in e["message"]
        )
        self.say(self.style.dim(f"  {story.LOG_GROUP}  {stream}"))
        for e in seeded["events"]:
            if e["logGroupName"] == story.LOG_GROUP and e["logStreamName"] == stream:
                first = e["message"].rstrip("\n").split("\n")[0].replace("\t", "  ")
                self.say(self.style.dim(f"  │ {first[:160]}"))
        message, subject = story.lambda_errors_alarm(now_ms)
        message_id = self.stack.publish_alarm(message, subject)
        self.say(self.style.dim(f"  SNS → alarm topic: {subject}  (MessageId {message_id})"), "")
        self.wait_for(
            "alarm delivered to the worker",
            lambda: any(
                d.topic == "alarm" and d.envelope.get("MessageId") == message_id
                for d in self.stack.deliveries
            ),
        )

    def graph_in(self, messages: Iterable[Mapping[str, Any]]) -> bool:
        """A reply carries the alarm's metric graph (a PNG the local stack drew)."""
        return any(
            (self.file_content(str(f.get("id", ""))) or b"").startswith(b"\x89PNG")
            for m in messages
            for f in m.get("files") or []
        )

    def alarm_thread(self) -> None:
        def posted() -> dict[str, Any] | None:
            for m in self.slack.messages(CHANNEL):
                thread = self.thread(m["ts"])
                if (
                    story.ALARM_NAME in self.text_of(m)
                    and self.shows_request(thread)
                    and story.REQUEST_ID in "\n".join(self.text_of(r) for r in thread)
                    and self.graph_in(thread)
                ):
                    return m
            return None

        parent = self.wait_for(
            f"alarm message with its metric graph and {story.REQUEST_ID}'s logs in its thread",
            posted,
        )
        self.stack.wait_idle(self.timeout)
        self.alarm_ts = parent["ts"]
        self.say(self.style.bold(CHANNEL_NAME), "")
        thread = self.thread(self.alarm_ts)
        self.show_thread(thread[0], thread[1:])

    def slash_command(self) -> None:
        known = {m["ts"] for m in self.slack.messages(CHANNEL)}
        self.show_user("/logsearch 12345678")
        response = self.stack.slash_command("12345678", channel_id=CHANNEL)
        if response["statusCode"] != 200:
            raise StepFailed(f"the ingress answered HTTP {response['statusCode']}")
        ack = _ack_text(response["body"])
        if ack:
            self.say(self.style.dim(f"  ┊ only visible to you: {ack}"), "")

        def answered() -> list[dict[str, Any]] | None:
            for m in self.slack.messages(CHANNEL):
                if m["ts"] not in known and self.shows_request(self.thread(m["ts"])):
                    return self.thread(m["ts"])
            posts = self.slack.responses()
            if self.shows_request(posts):
                return posts
            return None

        found = self.wait_for(f"search result for 12345678 showing {story.REQUEST_ID}", answered)
        self.stack.wait_idle(self.timeout)
        if found and "ts" in found[0]:
            self.search_ts = found[0]["ts"]
            thread = self.thread(self.search_ts)
            self.show_thread(thread[0], thread[1:])
        else:
            for post in found:
                self.say(*message_lines({"ts": time.time(), **post}, self.style), "")

    def search_again(self) -> None:
        thread = self.thread(self.alarm_ts)
        # The button a reader sees last in the thread is the one they'd click.
        candidates = [
            (m, b)
            for m in reversed(thread)
            for b in buttons(m)
            if b.get("action_id") == SEARCH_AGAIN
        ]
        if not candidates:
            raise StepFailed(f"no {SEARCH_AGAIN!r} button in the alarm thread")
        message, button = candidates[0]
        label = button.get("text", {}).get("text", "Search again")
        known = {m["ts"] for m in thread}
        self.show_user(self.style.dim(f"clicked [ {label} ] in the thread of {story.ALARM_NAME}"))
        response = self.stack.click(message, button, channel_id=CHANNEL)
        if response["statusCode"] != 200:
            raise StepFailed(f"the ingress answered HTTP {response['statusCode']}")
        ack = _ack_text(response["body"])
        if ack:
            self.say(self.style.dim(f"  ┊ only visible to you: {ack}"))
        self.say("")

        def landed() -> list[dict[str, Any]] | None:
            new = [m for m in self.thread(self.alarm_ts) if m["ts"] not in known]
            return new if self.shows_request(new) else None

        self.wait_for(f"new result for {story.REQUEST_ID} in the alarm thread", landed)
        self.stack.wait_idle(self.timeout)
        new = [m for m in self.thread(self.alarm_ts) if m["ts"] not in known]
        earlier = len(known) - 1
        self.say(
            self.style.dim(
                f"  └─ thread of {story.ALARM_NAME} · {earlier} earlier "
                f"repl{'y' if earlier == 1 else 'ies'}, then:"
            )
        )
        for reply in new:
            self.say(
                *message_lines(reply, self.style, indent="     ", file_content=self.file_content)
            )
        self.say("")

    def claim(self) -> None:
        parent = self.thread(self.alarm_ts)[0]
        button = next((b for b in buttons(parent) if b.get("action_id") == CLAIM), None)
        if button is None:
            raise StepFailed(f"no {CLAIM!r} button on the alarm message")
        self.show_user(self.style.dim(f"clicked [ {button['text']['text']} ] on the alarm"))
        if self.stack.click(parent, button, channel_id=CHANNEL)["statusCode"] != 200:
            raise StepFailed("the ingress refused the click")
        on_it = f"<@{USER['id']}> is on it since"
        self.wait_for("the alarm message showing who is on it", lambda: self._parent_with(on_it))
        self.stack.wait_idle(self.timeout)
        self.say(*message_lines(self.thread(self.alarm_ts)[0], self.style), "")

    def _parent_with(self, text: str) -> dict[str, Any] | None:
        parent = self.thread(self.alarm_ts)[0]
        return parent if text in self.text_of(parent) else None

    def second_kind(self) -> None:
        lines = story.second_kind_failures()
        self.stack.put_log_lines(story.LOG_GROUP, lines)
        self.say(
            self.style.dim(
                f"  CloudWatch Logs: {len(lines) // 4} more failing requests in {story.LOG_GROUP}, "
                f"another way: {story.SECOND_KIND}"
            ),
            "",
        )
        known = {m["ts"] for m in self.thread(self.alarm_ts)}

        def followed_up() -> list[dict[str, Any]] | None:
            thread = self.thread(self.alarm_ts)
            texts = [self.text_of(m) for m in thread]
            new_kind = any(":new:" in t and "KeyError" in t for t in texts)
            tally = any("Live tally" in t and "2 kinds of error" in t for t in texts)
            return thread if new_kind and tally else None

        self.wait_for("follow-up reply with the new kind of error and the tally", followed_up)
        self.stack.wait_idle(self.timeout)
        thread = self.thread(self.alarm_ts)
        self.say(self.style.dim(f"  └─ thread of {story.ALARM_NAME}, after a follow-up:"))
        for reply in thread:
            if reply["ts"] not in known or "Live tally" in self.text_of(reply):
                self.say(
                    *message_lines(
                        reply, self.style, indent="     ", file_content=self.file_content
                    )
                )
        self.say("")

    def resolves(self) -> None:
        message, subject = story.lambda_errors_alarm(int(time.time() * 1000), state="OK")
        message_id = self.stack.publish_alarm(message, subject)
        self.say(self.style.dim(f"  SNS → alarm topic: {subject}  (MessageId {message_id})"), "")

        def resolved() -> dict[str, Any] | None:
            thread = self.thread(self.alarm_ts)
            parent = self.text_of(thread[0])
            recap = any(":checkered_flag: *Recap:*" in self.text_of(r) for r in thread[1:])
            handled = f"Handled by <@{USER['id']}>" in parent
            done = "RESOLVED" in parent and "Recap" in parent and recap and handled
            return thread[0] if done else None

        self.wait_for("resolved alarm message with its recap, naming who handled it", resolved)
        self.stack.wait_idle(self.timeout)
        thread = self.thread(self.alarm_ts)
        self.say(self.style.bold(CHANNEL_NAME), "")
        self.say(*message_lines(thread[0], self.style, file_content=self.file_content))
        self.say(self.style.dim("  └─ the thread's last reply:"))
        self.say(
            *message_lines(thread[-1], self.style, indent="     ", file_content=self.file_content),
            "",
        )

    def run(self) -> list[Step]:
        steps = [
            Step("HogeService fails to read from its database, and the alarm fires", self.alarm_fires),
            Step("The alarm message appears, with the failing request's logs in its thread", self.alarm_thread),
            Step("A user types /logsearch 12345678 and gets back the same request", self.slash_command),
            Step('Someone clicks "Search again" in the thread; the new result lands there', self.search_again),
            Step("Someone clicks \"I'm on it\": the alarm message shows who is on it", self.claim),
            Step("While the alarm lasts, a new kind of error starts; a follow-up threads it", self.second_kind),
            Step("The alarm resolves: its message becomes the recap", self.resolves),
            Step("PaymentService fails in another AWS account; its alarm threads that account's lines", lambda: alarm_from_linked_account(self)),
        ]  # fmt: skip
        for n, step in enumerate(steps, 1):
            self.say(self.style.bold(f"── {n}. {step.title} " + "─" * max(0, 70 - len(step.title))))
            started = time.monotonic()
            try:
                step.run()
                step.ok = True
            except StepFailed as exc:
                step.problem = str(exc)
            step.seconds = time.monotonic() - started
            mark = self.style.green("✔") if step.ok else self.style.red("✘")
            note = "" if step.ok else "  " + self.style.red(step.problem)
            self.say(f"{mark} step {n} took {step.seconds:.2f} s{note}", "")
            if not step.ok:
                break
        return steps


def _ack_text(body: str) -> str:
    try:
        data = json.loads(body) if body else {}
    except json.JSONDecodeError:
        return body.strip()
    return str(data.get("text", "")) if isinstance(data, dict) else ""


def exit_code(steps: list[Step]) -> int:
    """0 only if all eight steps ran and each produced what it should."""
    return 0 if len(steps) == STEPS and all(s.ok for s in steps) else 1


def summary(steps: list[Step], style: Style) -> list[str]:
    lines = [style.bold("Summary")]
    for n, step in enumerate(steps, 1):
        mark = style.green("ok  ") if step.ok else style.red("FAIL") if step.problem else "skip"
        lines.append(f"  {mark} {step.seconds:6.2f} s  {n}. {step.title}")
    return lines


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """Run the demo; 0 only if every step produced what it should."""
    parser = argparse.ArgumentParser(prog="python -m logthread_local.demo", description=__doc__)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per step")
    parser.add_argument("--color", choices=["auto", "always", "never"], default="auto")
    args = parser.parse_args(argv)
    out = sys.stdout if out is None else out
    color = args.color == "always" or (
        args.color == "auto" and out.isatty() and not os.environ.get("NO_COLOR")
    )
    style = Style(color)
    print(style.bold("logthread demo: the whole bot on this machine"), file=out)
    print(
        style.dim("moto as AWS, the Slack stand-in as Slack, the real ingress and worker"),
        file=out,
    )
    try:
        # The bot runs in a monitoring account with the payments account linked (step 8).
        config = {"default_channel": CHANNEL, "limits": story.FOLLOW_UPS, **story.linked_config()}
        with LocalStack(
            default_channel=CHANNEL, config=config, linked_accounts=[story.SOURCE_ACCOUNT]
        ) as stack:
            print(
                style.dim(
                    f"AWS {stack.aws_endpoint} · Slack {stack.slack_api_url} · "
                    f"ingress {stack.ingress_url}"
                ),
                file=out,
            )
            print(file=out)
            steps = Demo(stack, out, style, args.timeout).run()
    except KeyboardInterrupt:
        print("interrupted; the local stack is stopped", file=out)
        return 130
    for line in summary(steps, style):
        print(line, file=out)
    code = exit_code(steps)
    print(style.red("the demo failed") if code else style.green("every step passed"), file=out)
    return code


if __name__ == "__main__":
    sys.exit(main())
