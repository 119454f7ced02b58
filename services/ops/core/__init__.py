"""The pure part of ops tooling: no Kafka, no SQL, no asyncio."""
