"""The hospital SDK: publish signed visit events, await and read this hospital's own acks."""
