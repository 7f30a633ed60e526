"""Songtor's shared package: event contracts, topic names, settings and Kafka/database helpers.

Everything here is imported by more than one service; nothing here runs at import time.
"""
