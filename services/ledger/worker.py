"""The ledger's live sink: the settlement feed into ``settlements``, one transaction per
fetched batch (``services/runtime/sink.py`` is the sink; the projection is declared in
``services/ledger/projection.py``)."""

from __future__ import annotations

from events import catalog
from events.stream.clients import KafkaConnection
from events.wire.codec import Codec
from services.ledger.adapters.pg_sink import write_batch
from services.ledger.rows import LedgerMapper
from services.runtime.metrics import ProcessorMetrics
from services.runtime.sink import SinkStats, SinkWorker

GROUP = catalog.LEDGER_GROUP
"""The ledger's consumer group (plus the settings' group suffix)."""
LedgerStats = SinkStats


def ledger_sink(
    bootstrap: KafkaConnection,
    database_url: str,
    codec: Codec,
    group_id: str = GROUP,
    instance_id: str | None = None,
    topic: str = catalog.SETTLEMENT,
    metrics: ProcessorMetrics | None = None,
) -> SinkWorker:
    return SinkWorker(
        bootstrap, database_url, LedgerMapper(codec), topic=topic, group_id=group_id,
        write=write_batch, instance_id=instance_id, name="ledger", metrics=metrics,  # type: ignore[arg-type]
    )  # fmt: skip
