"""Local stand-ins for AWS and Slack, used by the tests, `make demo` and `logthread dev`.

Never shipped in the Lambda layer.
"""
