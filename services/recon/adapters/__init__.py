"""PostgreSQL adapters of reconciliation (the repository behind its ports)."""
