"""The registration task without servers: signed records in, acks and projection rows out,
the rows landed through the in-memory ``FilingsProjection`` (held to the PostgreSQL
adapter by ``tests/port_suites/filings.py``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

from contracts.ack import Ack
from contracts.codes import AckStatus, FilingType
from contracts.common import Contract
from contracts.filing import FilingCreated, FilingRevoked, PersonStatus
from contracts.reference import Insurance, InsuredPerson
from events.stream.memory import MemoryEngine
from events.stream.types import InputRecord, Output
from events.wire.codec import Codec
from events.wire.demo_keys import demo_registry
from services.registration.projection import MemoryFilingsProjection, PendingRows
from services.registration.task import INPUTS, RegistrationTask, guard

HOME = "330200"
AGENCY = f"AG{HOME}"
CODEC = Codec(demo_registry([AGENCY]))
AT = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
CERTNO = "330203199001010011"  # synthetic


def rec(message: Contract, offset: int, *, sign: bool = True) -> InputRecord:
    key, value, headers = CODEC.encode(
        message, ce_id=f"ce-{offset}", sender=AGENCY, ce_time=AT, sign=sign
    )
    return InputRecord(INPUTS[0], 0, offset, key, value, headers, 0)


def created(filing_id: str = "F1", target: str = "310104") -> FilingCreated:
    return FilingCreated(
        psn_no="P1", insuplc_admdvs=HOME, inf_time=AT, filing_id=filing_id, certno=CERTNO,
        filing_type=FilingType.RESETTLED_RETIREE, mdtrtarea_admvs=target,
        begndate=dt.date(2026, 1, 1), channel="app",
    )  # fmt: skip


def revoked(filing_id: str, on: dt.date) -> FilingRevoked:
    return FilingRevoked(
        psn_no="P1", insuplc_admdvs=HOME, inf_time=AT, filing_id=filing_id, revoked_on=on
    )


def status() -> PersonStatus:
    person = InsuredPerson(
        psn_no="P1", certno=CERTNO, poor=True, assistance_eligible=False,
        insuinfo=(Insurance(insutype="310", psn_type="11", insuplc_admdvs=HOME, status="active",
                            balc=Decimal("100.00")),),
    )  # fmt: skip
    return PersonStatus(psn_no="P1", insuplc_admdvs=HOME, inf_time=AT, person=person)


def verdicts(outputs: list[Output]) -> list[tuple[AckStatus, str | None]]:
    out = []
    for o in outputs:
        assert o.topic == f"yidi.ack.v1.{AGENCY}"
        ack = CODEC.decode(o.key, o.value, o.headers, authenticate=False).message
        assert isinstance(ack, Ack)
        out.append((ack.status, None if ack.error is None else ack.error.code))
    return out


async def land(task: RegistrationTask, projection: MemoryFilingsProjection) -> None:
    """What the worker does after a batch: the rows drained from the port to the projection."""
    await projection.write(task.rows.drain())


async def test_accepted_messages_become_projection_rows() -> None:
    task, projection = RegistrationTask(0, {}, CODEC), MemoryFilingsProjection()
    assert verdicts(task.process(rec(created(), 1)).outputs) == [(AckStatus.ACCEPTED, None)]
    assert verdicts(task.process(rec(status(), 2)).outputs) == [(AckStatus.ACCEPTED, None)]
    await land(task, projection)
    f = await projection.filing("F1")
    assert f is not None
    assert (f.psn_no, f.mdtrtarea_admvs, f.revoked_on, f.src_offset) == ("P1", "310104", None, 1)
    assert CERTNO not in f.certno_masked and f.certno_masked.endswith(CERTNO[-4:])
    p = await projection.person(HOME, "P1")
    assert p is not None and (p.insutypes, p.status, p.poor) == (("310",), "active", True)
    assert verdicts(task.process(rec(revoked("F1", dt.date(2026, 4, 1)), 3)).outputs) == [
        (AckStatus.ACCEPTED, None)]  # fmt: skip
    await land(task, projection)
    f = await projection.filing("F1")
    assert f is not None and (f.revoked_on, f.src_offset) == (dt.date(2026, 4, 1), 3)


async def test_refusals_are_rejected_acks_and_write_no_rows() -> None:
    task, projection = RegistrationTask(0, {}, CODEC), MemoryFilingsProjection()
    assert verdicts(task.process(rec(revoked("F9", dt.date(2026, 4, 1)), 1)).outputs) == [
        (AckStatus.REJECTED, "E_FILING_UNKNOWN")]  # fmt: skip
    task.process(rec(created(), 2))
    assert verdicts(task.process(rec(revoked("F1", dt.date(2025, 12, 1)), 3)).outputs) == [
        (AckStatus.REJECTED, "E_RULE")]  # fmt: skip
    assert len(task.rows) == 1
    await land(task, projection)
    f = await projection.filing("F1")
    assert f is not None and f.revoked_on is None


async def test_state_survives_a_restart_and_redelivery_is_ignored() -> None:
    task, projection = RegistrationTask(0, {}, CODEC), MemoryFilingsProjection()
    task.process(rec(created(), 5))
    await land(task, projection)
    stored = {w.key: w.value for w in task.flush_state()}
    assert task.flush_state() == [], "written once"
    restarted = RegistrationTask(0, dict(stored), CODEC)
    assert restarted.process(rec(created(), 5)).outputs == [], "offset already applied"
    conflict = restarted.process(rec(created(target="320500"), 6))
    assert verdicts(conflict.outputs) == [(AckStatus.REJECTED, "E_FILING_CONFLICT")]
    assert len(restarted.rows) == 0
    same = restarted.process(rec(created(), 7))
    assert verdicts(same.outputs) == [(AckStatus.ACCEPTED, None)], "an identical re-send"
    await land(restarted, projection)
    f = await projection.filing("F1")
    assert f is not None and (f.mdtrtarea_admvs, f.src_offset) == ("310104", 7)


async def test_an_unsigned_record_is_dead_lettered_and_changes_nothing() -> None:
    task = RegistrationTask(0, {}, CODEC)
    outputs = task.process(rec(created(), 1, sign=False)).outputs
    assert [o.topic for o in outputs] == ["yidi.dlq.v1"]
    assert len(task.rows) == 0 and task.flush_state() == []


async def test_the_worker_drains_every_tasks_rows_through_one_port_per_batch() -> None:
    """The live worker's shape on the in-memory driver: tasks of two partitions share one
    ``PendingRows``; each batch's rows are drained once (in ``on_batch``) and land; a
    rebuild's ``keep_from`` drops the rows of records an interrupted run already wrote."""
    rows, projection, landed = PendingRows(), MemoryFilingsProjection(), []
    engine = MemoryEngine(
        lambda p, restored: RegistrationTask(p, restored, CODEC, rows),
        guard(CODEC),
        on_batch=lambda _outputs: landed.append(rows.drain()),
    )
    first = replace(rec(created("F1"), 1), partition=0)
    other = replace(rec(created("F2", "320500"), 1), partition=1)
    engine.batch([first, other])
    engine.batch([replace(rec(revoked("F1", dt.date(2026, 4, 1)), 2), partition=0)])
    assert [len(b) for b in landed] == [2, 1] and len(rows) == 0
    for batch in landed:
        await projection.write(batch)
    f1, f2 = await projection.filing("F1"), await projection.filing("F2")
    assert f1 is not None and (f1.revoked_on, f1.src_offset) == (dt.date(2026, 4, 1), 2)
    assert f2 is not None and f2.mdtrtarea_admvs == "320500"
    assert engine.committed == {(INPUTS[0], 0): 3, (INPUTS[0], 1): 2}

    # a rebuild: state from offset 0, rows only from where an interrupted run stopped
    again = MemoryEngine(lambda p, r: RegistrationTask(p, r, CODEC, rows), guard(CODEC))
    again.batch([first, other, replace(rec(revoked("F1", dt.date(2026, 4, 1)), 2), partition=0)])
    kept = rows.drain(keep_from={0: 2, 1: 5})
    assert [(r[1][-2], r[1][-1]) for r in kept] == [(0, 2)]
