"""At most once per key: the one home of exactly-once in logthread.

SNS and SQS deliver at least once, and two copies of one message can run at the
same time in two invocations. :func:`run_once` wraps a call in Powertools'
``idempotent_function`` keyed on the caller's key: the first copy runs, a copy
arriving while it runs gets ``IdempotencyAlreadyInProgressError`` (the delivery
is retried and then returns the stored answer), and a later copy returns the
stored answer without running. A run that raises leaves no record, so its
retry runs again.

Users: the worker's search tasks (keyed on the task id), the alarm path (keyed
on the notification) and ``logthread replay`` (keyed on the dead letter). The
records live in the one table (``TABLE_NAME``) beside the episodes; nothing else
builds a persistence layer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

T = TypeVar("T")

# A duplicate arriving later than this runs again (SNS redelivers within minutes).
EXPIRES_SECONDS = 24 * 3600
# Outside Lambda there is no invocation deadline: an in-progress record then
# expires after this budget, so a crashed local worker doesn't block retries.
LOCAL_BUDGET_SECONDS = 180

_layers: dict[tuple[int, str, str], Any] = {}
_lock = threading.Lock()


class Table(Protocol):
    """Where the records live: a DynamoDB client and the table's name."""

    @property
    def client(self) -> Any: ...

    @property
    def table_name(self) -> str: ...


class Outbox(Protocol):
    """What a run leaves to send after it (the Slack calls that failed for good).

    :func:`run_once` stores what :meth:`take` returns with the run's answer, and
    sends it after the record is written, also when a later copy gets the stored
    answer: a send that fails fails the delivery, and its retry sends it again
    instead of losing it behind a finished record.
    """

    def take(self) -> str | None:
        """What is left to send (emptied by the call), or None."""
        ...

    def send(self, stored: str) -> None:
        """Send what :meth:`take` returned (raises when it can't)."""
        ...


class _Remaining:
    """What Powertools Idempotency reads from a Lambda context: the time left."""

    def __init__(self, remaining_ms: Callable[[], int]) -> None:
        self._remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return int(self._remaining_ms())


def remaining_context(
    remaining_ms: Callable[[], int] | None, *, budget_seconds: float = LOCAL_BUDGET_SECONDS
) -> Any:
    """The stand-in Lambda context Powertools Idempotency reads its time left from.

    Parameters
    ----------
    remaining_ms:
        The invocation's time left (Lambda's context), or None outside Lambda.
    budget_seconds:
        Without ``remaining_ms`` there is no invocation deadline: the in-progress
        record then lives this long, so a crashed local worker doesn't block retries.

    Returns
    -------
    object
        An object with ``get_remaining_time_in_millis()``, for
        ``IdempotencyConfig.register_lambda_context``.
    """
    if remaining_ms is None:
        until = time.monotonic() + budget_seconds
        remaining_ms = lambda: int((until - time.monotonic()) * 1000)  # noqa: E731
    return _Remaining(remaining_ms)


def persistence_layer(table: Table, prefix: str) -> DynamoDBPersistenceLayer:
    """Powertools' DynamoDB persistence layer for one kind of work on ``table``.

    One per (client, table, prefix): Powertools configures a layer once and keeps
    the prefix on it, so sharing one between two kinds of work would let two
    threads of one process hash with each other's prefix.
    """
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    key = (id(table.client), table.table_name, prefix)
    with _lock:
        layer = _layers.get(key)
        if layer is None:
            layer = _layers[key] = DynamoDBPersistenceLayer(
                table_name=table.table_name,
                key_attr="id",
                expiry_attr="expiration",
                boto3_client=table.client,
            )
        return layer


def run_once(
    prefix: str,
    key: str,
    call: Callable[[], T],
    *,
    table: Table,
    remaining_ms: Callable[[], int] | None = None,
    budget_seconds: float = LOCAL_BUDGET_SECONDS,
    outbox: Outbox | None = None,
) -> T:
    """Run ``call`` unless a run for ``key`` finished (return its answer) or is running.

    Parameters
    ----------
    prefix:
        The kind of work (the record id is ``<prefix>#<hash of key>``).
    key:
        What makes two deliveries the same work (a task's id, a notification's hash).
    call:
        The work; its answer must be JSON-serialisable (it is stored).
    table:
        Where the records live (:class:`logthread.alarms.episodes.EpisodeStore` is one).
    remaining_ms:
        The invocation's time left (Lambda's context); bounds the in-progress record.
    budget_seconds:
        The in-progress record's life when there is no ``remaining_ms``.
    outbox:
        What the run leaves to send, kept in its record (see :class:`Outbox`).

    Raises
    ------
    IdempotencyAlreadyInProgressError
        Another delivery of ``key`` is running right now.
    """
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

    config = IdempotencyConfig(expires_after_seconds=EXPIRES_SECONDS)
    config.register_lambda_context(remaining_context(remaining_ms, budget_seconds=budget_seconds))

    def work(key: dict[str, str]) -> dict[str, Any]:
        answer = call()
        return {"answer": answer, "outbox": outbox.take() if outbox is not None else None}

    run = idempotent_function(
        work,
        data_keyword_argument="key",
        persistence_store=persistence_layer(table, prefix),
        config=config,
        key_prefix=prefix,
    )
    done = run(key={"key": key})
    if not (isinstance(done, dict) and set(done) == {"answer", "outbox"}):
        return done  # a record written before answers carried their outbox
    if done["outbox"] and outbox is not None:
        outbox.send(done["outbox"])
    result: T = done["answer"]
    return result
