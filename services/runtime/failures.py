"""Which failures are the infrastructure's: the stream layer's rule plus PostgreSQL's.

A record whose handling raises is dead-lettered, unless the failure is about a server (the
broker, the database): then the worker stops or pauses and reads the record again later.
``events/stream/guard.py`` knows the broker's errors; this adapter adds the database's.
"""

from __future__ import annotations

import asyncpg

from events.stream.guard import is_infrastructure as _stream_rule

_INFRA_SQLSTATE = ("08", "40", "53", "55", "57", "58", "XX")
"""PostgreSQL error classes about the server, not the statement's data: connection, transaction
rollback (serialization, deadlock), resources, lock not available, operator intervention,
system and internal errors."""


def postgres_verdict(exc: BaseException) -> bool | None:
    """True for a PostgreSQL failure of the server, False for one of the statement's data,
    None for an error that is not asyncpg's."""
    if isinstance(exc, asyncpg.InterfaceError):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        state = str(getattr(exc, "sqlstate", "") or "")
        return state.startswith(_INFRA_SQLSTATE)
    return None


def is_infrastructure(exc: BaseException) -> bool:
    """The broker's, the network's or the database's failure (not the record's)."""
    return _stream_rule(exc, postgres_verdict)
