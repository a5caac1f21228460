"""Alarms: each notification on the alarm topic becomes a Slack message with the
failing requests' log lines threaded under it.

- :mod:`.parse` reads a notification into an :class:`Alarm` (never raises);
- :mod:`.extract` takes request ids from payloads that carry them (jmespath rules);
- :mod:`.discover` finds the failing requests in CloudWatch Logs when they don't;
- :mod:`.render` builds the Block Kit messages;
- :mod:`.flow` ties it together: :func:`logthread.alarms.flow.handle_notification`.
"""

from logthread.alarms.parse import Alarm, MetricRef, parse

__all__ = ["Alarm", "MetricRef", "parse"]
