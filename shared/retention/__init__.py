"""Retention, as data: how long each place keeps personal data (settings.py), the rules every
service shares (rules.py) and the background job that enforces them (job.py). The table of every
place and its period is docs/retention.md; the purge mechanism is shared/db/retention.py."""
