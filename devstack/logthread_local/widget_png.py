"""``GetMetricWidgetImage`` for the local stack: moto has none, so the stack draws one.

:func:`install` hooks the core's boto3 session: a ``GetMetricWidgetImage`` call is
answered here (before it would reach moto) with a PNG drawn from the metric data
moto holds (``GetMetricData``): each series as a line, the horizontal annotations
(the threshold) in red, vertical bands shaded, vertical marks as lines. No
labels, no fonts: enough to see that the right metric, threshold, window and
marks were asked for. Plain ``zlib`` + ``struct``: no imaging library, in the
local stack or anywhere else.
"""

from __future__ import annotations

import itertools
import json
import struct
import zlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse, HTTPHeaders

__all__ = ["install", "render"]

Color = tuple[int, int, int]
BACKGROUND: Color = (255, 255, 255)
AXIS: Color = (160, 160, 160)
SERIES: list[Color] = [(31, 119, 180), (148, 103, 189), (140, 86, 75), (23, 190, 207)]
PAD = 24


def _hex(color: Any, default: Color) -> Color:
    text = str(color or "").lstrip("#")
    if len(text) != 6:
        return default
    try:
        return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)
    except ValueError:
        return default


def _ms(iso: Any) -> int | None:
    try:
        return int(datetime.fromisoformat(str(iso).replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


class Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(BACKGROUND * (width * height))

    def dot(self, x: int, y: int, color: Color) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            i = 3 * (y * self.width + x)
            self.pixels[i : i + 3] = bytes(color)

    def line(self, x0: int, y0: int, x1: int, y1: int, color: Color) -> None:
        steps = max(abs(x1 - x0), abs(y1 - y0), 1)
        for s in range(steps + 1):
            self.dot(x0 + (x1 - x0) * s // steps, y0 + (y1 - y0) * s // steps, color)

    def shade(self, x0: int, x1: int, top: int, bottom: int, color: Color) -> None:
        for x in range(max(min(x0, x1), 0), min(max(x0, x1), self.width - 1) + 1):
            for y in range(top, bottom + 1):
                self.dot(x, y, color)

    def png(self) -> bytes:
        rows = b"".join(
            b"\x00" + bytes(self.pixels[3 * y * self.width : 3 * (y + 1) * self.width])
            for y in range(self.height)
        )

        def chunk(kind: bytes, data: bytes) -> bytes:
            return (
                struct.pack(">I", len(data))
                + kind
                + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
            )

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows, 6))
            + chunk(b"IEND", b"")
        )


def _queries(widget: dict[str, Any]) -> list[dict[str, Any]]:
    """``GetMetricData`` queries for the widget's raw metrics (expressions left to CloudWatch)."""
    out = []
    for n, row in enumerate(widget.get("metrics") or []):
        if not isinstance(row, list) or len(row) < 2 or not isinstance(row[0], str):
            continue
        options = row[-1] if isinstance(row[-1], dict) else {}
        names = [str(v) for v in (row[:-1] if options else row)]
        dims = [{"Name": k, "Value": v} for k, v in zip(names[2::2], names[3::2], strict=False)]
        out.append(
            {
                "Id": f"q{n}",
                "MetricStat": {
                    "Metric": {"Namespace": names[0], "MetricName": names[1], "Dimensions": dims},
                    "Period": int(options.get("period") or widget.get("period") or 60),
                    "Stat": str(options.get("stat") or widget.get("stat") or "Average"),
                },
            }
        )
    return out


def render(widget: dict[str, Any], cloudwatch: Any) -> bytes:
    """The PNG of ``widget``, its series read from ``cloudwatch`` (moto)."""
    width = int(widget.get("width") or 600)
    height = int(widget.get("height") or 300)
    canvas = Canvas(width, height)
    start, end = _ms(widget.get("start")), _ms(widget.get("end"))
    if start is None or end is None or end <= start:
        return canvas.png()
    series: list[list[tuple[int, float]]] = []
    queries = _queries(widget)
    if queries:
        answer = cloudwatch.get_metric_data(
            MetricDataQueries=queries,
            StartTime=datetime.fromtimestamp(start / 1000),
            EndTime=datetime.fromtimestamp(end / 1000),
        )
        for result in answer.get("MetricDataResults", []):
            points = [
                (int(t.timestamp() * 1000), float(v))
                for t, v in zip(
                    result.get("Timestamps", []), result.get("Values", []), strict=False
                )
            ]
            series.append(sorted(points))
    annotations = widget.get("annotations") or {}
    levels = [float(h["value"]) for h in annotations.get("horizontal") or [] if "value" in h]
    values = [v for points in series for _, v in points] + levels + [0.0]
    low, high = min(values), max(values)
    high = high + (high - low) * 0.1 or 1.0

    def x_of(ms: int) -> int:
        return PAD + (ms - start) * (width - 2 * PAD) // (end - start)

    def y_of(value: float) -> int:
        return height - PAD - int((value - low) / (high - low) * (height - 2 * PAD))

    for mark in annotations.get("vertical") or []:
        if isinstance(mark, list) and len(mark) == 2:  # a band: shaded
            a, b = _ms(mark[0].get("value")), _ms(mark[1].get("value"))
            if a is not None and b is not None:
                shade = _hex(mark[0].get("color"), (255, 152, 150))
                light = tuple(255 - (255 - c) // 3 for c in shade)
                canvas.shade(x_of(a), x_of(b), PAD, height - PAD, light)  # type: ignore[arg-type]
        elif isinstance(mark, dict) and (at := _ms(mark.get("value"))) is not None:
            canvas.line(x_of(at), PAD, x_of(at), height - PAD, _hex(mark.get("color"), AXIS))
    canvas.line(PAD, height - PAD, width - PAD, height - PAD, AXIS)
    canvas.line(PAD, PAD, PAD, height - PAD, AXIS)
    for h in annotations.get("horizontal") or []:
        y = y_of(float(h["value"]))
        canvas.line(PAD, y, width - PAD, y, _hex(h.get("color"), (214, 39, 40)))
    for n, points in enumerate(series):
        color = SERIES[n % len(SERIES)]
        for (t0, v0), (t1, v1) in itertools.pairwise(points):
            canvas.line(x_of(t0), y_of(v0), x_of(t1), y_of(v1), color)
        for t, v in points:
            for dx in (-1, 0, 1):
                canvas.dot(x_of(t) + dx, y_of(v), color)
    return canvas.png()


def install(session: Any, endpoint: str) -> Callable[[], None]:
    """Answer ``GetMetricWidgetImage`` on ``session``'s clients; return the undo."""
    events = session.events
    moto = boto3.client("cloudwatch", endpoint_url=endpoint, region_name="us-east-1")

    def keep_widget(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["metric_widget"] = params.get("MetricWidget", "{}")

    def answer(context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        widget = json.loads(context.get("metric_widget") or "{}")
        png = render(widget if isinstance(widget, dict) else {}, moto)
        return AWSResponse(endpoint, 200, HTTPHeaders(), None), {"MetricWidgetImage": png}

    build = "before-parameter-build.cloudwatch.GetMetricWidgetImage"
    call = "before-call.cloudwatch.GetMetricWidgetImage"
    events.register(build, keep_widget, unique_id="logthread-local-widget-params")
    events.register(call, answer, unique_id="logthread-local-widget-image")

    def undo() -> None:
        events.unregister(build, unique_id="logthread-local-widget-params")
        events.unregister(call, unique_id="logthread-local-widget-image")

    return undo
