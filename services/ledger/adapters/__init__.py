"""PostgreSQL adapters of the ledger: the sink's writes and the bulk COPY path."""
