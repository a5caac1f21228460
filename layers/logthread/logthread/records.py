"""The one record shape every parsed log line becomes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One log line, whatever format it was written in.

    Attributes
    ----------
    timestamp:
        Event time in epoch milliseconds (CloudWatch's ``timestamp``).
    message:
        The human part of the line; for unknown formats, the raw line.
    level:
        ``ERROR``, ``WARN``, ``INFO``, ``DEBUG``... or ``""`` when the format has none.
        Platform lines (START/END/REPORT) use ``"PLATFORM"``.
    request_id:
        The Lambda request id the line belongs to, ``""`` if none could be read.
    log_group, log_stream:
        Where the line lives.
    event_id:
        CloudWatch's eventId, used to de-duplicate merged pages ("" for Insights rows).
    kind:
        ``start`` | ``end`` | ``report`` | ``text`` | ``json`` | ``powertools`` | ``platform`` | ``raw``.
    extra:
        Format specific fields: REPORT durations, JSON keys, X-Ray trace id...
    raw:
        The line exactly as CloudWatch returned it.
    context:
        True for neighbouring lines added as context, not lines of the request itself.
    """

    timestamp: int
    message: str
    level: str = ""
    request_id: str = ""
    log_group: str = ""
    log_stream: str = ""
    event_id: str = ""
    kind: str = "raw"
    extra: dict[str, Any] = field(default_factory=dict)
    raw: str = ""
    context: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def is_error(self) -> bool:
        return self.level in {"ERROR", "FATAL", "CRITICAL"}
