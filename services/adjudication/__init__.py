"""Adjudication: the treatment region's catalog x the home region's policy.

``core/`` is pure (no asyncio, Kafka, SQL or structlog); ``reference`` loads the
shipped files; ``offline`` runs a JSONL file of messages through the core.
"""
