"""The dashboard's reads: PostgreSQL (asyncpg), LISTEN/NOTIFY, the broker (as ``ops``)."""
