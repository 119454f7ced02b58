"""Ledger: settlements -> PostgreSQL, in batches, exactly once per setl_id."""
