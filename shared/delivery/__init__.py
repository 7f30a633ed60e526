"""Delivery of records to another organisation's system over HTTPS, at least once: signed
requests (and/or mutual TLS), retries with exponential backoff and full jitter, a circuit breaker
per receiving system, parking after the last attempt and re-drive by an operator. The agency
webhooks are built on it, and so is any other channel that pushes to a system outside Songtor
(docs/delivery.md)."""
