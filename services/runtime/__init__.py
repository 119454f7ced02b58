"""Process-wide runtime pieces: settings, logging, database access."""
