"""Clearing's adapters: PostgreSQL (asyncpg) and in-memory implementations of ``ports``."""
