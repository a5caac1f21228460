"""``make demo``: the whole story runs, prints the conversation, and fails when a step does."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from logthread_local import demo, story
from logthread_local.stack import LocalStack
from logthread_local.terminal import Style

ROOT = Path(__file__).resolve().parents[2]


def test_make_demo_prints_the_whole_conversation_and_exits_0() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SLACK_"))}
    done = subprocess.run(
        [sys.executable, "-m", "logthread_local.demo", "--color", "never"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    for n in range(1, demo.STEPS + 1):
        assert f"✔ step {n} took " in out
    assert "every step passed" in out
    assert "✘" not in out
    # Metrics are off locally: no EMF document (not even Powertools' ColdStart) in the story.
    assert '"_aws"' not in out

    # 1: the logs and the alarm, as they went in.
    step1, rest = out.split("── 2.", 1)
    assert "ERROR]  " in step1 and story.ERROR_MESSAGE in step1
    assert 'SNS → alarm topic: ALARM: "HogeService-Errors"' in step1
    # 2: the alarm message, with the request's own lines in its thread.
    step2, rest = rest.split("── 3.", 1)
    assert "#alerts" in step2
    assert "HogeService-Errors" in step2
    assert "└─ thread · " in step2
    assert story.REQUEST_ID in step2
    assert story.shows_failing_request(step2)
    # The metric graph, drawn by the local stack's GetMetricWidgetImage, as the first reply.
    assert "(graph.png)" in step2 and "[image 800x360 PNG]" in step2
    assert step2.index("(graph.png)") < step2.index(story.REQUEST_ID + "\n")
    # 3: the slash command, its private ack, then the result in the channel.
    step3, step4 = rest.split("── 4.", 1)
    assert "/logsearch 12345678" in step3
    assert "only visible to you:" in step3
    assert story.shows_failing_request(step3.split("only visible to you:", 1)[1])
    # 4: the click, and a new reply in the alarm's thread.
    step4, rest = step4.split("── 5.", 1)
    assert "clicked [ Search again" in step4
    assert f"thread of {story.ALARM_NAME}" in step4
    assert story.shows_failing_request(step4)
    # 5: "I'm on it" on the alarm message, which then says who is on it.
    claimed, rest = rest.split("── 6.", 1)
    assert "clicked [ I'm on it ] on the alarm" in claimed
    assert "@U0ONCALL1 is on it since" in claimed
    # 6: a second kind of error, brought to the thread by a follow-up, and the live tally.
    step5, rest = rest.split("── 7.", 1)
    assert story.SECOND_KIND in step5
    assert ":new: A new kind of error since the alarm opened" in step5
    assert "Live tally: 5 failing requests, 2 kinds of error" in step5
    # 7: the OK, and the recap in the message and as the thread's last reply, naming who
    # handled it.
    step6, rest = rest.split("── 8.", 1)
    assert "✅ RESOLVED: HogeService-Errors" in step6
    assert step6.count("Recap: 5 failing requests, 2 kinds of error") == 2
    assert len(re.findall(r"handled by\s+@U0ONCALL1", step6)) == 2  # the lines may wrap
    assert "Handled by @U0ONCALL1" in step6
    # 8: a second AWS account (linked to the bot's monitoring account): the alarm on its
    # metric threads that account's failing request, every line of it read in that account.
    step8, summary = rest.split("Summary", 1)
    assert f"payments account ({story.SOURCE_ACCOUNT})" in step8
    assert f'SNS → alarm topic: ALARM: "{story.SOURCE_ALARM_NAME}"' in step8
    thread8 = step8.split("🚨 ALARM: " + story.SOURCE_ALARM_NAME, 1)[1]
    assert f"in account `{story.SOURCE_ACCOUNT}`" in thread8  # the metric's account
    assert story.SOURCE_REQUEST_ID in thread8 and story.shows_source_failure(thread8)
    assert not story.shows_failing_request(thread8)
    calls = step8.split("by the account they read:", 1)[1]
    assert f"payments ({story.SOURCE_ACCOUNT}): FilterLogEvents" in calls
    assert "monitoring (" not in calls  # nothing of it was read in the bot's own account
    assert summary.count("ok  ") == demo.STEPS


def test_a_step_that_produces_nothing_fails_the_demo(aws: str) -> None:
    # A worker that takes every message and posts nothing: the alarm is delivered
    # (step 1 holds) but no message appears, so step 2 must fail and 3-4 not run.
    def silent_worker(event: dict[str, Any], context: Any) -> None:
        return None

    out = io.StringIO()
    with LocalStack(aws_endpoint=aws, worker_handler=silent_worker) as stack:
        steps = demo.Demo(stack, out, Style(color=False), timeout=1.0).run()
    assert [s.ok for s in steps] == [True, False] + [False] * (demo.STEPS - 2)
    assert "still no alarm message" in steps[1].problem
    assert demo.exit_code(steps) == 1
    assert "✘ step 2" in out.getvalue()
    lines = "\n".join(demo.summary(steps, Style(color=False)))
    assert "FAIL" in lines and lines.count("skip") == demo.STEPS - 2
