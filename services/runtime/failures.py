"""Which failures are the infrastructure's: the stream layer's rule plus PostgreSQL's.

A record whose handling raises is dead-lettered, unless the failure is about a server (the
broker, the database): then the worker stops or pauses and reads the record again later.
``events/stream/guard.py`` knows the broker's errors; this adapter adds the database's.
"""

from __future__ import annotations

import asyncpg

from events.stream.guard import is_infrastructure as _stream_rule

_INFRA_SQLSTATE = ("08", "28", "40", "53", "55", "57", "58", "XX", "42501")
"""PostgreSQL error classes about the server, not the statement's data: connection, invalid
authorization, transaction rollback (serialization, deadlock), resources, lock not available,
operator intervention, system and internal errors; and ``42501`` insufficient privilege: a
service role without a grant it needs is a deployment fault (services/runtime/db_roles.py),
and dead-lettering every record it touches would empty the stream into the DLQ."""


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
