"""The one place that wires workers: settings -> reference data, keys, codec, engines, pools.

Nothing here runs at import; each builder is called from a worker's start-up.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import asyncpg

from events.catalog import Topic, with_ack_topics
from events.stream.config import EngineConfig
from events.stream.engine import StreamEngine
from events.stream.types import Output
from events.wire.agency_signing import AgencyKeys, SigningKeys
from events.wire.codec import Codec
from events.wire.demo_keys import demo_agency_keys, demo_registry, demo_signing_keys
from events.wire.signing import KeyRegistry
from services.adjudication import task as adjudication
from services.adjudication.core.tables import ReferenceData
from services.adjudication.reference import load_reference
from services.clearing.service import ClearingService
from services.ledger.worker import GROUP as LEDGER_GROUP
from services.ledger.worker import ledger_sink
from services.recon import worker as recon
from services.registration import projection as filings
from services.registration import task as registration
from services.runtime import principals
from services.runtime.db import through_outage
from services.runtime.metrics import ProcessorMetrics, WorkerMetrics
from services.runtime.settings import Settings
from services.runtime.sink import SinkWorker


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    ref: ReferenceData
    codec: Codec

    def senders(self) -> list[str]:
        return sender_ids(self.ref)


def sender_ids(ref: ReferenceData) -> list[str]:
    """Every institution, and an agency for every pooling region and province the reference
    data knows plus the national platform (``AG000000``): agencies file, confirm and command."""
    institutions = sorted(ref.institutions)
    regions = {admdvs for admdvs, _year in ref.policies}
    regions |= {i.admdvs for i in ref.institutions.values()}
    regions |= {r[:2] + "0000" for r in regions} | {"000000"}
    return institutions + sorted(f"AG{r}" for r in regions)


def build_runtime(settings: Settings) -> Runtime:
    ref = load_reference(settings.reference_dir)
    if settings.key_registry is not None:
        keys = KeyRegistry.load(settings.key_registry)
    elif settings.env == "prod":
        raise RuntimeError("YIDI_KEY_REGISTRY is required in prod (demo keys are public)")
    else:
        keys = demo_registry(sender_ids(ref))
    if settings.agency_keys is not None:
        agency_keys = AgencyKeys.load(settings.agency_keys)
    elif settings.env == "prod":
        raise RuntimeError("YIDI_AGENCY_KEYS is required in prod (demo keys are public)")
    else:
        agency_keys = demo_agency_keys(sender_ids(ref))
    if settings.signing_keys is not None:
        signing_keys = SigningKeys.load(settings.signing_keys)
    elif settings.env == "prod":
        signing_keys = SigningKeys([])  # a platform process signs no sign-off
    else:
        signing_keys = demo_signing_keys(sender_ids(ref))
    return Runtime(settings, ref, Codec(keys, agency_keys, signing_keys))


def catalog_with_acks(runtime: Runtime) -> tuple[Topic, ...]:
    return with_ack_topics(runtime.senders())


def _for(metrics: WorkerMetrics | None, processor: str) -> ProcessorMetrics | None:
    return None if metrics is None else metrics.processor(processor)


def adjudication_engine(
    runtime: Runtime, group_id: str = adjudication.GROUP, metrics: WorkerMetrics | None = None
) -> StreamEngine:
    config = EngineConfig(
        bootstrap=runtime.settings.kafka(principals.ADJUDICATION),
        group_id=group_id,
        inputs=adjudication.INPUTS,
        changelog=adjudication.CHANGELOG,
        client_id=f"{runtime.settings.client_id}-adjudication",
        instance_id=_instance(runtime, "adjudication"),
        transactions=runtime.settings.transactions,
        pause_before_publish=runtime.settings.fault_pause_before_publish,
    )
    return StreamEngine(
        config,
        lambda p, restored: adjudication.AdjudicationTask(p, restored, runtime.codec, runtime.ref),
        guard=adjudication.guard(runtime.codec),
        metrics=_for(metrics, "adjudication"),
    )


class RegistrationWorker:
    """The registration engine plus its PostgreSQL projection, written once per batch: the
    tasks emit their rows through one ``PendingRows`` port, drained after each batch's
    outputs are published and before its state writes (so a restart that skips a record
    finds its rows landed)."""

    def __init__(self, runtime: Runtime, metrics: WorkerMetrics | None = None) -> None:
        self.runtime = runtime
        self.pool: asyncpg.Pool | None = None
        self.rows = filings.PendingRows()
        config = EngineConfig(
            bootstrap=runtime.settings.kafka(principals.REGISTRATION),
            group_id=registration.GROUP,
            inputs=registration.INPUTS,
            changelog=registration.CHANGELOG,
            client_id=f"{runtime.settings.client_id}-registration",
            instance_id=_instance(runtime, "registration"),
            transactions=runtime.settings.transactions,
        )
        self.engine = StreamEngine(
            config,
            lambda p, restored: registration.RegistrationTask(
                p, restored, runtime.codec, self.rows
            ),
            on_batch=self._project,
            guard=registration.guard(runtime.codec),
            metrics=_for(metrics, "registration"),
        )

    async def _project(self, _outputs: list[Output]) -> None:
        rows = self.rows.drain()
        pool = self.pool
        if rows:
            assert pool is not None

            async def land() -> None:  # one transaction, upserts: safe to repeat
                async with pool.acquire() as conn:
                    await filings.land(conn, rows)

            await through_outage(land)

    async def start(self) -> None:
        url = self.runtime.settings.service_database_url("registration")
        self.pool = await through_outage(lambda: asyncpg.create_pool(url, min_size=1, max_size=2))
        await self.engine.start()

    async def run(self, stop: asyncio.Event) -> None:
        await self.engine.run(stop)

    async def stop(self) -> None:
        await self.engine.stop()
        if self.pool is not None:
            await self.pool.close()


def ledger_worker(
    runtime: Runtime, group_id: str | None = None, metrics: WorkerMetrics | None = None
) -> SinkWorker:
    if group_id is None:
        group_id = LEDGER_GROUP + runtime.settings.group_suffix
    return ledger_sink(
        runtime.settings.kafka(principals.LEDGER),
        runtime.settings.service_database_url("ledger"),
        runtime.codec,
        group_id=group_id,
        instance_id=_instance(runtime, "ledger"),
        metrics=_for(metrics, "ledger"),
    )


def _instance(runtime: Runtime, worker: str) -> str | None:
    base = runtime.settings.instance_id
    return None if base is None else f"{base}-{worker}"


def clearing_service(runtime: Runtime, metrics: WorkerMetrics | None = None) -> ClearingService:
    return ClearingService(
        runtime.settings.kafka(principals.CLEARING),
        runtime.settings.service_database_url("clearing"),
        runtime.codec,
        runtime.ref.pooling,
        instance_id=_instance(runtime, "clearing"),
        group_suffix=runtime.settings.group_suffix,
        metrics=metrics,
    )


def recon_worker(runtime: Runtime, metrics: WorkerMetrics | None = None) -> recon.ReconWorker:
    """Hospital reconciliation against this settings' database; its groups follow the sinks'
    suffix so a second database reconciles against its own ledger."""
    suffix = runtime.settings.group_suffix
    return recon.ReconWorker(
        runtime.settings.kafka(principals.RECON),
        runtime.settings.service_database_url("recon"),
        runtime.codec,
        group_id=recon.GROUP + suffix,
        ledger_group=LEDGER_GROUP + suffix,
        instance_id=_instance(runtime, "recon"),
        metrics=_for(metrics, "recon"),
    )
