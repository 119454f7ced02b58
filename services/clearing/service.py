"""The clearing processor: the settlement feed into positions, plus commands and confirmations,
plus the outbox — one process, one PostgreSQL pool, one producer."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer

from contracts.pools import PoolingRegions
from events import catalog
from events.stream.clients import KafkaConnection, idempotent_producer
from events.wire.codec import Codec
from services.clearing.adapters.pg_metrics import open_pairs
from services.clearing.adapters.postgres import PgOutboxReader, PgPoolClearingUnitOfWork
from services.clearing.commands import GROUP as COMMANDS_GROUP
from services.clearing.commands import CommandConsumer, CommandHandler
from services.clearing.outbox import publish_pending
from services.clearing.projection import CLEARING
from services.runtime.db import through_outage
from services.runtime.metrics import GaugeSet, WorkerMetrics
from services.runtime.sink import SinkWorker

FEED_GROUP = catalog.CLEARING_GROUP
SETTLEMENT_TOPIC = catalog.SETTLEMENT
GAUGES_EVERY_S = 10.0
"""How often the clearing gauges (positions, prepayment usage per pair) are read again."""
log = structlog.get_logger("yidi.clearing")


class ClearingService:
    def __init__(
        self,
        bootstrap: KafkaConnection,
        database_url: str,
        codec: Codec,
        pools: PoolingRegions,
        instance_id: str | None = None,
        group_suffix: str = "",
        metrics: WorkerMetrics | None = None,
    ) -> None:
        self.group_suffix = group_suffix
        self.metrics = metrics
        self.bootstrap = bootstrap
        self.database_url = database_url
        self.codec = codec
        self.pools = pools
        self._publish_lock = asyncio.Lock()
        self.pool: asyncpg.Pool | None = None
        self._producer: AIOKafkaProducer | None = None
        assert CLEARING.mapper is not None and CLEARING.writer is not None
        self.feed = SinkWorker(
            bootstrap, database_url, CLEARING.mapper(codec, pools), topic=CLEARING.topic,
            group_id=CLEARING.group + group_suffix, instance_id=None if instance_id is None else f"{instance_id}-feed",
            write=CLEARING.writer(codec, False), after_batch=lambda _pool: self.flush_outbox(), name="clearing",
            metrics=None if metrics is None else metrics.processor("clearing"),
        )  # fmt: skip
        self.instance_id = instance_id
        self.commands: CommandConsumer | None = None

    @property
    def producer(self) -> AIOKafkaProducer:
        assert self._producer is not None, "start() first"
        return self._producer

    async def flush_outbox(self) -> None:
        assert self.pool is not None
        async with self._publish_lock:
            await publish_pending(PgOutboxReader(self.pool), self.producer)

    async def start(self) -> None:
        self.pool = await through_outage(
            lambda: asyncpg.create_pool(self.database_url, min_size=1, max_size=3)
        )
        self._producer = idempotent_producer(self.bootstrap, client_id="yidi-clearing-outbox")
        await self._producer.start()
        await through_outage(self.flush_outbox)
        await self.feed.start()
        self.commands = CommandConsumer(
            self.bootstrap, CommandHandler(self.codec, PgPoolClearingUnitOfWork(self.pool), pools=self.pools), self.producer,
            self.flush_outbox, instance_id=None if self.instance_id is None else f"{self.instance_id}-cmd",
            group_id=COMMANDS_GROUP + self.group_suffix,
            metrics=None if self.metrics is None else self.metrics.processor("clearing-commands"),
        )  # fmt: skip
        await self.commands.start()

    async def run(self, stop: asyncio.Event) -> None:
        assert self.commands is not None
        await asyncio.gather(
            self.feed.run(stop), self.commands.run(stop), self._outbox_loop(stop),
            self._gauges_loop(stop),
        )  # fmt: skip

    async def _gauges_loop(self, stop: asyncio.Event) -> None:
        """Positions and prepayment usage per open period and pair, every ``GAUGES_EVERY_S``
        (a failed read is logged, never raised: gauges never stop clearing)."""
        if self.metrics is None:
            return
        m = self.metrics
        positions, usage = GaugeSet(m.clearing_position), GaugeSet(m.prepayment_usage)
        yellow, red = GaugeSet(m.prepayment_yellow), GaugeSet(m.prepayment_red)
        while not stop.is_set():
            try:
                assert self.pool is not None
                pairs = await open_pairs(self.pool)
            except Exception as exc:
                log.warning("clearing_gauges_failed", error=type(exc).__name__)
                pairs = None
            if pairs is not None:
                positions.replace({p.labels: float(p.fund) for p in pairs})
                used = [p for p in pairs if p.usage is not None]
                usage.replace({p.labels: p.usage or 0.0 for p in used})
                yellow.replace({p.labels: (p.yellow_bp or 0) / 10_000 for p in used})
                red.replace({p.labels: (p.red_bp or 0) / 10_000 for p in used})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), GAUGES_EVERY_S)

    async def _outbox_loop(self, stop: asyncio.Event) -> None:
        """Closes issued from the CLI land in the outbox too; publish them within a second."""
        while not stop.is_set():
            await asyncio.sleep(1.0)
            await through_outage(self.flush_outbox)

    async def stop(self) -> None:
        if self.commands is not None:
            await self.commands.stop()
        await self.feed.stop()
        if self._producer is not None:
            await self._producer.stop()
        if self.pool is not None:
            await self.pool.close()
