"""Clearing: positions per period and participant pair, prepayment warnings, statements."""
