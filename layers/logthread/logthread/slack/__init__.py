"""Slack output: Block Kit rendering (:mod:`.render`) and posting (:mod:`.publish`)."""
