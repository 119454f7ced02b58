"""Clearing's projection, declared once: the settlement feed into entries and positions.

Clearing keeps periods, statements, confirmations, prepayments and warning levels out of
``tables``: they record decisions, not the feed, and a rebuild must not empty them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from events import catalog
from services.runtime.projection import BatchWrite, Mapper, Projection

if TYPE_CHECKING:
    from collections.abc import Callable

    from contracts.pools import PoolingRegions
    from events.wire.codec import Codec


def _mapper(codec: Codec, pools: PoolingRegions) -> Mapper:
    from services.clearing.feed import ClearingMapper

    return ClearingMapper(codec, pools)


def _writer(codec: Codec, rebuild: bool) -> BatchWrite:
    from services.clearing.adapters.pg_sink import ClearingSink

    return ClearingSink(codec, rebuild=rebuild)


def _trusted(codec: Codec, pools: PoolingRegions) -> Callable[..., object]:
    from services.clearing.feed import TrustedClearingMapper

    return TrustedClearingMapper(codec, pools)


CLEARING = Projection(
    name="clearing",
    topic=catalog.SETTLEMENT,
    group=catalog.CLEARING_GROUP,
    tables=("clearing_entries", "clearing_positions"),
    mapper=_mapper,
    writer=_writer,
    trusted_mapper=_trusted,
)
