"""Real-time results to the national drug-rehabilitation system (บสต., ONCB): docs/national-feed.md.

ledger.py turns the events of consented rehabilitation and CI-centre people into records in each
person's order (records.py builds them, contract.py is the published schema, assistance_map.toml
maps our help to the national categories); queue.py picks which go next; sender.py sends them
over HTTPS with the shared delivery machinery (shared/delivery); backfill.py sends a past period.
"""
