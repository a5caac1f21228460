"""What the worker works with: the seams to logs, Slack, storage, and the clock.

Built once per process by :func:`from_env` (the Lambda handler keeps it between
invocations); tests build :class:`WorkerDeps` directly around moto and the
Slack stand-in.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from logthread.accounts import AccountNames
from logthread.config import Config
from logthread.once import Outbox

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_logs import CloudWatchLogsClient

    from logthread.alarms.episodes import EpisodeStore
    from logthread.delay import DelayQueue
    from logthread.slack.chat import Chat
    from logthread.slack.deadletter import DeadLetters


@dataclass(slots=True)
class WorkerDeps:
    """The worker's dependencies.

    Attributes
    ----------
    logs:
        boto3 CloudWatch Logs client.
    chat:
        Where results are posted (:class:`logthread.slack.chat.Chat`).
    config:
        The validated configuration.
    store:
        :class:`logthread.alarms.episodes.EpisodeStore` for the alarm path (None when the
        deployment has no table, e.g. search-only tests).
    now:
        Clock returning epoch seconds.
    remaining_ms:
        Milliseconds left in this invocation (Lambda's context), None outside Lambda.
    cloudwatch:
        boto3 CloudWatch client, for alarm lookups (None when unused).
    dead_letters:
        :class:`logthread.slack.deadletter.DeadLetters` for Slack calls that still failed
        after the retries (None: they fail the delivery instead).
    task_topic_arn:
        The task topic (``TASK_TOPIC_ARN``): tasks and alarm rescans are taken only
        from it, since only the ingress may publish there ("" = from any topic).
    outbox:
        Set per delivery by the worker: the Slack dead letter its exactly-once
        record carries (:class:`logthread.once.Outbox`).
    follow_ups, follow_up_queue_arn:
        Where an open alarm episode's next look waits (:class:`logthread.delay.DelayQueue`;
        None: no follow-ups), and that queue's ARN: follow-ups are taken only from it.
    accounts:
        Account ids → names (:mod:`logthread.accounts`); None: the configured names only.
    graphs:
        A CloudWatch client for ``GetMetricWidgetImage`` with a short retry budget
        (:func:`logthread.aws.quick_client`); None: no metric graphs.
    """

    logs: CloudWatchLogsClient
    chat: Chat
    config: Config
    store: EpisodeStore | None = None
    now: Callable[[], float] = time.time
    remaining_ms: Callable[[], int] | None = None
    cloudwatch: CloudWatchClient | None = None
    dead_letters: DeadLetters | None = None
    task_topic_arn: str = ""
    outbox: Outbox | None = None
    follow_ups: DelayQueue | None = None
    follow_up_queue_arn: str = ""
    accounts: AccountNames | None = None
    graphs: Any = None

    def __post_init__(self) -> None:
        # Every Logs call the worker makes passes the one read guard (logthread.readguard),
        # whoever built the deps; the own account id is read only when an ARN is checked.
        from logthread import readguard

        names = self.accounts
        readguard.install(self.logs, self.config.access, lambda: names.own()[0] if names else "")

    def now_ms(self) -> int:
        """The clock in epoch milliseconds."""
        return int(self.now() * 1000)

    def remaining_seconds(self) -> float | None:
        """Seconds left in this invocation, None outside Lambda."""
        return None if self.remaining_ms is None else self.remaining_ms() / 1000

    def deadline_seconds(self, configured: float, reserve_seconds: float = 8.0) -> float:
        """A search budget that leaves ``reserve_seconds`` to post the result.

        The configured deadline, shortened when the invocation has less time left.
        """
        if self.remaining_ms is None:
            return configured
        left = self.remaining_ms() / 1000 - reserve_seconds
        return max(1.0, min(configured, left))


def from_env(env: Mapping[str, str] | None = None) -> WorkerDeps:
    """Build the deps from the environment (once per process, by the handler).

    Reads the config (``LOGTHREAD_CONFIG`` / ``LOGTHREAD_CONFIG_JSON``), the bot
    token (``SLACK_SECRET_ARN`` or ``SLACK_BOT_TOKEN``), ``SLACK_API_URL`` and
    ``TABLE_NAME``, ``SLACK_DEAD_LETTER_QUEUE_URL`` and ``FOLLOW_UP_QUEUE_URL`` /
    ``FOLLOW_UP_QUEUE_ARN``; boto3 clients come from
    :func:`logthread.aws.client`. With a table, posts are paced per channel across
    every worker instance (:class:`logthread.slack.pacing.SharedChannelPacer`), else per
    process.
    """
    from logthread import config as config_module
    from logthread.aws import client, quick_client
    from logthread.secrets import bot_token
    from logthread.slack import deadletter
    from logthread.slack.chat import SlackChat
    from logthread.slack.webclient import make_web_client

    env = os.environ if env is None else env
    config = config_module.load(env)
    chat = SlackChat(make_web_client(bot_token(env), env.get("SLACK_API_URL") or None))
    store = None
    if table := env.get("TABLE_NAME"):
        from logthread.alarms.episodes import EpisodeStore

        ttl = config.limits.episode_ttl_days * 86_400
        store = EpisodeStore(client("dynamodb"), table, ttl_seconds=ttl)
    deps = WorkerDeps(
        logs=client("logs"),
        chat=chat,
        config=config,
        store=store,
        cloudwatch=client("cloudwatch"),
        dead_letters=deadletter.from_env(env, client),
        task_topic_arn=env.get("TASK_TOPIC_ARN", ""),
        graphs=quick_client("cloudwatch"),
        # The own account's alias is read once per process, when a message first names it.
        accounts=AccountNames(
            dict(config.accounts), iam=lambda: client("iam"), sts=lambda: client("sts")
        ),
    )
    if (queue_url := env.get("FOLLOW_UP_QUEUE_URL")) and store is not None:
        from logthread.delay import SqsDelayQueue

        deps.follow_ups = SqsDelayQueue(client("sqs"), queue_url)
        deps.follow_up_queue_arn = env.get("FOLLOW_UP_QUEUE_ARN", "")
    if store is not None:
        from logthread.slack.pacing import SharedChannelPacer

        # remaining reads the deps, where the handler sets each invocation's context.
        chat.pacer = SharedChannelPacer(
            store.client,
            store.table_name,
            1 / config.limits.slack_posts_per_second_per_channel,
            remaining=deps.remaining_seconds,
        )
    return deps
