"""The hospital side of reconciliation without a broker: parts out, answers in, and an ack
topic carrying both acks and answers without upsetting the ack waiter."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

from contracts.ack import Ack
from contracts.codes import AckStatus, StmtRslt
from contracts.recon import ReconDetailRow, ReconResult
from contracts.samples import samples
from events.wire.codec import MAX_MESSAGE_BYTES, Codec, canonical_bytes
from events.wire.demo_keys import demo_registry
from services.sdk.client import HospitalClient
from services.sdk.recon import ROWS_PER_PART, AnswerCollector, ReconSlice, detail_parts

CODE = "H31011800001"
WHEN = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
SCOPE = ReconSlice("310118", "310000", "390", "11", dt.date(2026, 10, 1), dt.date(2026, 10, 31))


def _row(n: int, width: int = 0) -> ReconDetailRow:
    """A row; ``width`` > 0 stretches every id and amount to its contract maximum."""
    big = Decimal("99999999999999.99")
    return ReconDetailRow(
        psn_no=f"{n:0{30 if width else 12}d}", mdtrt_id=f"M{n:0{29 if width else 12}d}",
        setl_id=f"S{n:0{39 if width else 12}d}", msgid=f"{CODE}20261012093000{n % 10000:04d}",
        medfee_sumamt=big if width else Decimal("120.50"), fund_pay_sumamt=big if width else Decimal("80"),
        acct_pay=big if width else Decimal("0"), refd_setl_flag="0",
    )  # fmt: skip


def _answer_part(part_no: int, part_cnt: int, batch: str | None = "B-1") -> ReconResult:
    base = samples()[f"{ReconResult.ce_type}#part"]
    return ReconResult.model_validate(
        {**dict(base), "batch_id": batch, "part_no": part_no, "part_cnt": part_cnt}
    )


def test_rows_split_into_parts_named_by_the_first_msgid() -> None:
    rows = [_row(n) for n in range(7001)]
    parts = list(detail_parts(CODE, SCOPE, rows, inf_time=WHEN, first_seq=11))
    assert [len(p.rows) for p in parts] == [3000, 3000, 1001]
    assert [p.msgid for p in parts] == [
        f"{CODE}20261102080000{s}" for s in ("0011", "0012", "0013")
    ]
    assert {p.batch_id for p in parts} == {parts[0].msgid}
    assert [(p.part_no, p.part_cnt) for p in parts] == [(1, 3), (2, 3), (3, 3)]
    assert [r.setl_id for p in parts for r in p.rows] == [r.setl_id for r in rows]
    (single,) = detail_parts(CODE, SCOPE, rows[:5], inf_time=WHEN)
    assert (single.batch_id, single.part_cnt) == (None, 1), "one part stays a 1.0 message"


def test_a_full_part_of_maximal_rows_fits_the_codec_limit_and_the_contract_maximum_would_not() -> (
    None
):
    codec = Codec(demo_registry([CODE]))
    widest = [_row(n, width=1) for n in range(5000)]
    (part,) = detail_parts(CODE, SCOPE, widest[:ROWS_PER_PART], inf_time=WHEN)
    _, value, _ = codec.encode(part, ce_id="x", sender=CODE, ce_time=WHEN)
    assert len(value) <= MAX_MESSAGE_BYTES
    (too_big,) = detail_parts(CODE, SCOPE, widest, inf_time=WHEN, rows_per_part=5000)
    assert len(canonical_bytes(too_big)) > MAX_MESSAGE_BYTES


async def test_answer_completes_when_every_part_arrived_in_any_order() -> None:
    answers = AnswerCollector()
    waiting = answers.expect("b:B-1")
    assert answers.deliver(_answer_part(2, 3)) is False
    assert answers.deliver(_answer_part(2, 3)) is False and answers.repeats == 1
    assert answers.deliver(_answer_part(3, 3)) is False
    assert not waiting.done()
    assert answers.deliver(_answer_part(1, 3)) is True
    answer = await asyncio.wait_for(waiting, 1)
    assert [p.part_no for p in answer.parts] == [1, 2, 3]
    assert answer.stmt_rslt == StmtRslt.UNBALANCED
    assert len(list(answer.rows())) == 3
    assert (await answers.expect("b:B-1")) is answer, "asked again: the known answer"
    assert answers.deliver(_answer_part(1, 3)) is False and answers.repeats == 2


async def test_answers_on_the_ack_topic_do_not_disturb_the_ack_waiter() -> None:
    client = HospitalClient("unused:9092", CODE, Codec())
    ack = samples()[Ack.ce_type]
    assert isinstance(ack, Ack)
    expecting = client.waiter.expect(ack.ack_for)
    answer = client.answers.expect("b:B-1")
    client._deliver(ReconResult.ce_type.encode(), canonical_bytes(_answer_part(1, 1)))
    client._deliver(b"cn.yidi.something.new.v1", b'{"not": "an ack"}')
    client._deliver(Ack.ce_type.encode(), b"\xff not json")
    client._deliver(Ack.ce_type.encode(), canonical_bytes(ack))
    assert (await asyncio.wait_for(expecting, 1)).status == AckStatus.ACCEPTED
    assert (await asyncio.wait_for(answer, 1)).parts[0].batch_id == "B-1"
    assert client.unreadable == 2
    assert client._queue.qsize() == 1, "only acks reach acks()"
