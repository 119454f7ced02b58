"""Contracts: pydantic v2 models of every message and reference-data file. No I/O here."""
