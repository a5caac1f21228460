"""The ingress's structured logs and EMF metrics, as Powertools prints them, without Powertools.

Importing ``aws_lambda_powertools`` costs a cold start 50-60 ms (its package
``__init__`` loads the Logger, Metrics and Tracer modules, jmespath and botocore's
package); the ingress is on the path Slack waits 3 seconds for, and it needs
two things from it: JSON log lines with appended keys and a few EMF counts
(README, "The ack path"). This module prints both in Powertools' shapes (same
keys, same EMF directives), so CloudWatch queries, metric filters and dashboards
see no difference between the ingress and the worker, which keeps Powertools.

The formatter answers Powertools Logger's calls too (``append_keys``,
``remove_keys``, ``clear_state``...): where both handlers share a process (the
local stack, the tests) a Powertools Logger created later reuses this handler
instead of adding a second one, as it would reuse its own.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
}
_cold_start = True


class _NotFrom(logging.Filter):
    """Drops the service's records (``service`` and ``service.*``)."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        return not (name == self.service or name.startswith(self.service + "."))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: Powertools Logger's keys, the appended keys, the extras."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service
        self._keys: dict[str, Any] = {}

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(record.created))
        doc: dict[str, Any] = {
            "level": record.levelname,
            "location": f"{record.funcName}:{record.lineno}",
            "message": record.getMessage(),
            "timestamp": f"{stamp},{int(record.msecs):03d}+0000",
            "service": self.service,
            **self._keys,
        }
        doc.update((k, v) for k, v in vars(record).items() if k not in _RECORD_FIELDS)
        if record.exc_info and record.exc_info[0] is not None:
            doc["exception"] = self.formatException(record.exc_info)
            doc["exception_name"] = record.exc_info[0].__name__
        trace = os.environ.get("_X_AMZN_TRACE_ID", "")
        if trace:
            doc["xray_trace_id"] = trace.split(";")[0].removeprefix("Root=")
        return json.dumps(doc, default=str, separators=(",", ":"))

    # Powertools Logger's formatter interface (a Powertools Logger may share this handler).

    def append_keys(self, **keys: Any) -> None:
        self._keys.update(keys)

    def remove_keys(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._keys.pop(key, None)

    def get_current_keys(self) -> dict[str, Any]:
        return dict(self._keys)

    def clear_state(self) -> None:
        self._keys.clear()

    @contextmanager
    def append_context_keys(self, **keys: Any) -> Iterator[None]:
        self.append_keys(**keys)
        try:
            yield
        finally:
            self.remove_keys(keys)

    thread_safe_append_keys = append_keys
    thread_safe_remove_keys = remove_keys
    thread_safe_get_current_keys = get_current_keys
    thread_safe_clear_keys = clear_state


class Logger:
    """The service's logger (``logging.getLogger(service)``) printing :class:`JsonFormatter` lines.

    Core modules log through ``logging.getLogger(__name__)`` (``logthread.*``), which
    propagates here. Level from ``POWERTOOLS_LOG_LEVEL`` (default INFO).
    """

    def __init__(self, service: str = "", stream: IO[str] | None = None) -> None:
        self.service = service or os.environ.get("POWERTOOLS_SERVICE_NAME") or "logthread"
        self._logger = logging.getLogger(self.service)
        # The core logs through plain child loggers ("logthread.ingress"), which take this
        # level; set it even when sharing a handler another Logger configured.
        self._logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO").upper())
        existing = getattr(self._logger, "powertools_handler", None)
        if existing is not None and hasattr(existing.formatter, "append_keys"):
            # Already set up, by this class or by a Powertools Logger: share it.
            self.handler: logging.Handler = existing
            return
        self.handler = logging.StreamHandler(stream or sys.stdout)
        self.handler.setFormatter(JsonFormatter(self.service))
        self._logger.addHandler(self.handler)
        # Lambda's runtime puts its own handler on the root logger: without this filter, every
        # line would also come out a second time in its format (Powertools does the same).
        for root_handler in logging.root.handlers:
            if type(root_handler).__module__ != "_pytest.logging":  # leave caplog its records
                root_handler.addFilter(_NotFrom(self.service))
        # What a Powertools Logger looks for to reuse a configured logger (its "init").
        self._logger.init = True  # type: ignore[attr-defined]
        self._logger.powertools_handler = self.handler  # type: ignore[attr-defined]
        self._logger.powertools_buffer_config = None  # type: ignore[attr-defined]
        self._logger.powertools_buffer_cache = None  # type: ignore[attr-defined]

    def exception(self, message: str, **kwargs: Any) -> None:
        self._logger.exception(message, stacklevel=2, **kwargs)

    def append_keys(self, **keys: Any) -> None:
        append = getattr(self.handler.formatter, "append_keys", None)
        if append is not None:
            append(**keys)

    def inject_lambda_context(self, handler: F) -> F:
        """Add the invocation's keys to every line it logs (as Powertools' decorator does)."""

        @functools.wraps(handler)
        def wrapped(event: Any, context: Any) -> Any:
            global _cold_start
            cold, _cold_start = _cold_start, False
            self.append_keys(
                cold_start=cold,
                function_name=getattr(context, "function_name", ""),
                function_memory_size=getattr(context, "memory_limit_in_mb", 0),
                function_arn=getattr(context, "invoked_function_arn", ""),
                function_request_id=getattr(context, "aws_request_id", ""),
            )
            return handler(event, context)

        return wrapped  # type: ignore[return-value]


class Metrics:
    """EMF counts to stdout, one document each, as Powertools' ``Metrics`` prints them.

    :func:`logthread.telemetry.recording` writes into it; ``log_metrics`` prints
    the cold start (dimension ``function_name``) and what the invocation added.
    ``POWERTOOLS_METRICS_DISABLED=true`` silences it.
    """

    def __init__(self, namespace: str, service: str = "", stream: IO[str] | None = None) -> None:
        self.namespace = namespace
        self.service = service or os.environ.get("POWERTOOLS_SERVICE_NAME") or "logthread"
        self._stream = stream
        self._pending: dict[str, float] = {}
        self._cold = True

    def add_metric(self, name: str, unit: Any, value: float) -> None:
        self._pending[name] = self._pending.get(name, 0) + value

    def single_count(self, name: str, dimension: str, dimension_value: str, value: float) -> None:
        """Print one count with one dimension (plus ``service``) now."""
        self._print(name, value, {dimension: dimension_value})

    def flush_metrics(self) -> None:
        pending, self._pending = self._pending, {}
        for name, value in sorted(pending.items()):
            self._print(name, value, {})

    def log_metrics(
        self, handler: F | None = None, *, capture_cold_start_metric: bool = False
    ) -> Any:
        """Decorator: the cold start metric first, the invocation's counts when it ends."""
        if handler is None:
            return functools.partial(
                self.log_metrics, capture_cold_start_metric=capture_cold_start_metric
            )

        @functools.wraps(handler)
        def wrapped(event: Any, context: Any) -> Any:
            if capture_cold_start_metric and self._cold:
                name = getattr(context, "function_name", "") or self.service
                self._print("ColdStart", 1, {"function_name": name})
            self._cold = False
            try:
                return handler(event, context)
            finally:
                self.flush_metrics()

        return wrapped

    def _print(self, name: str, value: float, dimensions: dict[str, str]) -> None:
        if os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() in {"1", "true", "on"}:
            return
        dims = {**dimensions, "service": self.service}
        doc = {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": self.namespace,
                        "Dimensions": [list(dims)],
                        "Metrics": [{"Name": name, "Unit": "Count"}],
                    }
                ],
            },
            **dims,
            name: [float(value)],
        }
        print(json.dumps(doc, separators=(",", ":")), file=self._stream or sys.stdout, flush=True)
