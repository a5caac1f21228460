"""What the alarm path raises for a delivery's retry to cure."""

from __future__ import annotations


class NoChannel(RuntimeError):
    """Neither a route nor a default channel: the notification can't be posted anywhere."""


class EpisodeBusy(RuntimeError):
    """Another delivery is posting this alarm's message right now; retry shortly."""
