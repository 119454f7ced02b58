"""Registration's pure rules (no I/O): what a filing does to a person's record."""
