"""A hospital publishes through the SDK and sees its own acks — and only its own."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

from contracts.codes import AckStatus
from contracts.samples import samples
from contracts.visit import VisitRegistered
from events.wire.codec import Codec
from events.wire.demo_keys import demo_registry
from services.runtime.settings import Settings
from services.sdk.client import HospitalClient
from tests.e2e.conftest import Workers

SHANGHAI, ZHOUSHAN = "H31010400001", "H33090200001"


async def test_sdk_send_and_ack_routing(workers: Workers) -> None:
    settings = Settings()
    codec = Codec(demo_registry([SHANGHAI, ZHOUSHAN]))
    workers.start("adjudication", "adjudication")
    shanghai = HospitalClient(settings.kafka(SHANGHAI), SHANGHAI, codec)
    zhoushan = HospitalClient(settings.kafka(ZHOUSHAN), ZHOUSHAN, codec)
    await shanghai.start()
    await zhoushan.start()
    try:
        base = samples()[VisitRegistered.ce_type]
        suffix = uuid.uuid4().hex[:8].upper()
        visit = VisitRegistered.model_validate(
            {**base.model_dump(), "mdtrt_id": f"SDK{suffix}", "psn_no": f"99{suffix.encode().hex()[:14]}",
             "inf_time": dt.datetime.now(dt.UTC)}
        )  # fmt: skip
        ack = await shanghai.send(visit, timeout_s=60)
        assert ack.sender == SHANGHAI
        # Unknown person (no 1101 status published): a business rejection, acked with its code.
        assert ack.status in (AckStatus.ACCEPTED, AckStatus.REJECTED)
        again = await shanghai.send(visit, timeout_s=30, ce_id=ack.ack_for)
        assert again.ack_for == ack.ack_for
        assert again.status in (AckStatus.DUPLICATE, AckStatus.REJECTED)

        received = []
        stream = zhoushan.acks()
        try:
            while True:
                received.append(await asyncio.wait_for(stream.__anext__(), 2.0))
        except TimeoutError:
            pass
        assert all(a.sender == ZHOUSHAN for a in received), (
            "a hospital received another hospital's ack"
        )
        assert ack.ack_for not in {a.ack_for for a in received}
    finally:
        await shanghai.stop()
        await zhoushan.stop()
