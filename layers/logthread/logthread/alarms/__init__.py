"""Alarms: each notification on the alarm topic becomes a Slack message with the
failing requests' log lines threaded under it.

- :mod:`.parse` reads a notification into an :class:`Alarm` (never raises; :mod:`.fields`);
- :mod:`.extract` takes request ids from payloads that carry them (jmespath rules);
- :mod:`.discover` finds the failing requests in CloudWatch Logs when they don't
  (:mod:`.patterns` re-checks metric filter patterns client-side);
- :mod:`.render` builds the alarm message, :mod:`.replies` the alarm's thread replies;
- :mod:`.rescan`: "Search logs again" when discovery found nothing;
- :mod:`.flow` ties it together: :func:`logthread.alarms.flow.handle_notification`.
"""

from logthread.alarms.parse import Alarm, MetricRef, parse

__all__ = ["Alarm", "MetricRef", "parse"]
