"""Test access to the throw-away databases (see services/testing/scratch_db.py)."""

from services.testing.scratch_db import fresh_database, seed_sink_positions_at_end

__all__ = ["fresh_database", "seed_sink_positions_at_end"]
