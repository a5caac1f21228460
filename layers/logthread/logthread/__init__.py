"""logthread: the failing request's CloudWatch logs, threaded under the alarm in Slack."""

__version__ = "0.1.0"
