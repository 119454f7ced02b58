"""Operations tooling: dead-letter inspection and re-drive, and a stable digest of the ledger.

A pure core (``core/``: filters, redrive planning, canonical digest) and thin
adapters (the DLQ reader, the redrive journal in PostgreSQL, the digest
reader); ``services/entry/cli/dlq.py`` and ``yidi ledger hash`` drive them.
"""
