"""Builders of sample events and scratch databases for tests and tools.

Product code never imports it: a fixture that leaks into a worker is a test-only path
in production.
"""
