"""The alarm's metric as a picture: CloudWatch draws it, the alarm's thread shows it.

:func:`metric_widget` writes the ``MetricWidget`` JSON of ``GetMetricWidgetImage``:
the alarm's metrics (metric math included: the expression drawn, its terms hidden),
the threshold as a horizontal annotation, the evaluation window as a vertical
band, and a vertical mark at each failing request's time. :func:`post_graph`
fetches the PNG and uploads it (``files_upload_v2``) as a reply in the alarm's
thread: right under the message when it opens, again on OK with the whole
episode drawn.

Why a reply and not an image block in the message: an image block needs a file
Slack has finished processing (``slack_file``) or a public URL, and
``files.completeUploadExternal`` answers before the file is ready for a block;
a block that names a file that is not ready makes the whole message fail
(``invalid_blocks``), which must never happen to an alarm. A file shared in the
thread shows as soon as Slack has it, with nothing to wait for.

Best effort by design: the message is already up when the graph is drawn, and a
graph that fails (no permission, a throttle, a metric CloudWatch cannot draw)
is logged and counted, never retried with the notification and never
dead-lettered.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from logthread import telemetry
from logthread.alarms.parse import Alarm, MetricRef

__all__ = ["failure_times", "metric_widget", "post_graph"]

logger = logging.getLogger(__name__)

WIDTH, HEIGHT = 800, 360
MAX_MARKS = 20  # vertical marks for failing requests: more is noise
# The graph shows this much before the evaluation window, so the change stands out.
LEAD_MS = 30 * 60_000


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _metric_row(metric: MetricRef, visible: bool) -> list[Any]:
    if metric.expression:
        options: dict[str, Any] = {"expression": metric.expression, "id": metric.id or "e1"}
        if metric.label:
            options["label"] = metric.label
        return [options]
    row: list[Any] = [metric.namespace, metric.name]
    for key, value in metric.dimensions:
        row += [key, value]
    options = {}
    if metric.stat:
        options["stat"] = metric.stat.capitalize() if metric.stat.isupper() else metric.stat
    if metric.period:
        options["period"] = metric.period
    if metric.id:
        options["id"] = metric.id
    if metric.account:
        # A source account's metric, drawn from the monitoring account (cross-account
        # observability): the widget names the account as the alarm's query did.
        options["accountId"] = metric.account
    if not visible:
        options["visible"] = False
    return [*row, options] if options else row


def _may_draw(deps: Any, alarm: Alarm) -> bool:
    """Whether every account the alarm's metrics name may be read (a notification names
    them, so a metric of an account not in ``access.accounts`` is never drawn)."""
    accounts = {m.account for m in alarm.metrics if m.account}
    if not accounts:
        return True
    names = getattr(deps, "accounts", None)
    own = names.own()[0] if names is not None else ""
    access = deps.config.access
    return all(a == own or access.may_read_account(a) for a in accounts)


def metric_widget(
    alarm: Alarm,
    *,
    start_ms: int,
    end_ms: int,
    failures_ms: Sequence[int] = (),
    ended_ms: int | None = None,
) -> dict[str, Any] | None:
    """The ``MetricWidget`` document for ``alarm`` (None: the alarm has no metric to draw).

    ``start_ms``/``end_ms`` is the graph's span; the evaluation window (the
    periods that made the alarm fire) is shaded; ``failures_ms`` get a vertical
    mark each (the first :data:`MAX_MARKS`); ``ended_ms`` (on OK) marks the end.
    """
    drawn = [m for m in alarm.metrics if m.name or m.expression]
    if not drawn:
        return None
    math = any(m.expression for m in drawn)
    metrics = [_metric_row(m, visible=not math or bool(m.expression)) for m in drawn]
    horizontal = []
    if alarm.threshold is not None:
        horizontal.append({"value": alarm.threshold, "label": "Threshold", "color": "#d62728"})
    vertical: list[Any] = []
    changed = alarm.state_change_ms
    if changed and alarm.evaluation_seconds:
        began = changed - alarm.evaluation_seconds * 1000
        vertical.append(
            [
                {"value": _iso(max(began, start_ms)), "label": "Evaluated", "color": "#ff9896"},
                {"value": _iso(changed)},
            ]
        )
    for at in sorted(set(failures_ms))[:MAX_MARKS]:
        if start_ms <= at <= end_ms:
            vertical.append({"value": _iso(at), "color": "#ff7f0e"})
    if ended_ms is not None and start_ms <= ended_ms <= end_ms:
        vertical.append({"value": _iso(ended_ms), "label": "OK", "color": "#2ca02c"})
    widget: dict[str, Any] = {
        "metrics": metrics,
        "title": alarm.name[:200],
        "start": _iso(start_ms),
        "end": _iso(end_ms),
        "width": WIDTH,
        "height": HEIGHT,
        "view": "timeSeries",
        "legend": {"position": "bottom"},
        "annotations": {"horizontal": horizontal, "vertical": vertical},
    }
    if alarm.region:
        widget["region"] = alarm.region
    return widget


def failure_times(findings: Any) -> list[int]:
    """When each failing request of the findings last logged (the graph's marks)."""
    discovery = getattr(findings, "discovery", None)
    return [f.last_ms for f in (discovery.failures if discovery is not None else [])]


def post_graph(
    run: Any,
    channel: str,
    ts: str,
    *,
    failures_ms: Sequence[int] = (),
    started_ms: int | None = None,
    ended_ms: int | None = None,
) -> str:
    """Draw the alarm's graph and upload it in its thread; the file id, or "" (never raises).

    ``started_ms``/``ended_ms``: the episode (on OK the graph spans all of it).
    """
    deps, alarm = run.deps, run.alarm
    cloudwatch = getattr(deps, "graphs", None)
    if cloudwatch is None or not ts or not _may_draw(deps, alarm):
        return ""
    now = deps.now_ms()
    changed = alarm.state_change_ms or now
    first = min([changed, *(t for t in (started_ms,) if t)])
    start_ms = first - (alarm.evaluation_seconds or 300) * 1000 - LEAD_MS
    end_ms = max(now, changed, ended_ms or 0)
    try:
        widget = metric_widget(
            alarm, start_ms=start_ms, end_ms=end_ms, failures_ms=failures_ms, ended_ms=ended_ms
        )
        if widget is None:
            return ""
        png = cloudwatch.get_metric_widget_image(
            MetricWidget=json.dumps(widget), OutputFormat="png"
        )["MetricWidgetImage"]
        step = "graph-ok" if ended_ms is not None else "graph"
        title = f"{alarm.name} — {'resolved' if ended_ms is not None else 'when it fired'}"
        return str(
            run.once(
                step,
                lambda: _chat(deps).upload(
                    channel, ts, filename=f"{step}.png", content=png, title=title[:200]
                ),
            )
            or ""
        )
    except Exception:  # a graph is never worth the alarm: say so in the logs and go on
        telemetry.count(telemetry.FAILURES, dimension=("Stage", "graph"))
        logger.warning("the metric graph could not be drawn", exc_info=True)
        return ""


def _chat(deps: Any) -> Any:
    # The delivery's chat dead-letters what fails after the answer is up; a graph is
    # best effort, and its bytes are no letter: upload it with the chat underneath.
    from logthread.slack.deadletter import DeferringChat

    chat = deps.chat
    return chat.chat if isinstance(chat, DeferringChat) else chat
