"""The traffic simulator: a realistic day of hospitals, persons, filings and visits."""
