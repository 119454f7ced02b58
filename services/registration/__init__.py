"""Registration: filings and insured-person status from home-region agencies."""
