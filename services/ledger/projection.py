"""The ledger's projection, declared once: the settlement feed into ``settlements``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from events import catalog
from services.runtime.projection import BatchWrite, Mapper, Projection

if TYPE_CHECKING:
    from collections.abc import Callable

    from contracts.pools import PoolingRegions
    from events.wire.codec import Codec


def _mapper(codec: Codec, _pools: PoolingRegions) -> Mapper:
    from services.ledger.rows import LedgerMapper

    return LedgerMapper(codec)


def _writer(_codec: Codec, _rebuild: bool) -> BatchWrite:
    from services.ledger.adapters.pg_sink import write_batch

    return write_batch  # type: ignore[return-value]


def _trusted(_codec: Codec, _pools: PoolingRegions) -> Callable[..., object]:
    from services.ledger.adapters.bulk import copy_line

    return copy_line


LEDGER = Projection(
    name="ledger",
    topic=catalog.SETTLEMENT,
    group=catalog.LEDGER_GROUP,
    tables=("settlements", "settlement_conflicts"),
    mapper=_mapper,
    writer=_writer,
    trusted_mapper=_trusted,
)
