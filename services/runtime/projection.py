"""What a projection is: a table set in PostgreSQL kept from one topic by one consumer group.

Each processor declares its projections once, next to its code (``services/ledger/
projection.py``, ``services/clearing/projection.py``, ``services/registration/
projection.py``); the live workers (``services/entry/bootstrap.py``), replay, rebuild and shadow
(``services/ops``) read those declarations instead of retyping topics, groups and tables.
Mapper and writer are factories so that a module reading the declaration (a trusted rebuild
worker) imports the contract models only when it builds the validating path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncpg

    from contracts.pools import PoolingRegions
    from events.stream.types import InputRecord
    from events.wire.codec import Codec
    from services.runtime.positions import BatchOutcome

Mapper = Callable[["InputRecord"], object]
"""A record to its row (or fact), ``None`` (not this projection's), or a DLQ ``Output``."""
BatchWrite = Callable[
    ["asyncpg.Connection", str, Sequence[object], dict[tuple[str, int], int]],
    Awaitable["BatchOutcome"],
]
"""Land a batch's rows and the group's next offsets in one transaction."""


@dataclass(frozen=True, slots=True)
class Projection:
    name: str
    topic: str
    group: str
    """The live worker's consumer group (before the deployment's suffix)."""
    tables: tuple[str, ...]
    """Emptied by a rebuild (what the projection derives from its topic, and nothing else)."""
    mapper: Callable[[Codec, PoolingRegions], Mapper] | None = None
    """The validating mapper the live sink uses (``None``: the projection is a stream task's
    state, not a sink's)."""
    writer: Callable[[Codec, bool], BatchWrite] | None = None
    """The batch write, given the codec and whether it runs in a rebuild (no warnings for
    re-landed history)."""
    trusted_mapper: Callable[[Codec, PoolingRegions], Callable[..., object]] | None = None
    """The fast mapper a ``--trusted`` rebuild uses, equal to ``mapper`` on every record it
    accepts (the equality test sits beside it)."""
    positions_group: str | None = None
    """Where a rebuild keeps its progress when the live worker commits in Kafka instead of
    ``sink_offsets`` (filings); ``None``: the live sink's own positions."""
