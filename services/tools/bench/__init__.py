"""Benchmark drivers (commands print numbers; nothing here is a timed test)."""
