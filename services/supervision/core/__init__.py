"""The supervision rules as pure functions: no faust, Kafka, SQL, asyncio or structlog.

Why pure: the rules decide who is flagged and what is at stake; they are tested
exhaustively (hypothesis) without a broker, and the faust adapter only carries
state and windows.
"""
