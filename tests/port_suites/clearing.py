"""The clearing unit-of-work port's contract (``services.clearing.ports``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from decimal import Decimal

import pytest

from services.clearing.core.corrections import CorrectionLine
from services.clearing.core.deductions import ClearedSettlement, Deduction
from services.clearing.core.prepayment import Thresholds
from services.clearing.core.statement import Draft, DraftPair, PairTotals
from services.clearing.ports import (
    ClearingUnitOfWork,
    DeductionMeta,
    Entry,
    LedgerTotals,
    OutboxMessage,
    OutboxReader,
)

LandInLedger = Callable[[str, str, str, str, tuple[Decimal, ...]], Awaitable[None]]
"""(setl_id, kind, home, treatment, amounts): the ledger sink lands one settlement."""

SETTLEMENT_TOPIC = "yidi.settlement.v1"
T = Thresholds(7000, 9000)
WHEN = dt.datetime(2026, 11, 5, 9, 0, tzinfo=dt.UTC)


def amounts(fund: str, fee: str | None = None) -> tuple[Decimal, ...]:
    """``feed.AMOUNT_FIELDS``: medfee, fund, then the seven funds (all in hifp_pay here)."""
    f = Decimal(fund)
    return (Decimal(fee or fund), f, f, *(Decimal("0.00"),) * 6)


def entry(
    setl_id: str,
    fund: str = "100.00",
    *,
    period: str = "2026-10",
    scope: str = "national",
    late: bool = False,
    kind: str = "settlement",
    home: str = "330200",
    treatment: str = "310104",
    payer: str = "330000",
    payee: str = "310000",
    offset: int = 0,
    orig: str | None = None,
) -> Entry:
    return Entry(
        setl_id, period, period if not late else "2026-09", scope, late, kind, home, treatment,
        payer, payee, amounts(fund), 0, offset, orig,
    )  # fmt: skip


def draft(period: str = "2026-10", scope: str = "national") -> Draft:
    """A two-participant statement: 330000 pays 310000 300.00."""
    return Draft(
        statement_id=f"STMT-{period}-N", period=period, scope=scope, participant="000000",
        pairs=(DraftPair("330000", "310000", 30_000, 3, 1, 0, 100_000, 0),),
        nets={"310000": 30_000, "330000": -30_000}, setl_cnt=3, late_cnt=1,
        gross_fen=30_000, net_volume_fen=30_000,
    )  # fmt: skip


class ClearingUnitOfWorkContract:
    """Every adapter of ``ClearingUnitOfWork`` passes these."""

    @pytest.fixture
    def uow(self) -> ClearingUnitOfWork:
        raise NotImplementedError

    @pytest.fixture
    def ledger(self) -> LandInLedger:
        raise NotImplementedError

    async def test_entries_first_by_offset_once_and_positions_summed(
        self, uow: ClearingUnitOfWork
    ) -> None:
        async with uow.transaction("shared") as repo:
            inserted, touched = await repo.add_entries(
                [entry("S2", "50.00", offset=5), entry("S1", "100.00", offset=3),
                 entry("S1", "999.00", offset=4), entry("R1", "-20.00", kind="reversal", offset=6),
                 entry("L1", "7.00", late=True, offset=7)]
            )  # fmt: skip
        assert inserted == 4
        assert touched == [("2026-10", "national", "330000", "310000")]
        async with uow.transaction("shared") as repo:
            again, _ = await repo.add_entries(
                [entry("S1", "100.00", offset=3), entry("S3", offset=8)]
            )
            totals = await repo.position_totals("2026-10", "national")
        assert again == 1, "an entry seen before is not added twice"
        ((key, t),) = totals.items()
        assert key == ("330200", "310104", "330000", "310000")
        assert (t.setl_cnt, t.rev_cnt, t.late_cnt) == (4, 1, 1)
        assert t.fund_fen == 10_000 + 5_000 - 2_000 + 700 + 10_000
        assert t.funds_fen[0] == t.fund_fen

    async def test_a_failed_transaction_changes_nothing(self, uow: ClearingUnitOfWork) -> None:
        class Boom(Exception):
            pass

        with pytest.raises(Boom):
            async with uow.transaction("exclusive") as repo:
                await repo.add_entries([entry("S1")])
                await repo.set_status("2026-10", "national", "CLOSING")
                await repo.outbox.add(OutboxMessage("ce-1", "t", None, b"v", ()))
                raise Boom
        async with uow.transaction() as repo:
            assert await repo.position_totals("2026-10", "national") == {}
            assert await repo.status("2026-10", "national") is None
            assert await repo.periods() == []

    async def test_freeze_records_where_the_clearing_groups_stood(
        self, uow: ClearingUnitOfWork
    ) -> None:
        async with uow.transaction("shared") as repo:
            await repo.record_positions(
                "yidi-clearing", {(SETTLEMENT_TOPIC, 0): 10, (SETTLEMENT_TOPIC, 1): 4}
            )
            await repo.record_positions("yidi-clearing", {(SETTLEMENT_TOPIC, 0): 7})  # never back
            await repo.record_positions("yidi-ledger", {(SETTLEMENT_TOPIC, 0): 99})
        async with uow.transaction("exclusive") as repo:
            await repo.freeze("2026-10", "national", "yidi-clearing")
        async with uow.transaction() as repo:
            states = await repo.period_states(["national", "province:330000"])
            assert await repo.status("2026-10", "national") == "CLOSING"
        assert states.statuses == {"national": {"2026-10": "CLOSING"}, "province:330000": {}}
        assert states.frozen == {("national", "2026-10"): {"yidi-clearing": {"0": 10, "1": 4}}}
        before = states.counted_before("national", "yidi-clearing", 0, 9)
        assert before("2026-10") and not states.counted_before("national", "yidi-clearing", 0, 10)(
            "2026-10"
        )

    async def test_ledger_missing_and_ledger_totals(
        self, uow: ClearingUnitOfWork, ledger: LandInLedger
    ) -> None:
        async with uow.transaction("shared") as repo:
            await repo.add_entries([entry("S1", "100.00"), entry("S2", "40.00", late=True)])
        async with uow.transaction() as repo:
            assert await repo.ledger_missing("2026-10", "national") == 2
            assert await repo.ledger_totals("2026-10", "national") == LedgerTotals({}, 2)
        await ledger("S1", "settlement", "330200", "310104", amounts("100.00", "150.00"))
        async with uow.transaction() as repo:
            assert await repo.ledger_missing("2026-10", "national") == 1
            partial = await repo.ledger_totals("2026-10", "national")
        key = ("330200", "310104", "330000", "310000")
        assert partial.missing == 1
        assert partial.pairs[key] == PairTotals(1, 0, 0, 15_000, 10_000, (10_000,) + (0,) * 6)
        await ledger("S2", "settlement", "330200", "310104", amounts("40.00"))
        async with uow.transaction() as repo:
            assert await repo.ledger_missing("2026-10", "national") == 0
            checked = await repo.ledger_totals("2026-10", "national")
            running = await repo.position_totals("2026-10", "national")
        assert checked.missing == 0
        totals = checked.pairs
        assert totals[key] == PairTotals(2, 0, 1, 19_000, 14_000, (14_000, 0, 0, 0, 0, 0, 0))
        assert running[key].fund_fen == totals[key].fund_fen

    async def test_usage_reads_the_prepayment_in_force_and_the_last_level(
        self, uow: ClearingUnitOfWork
    ) -> None:
        flow = ("2027-01", "national", "330000", "310000")
        other = ("2027-01", "national", "440000", "310000")
        async with uow.transaction() as repo:
            await repo.set_prepayments(2026, "national", {("330000", "310000"): 100_000}, T)
            await repo.add_entries([entry("S1", "800.00", period="2027-01")])
            (u,) = await repo.usage([flow, other])
            assert (u.flow, u.prepayment_fen, u.used_fen, u.level, u.crossings) == (
                flow, 100_000, 80_000, None, 0)  # fmt: skip
            await repo.set_level(flow, "yellow", 1)
            await repo.set_prepayments(
                2027, "national", {("330000", "310000"): 200_000}, Thresholds(5000, 8000)
            )
            (u,) = await repo.usage([flow])
        assert (u.prepayment_fen, u.thresholds, u.level, u.crossings) == (
            200_000, Thresholds(5000, 8000), "yellow", 1)  # fmt: skip

    async def test_statement_confirmations_and_status(self, uow: ClearingUnitOfWork) -> None:
        async with uow.transaction("exclusive") as repo:
            await repo.freeze("2026-10", "national", "yidi-clearing")
            await repo.add_statement(draft(), WHEN, b'{"x": 1}')
            await repo.set_status("2026-10", "national", "CLOSED", "STMT-2026-10-N")
        async with uow.transaction("exclusive") as repo:
            view = await repo.stored_statement("2026-10", "national")
            assert view is not None
            assert (view.statement_id, view.status, view.payload, view.created) == (
                "STMT-2026-10-N", "CLOSED", b'{"x": 1}', False)  # fmt: skip
            assert await repo.statement_period("STMT-2026-10-N") == (
                "2026-10",
                "national",
                "CLOSED",
            )
            assert await repo.statement_period("STMT-nope") is None
            assert await repo.net_of("STMT-2026-10-N", "330000") == Decimal("-300.00")
            assert await repo.net_of("STMT-2026-10-N", "110000") is None
            assert await repo.unconfirmed("STMT-2026-10-N") == 2
            await repo.add_confirmation("STMT-2026-10-N", "330000", Decimal("-300.00"), "c1", WHEN)
            await repo.add_confirmation("STMT-2026-10-N", "330000", Decimal("-300.00"), "c2", WHEN)
            assert await repo.unconfirmed("STMT-2026-10-N") == 1
            await repo.set_status("2026-10", "national", "CONFIRMED")
            issued = await repo.issued_statement("STMT-2026-10-N")
            rows = await repo.periods()
        assert [(r.period, r.scope, r.status, r.statement_id) for r in rows] == [
            ("2026-10", "national", "CONFIRMED", "STMT-2026-10-N")]  # fmt: skip
        assert issued is not None
        assert issued.nets == {"310000": Decimal("300.00"), "330000": Decimal("-300.00")}
        assert [(p.payer, p.fund_pay_sumamt, p.prepayment, p.late_cnt, p.deduction)
                for p in issued.pairs] == [
            ("330000", Decimal("300.00"), Decimal("1000.00"), 1, Decimal("0.00"))]  # fmt: skip
        assert (issued.gross_fen, issued.net_volume_fen, issued.late_cnt) == (30_000, 30_000, 1)

    async def test_corrections_are_recorded_and_summed_per_origin(
        self, uow: ClearingUnitOfWork
    ) -> None:
        async with uow.transaction("exclusive") as repo:
            assert await repo.issued_pairs("2026-10", "national") is None
            await repo.set_status("2026-10", "national", "CLOSED", "STMT-2026-10-N")
            await repo.add_statement(draft(), WHEN, b"{}")
            assert await repo.issued_pairs("2026-10", "national") == {("330000", "310000"): 30_000}
            line = CorrectionLine("2026-10", "330000", "310000", 30_000, 32_500)
            await repo.set_status("2026-11", "national", "CLOSED", "STMT-2026-11-N")
            await repo.add_statement(draft("2026-11"), WHEN, b"{}")
            await repo.add_corrections("2026-11", "national", "STMT-2026-11-N", [line])
            carried = await repo.carried_from("2026-10", "national")
            recorded = await repo.recorded_corrections("2026-11", "national")
        assert carried == {("330000", "310000"): 2_500}
        assert recorded == (line,)

    async def test_prepayments_and_the_year(self, uow: ClearingUnitOfWork) -> None:
        async with uow.transaction() as repo:
            await repo.add_entries(
                [entry("Q1", "300.00", period="2026-10"), entry("Q2", "600.00", period="2026-12"),
                 entry("Q3", "50.00", period="2026-12", payer="440000", home="440100"),
                 entry("N1", "1.00", period="2027-01")]
            )  # fmt: skip
            q4 = await repo.q4_fund("national", ("2026-10", "2026-11", "2026-12"))
            one = await repo.q4_fund(
                "national", ("2026-10", "2026-11", "2026-12"), ("330000", "310000")
            )
            await repo.set_prepayments(
                2026, "national", {("330000", "310000"): 1, ("550000", "310000"): 2}, T
            )
            await repo.set_prepayments(2027, "national", {("330000", "310000"): 600_00}, T)
            flows = await repo.prepayment_flows(2026, "national")
            counts = await repo.prepayment_counts(2027)
            await repo.set_status("2026-12", "national", "SETTLED")
            before = await repo.statuses_before(2027)
        assert q4 == {("330000", "310000"): {"2026-10": 30_000, "2026-12": 60_000},
                      ("440000", "310000"): {"2026-12": 5_000}}  # fmt: skip
        assert one == {("330000", "310000"): {"2026-10": 30_000, "2026-12": 60_000}}
        assert flows == [("330000", "310000"), ("550000", "310000")]
        assert counts == [("national", 2, 1)]
        assert before == {("2026-10", "national"): "OPEN", ("2026-12", "national"): "SETTLED"}

    async def test_late_entries_largest_first(self, uow: ClearingUnitOfWork) -> None:
        async with uow.transaction() as repo:
            await repo.add_entries(
                [entry("A", "5.00", late=True), entry("B", "-9.00", late=True, kind="reversal"),
                 entry("C", "7.00", late=True), entry("D", "100.00")]
            )  # fmt: skip
            late = await repo.late_entries("2026-10", "national", 2)
        assert [(e.setl_id, e.natural_period, e.fund_pay_sumamt) for e in late] == [
            ("B", "2026-09", Decimal("-9.00")), ("C", "2026-09", Decimal("7.00"))]  # fmt: skip

    async def test_deductions_are_stored_and_summed_per_period_and_pair(
        self, uow: ClearingUnitOfWork
    ) -> None:
        async with uow.transaction("exclusive") as repo:
            await repo.add_entries(
                [entry("S1", "300.00", offset=1), entry("S2", "80.00", offset=2),
                 entry("R2", "-80.00", kind="reversal", offset=3, orig="S2"),
                 entry("S3", "40.00", payer="440000", home="440100", offset=4)]
            )  # fmt: skip
            s1 = await repo.cleared_settlement("S1")
            s2 = await repo.cleared_settlement("S2")
            assert await repo.cleared_settlement("R2") is None, "a reversal takes no deduction"
            assert await repo.cleared_settlement("S9") is None
            assert await repo.deducted_fen("S1") == 0
            made = [
                Deduction("310000", "D1", "S1", 5_000, "other", "2026-10", "2026-10",
                          "national", "330000", "310000", "h1"),
                Deduction("310104", "D1", "S1", 1_000, "not_covered", "2026-11", "2026-10",
                          "national", "330000", "310000", "h2"),
                Deduction("310000", "D2", "S3", 700, "other", "2026-10", "2026-10",
                          "national", "440000", "310000", "h3"),
            ]  # fmt: skip
            for d in made:
                await repo.add_deduction(d, DeductionMeta(f"ce-{d.deduction_id}", WHEN, None, ""))
        async with uow.transaction() as repo:
            assert await repo.deducted_fen("S1") == 6_000
            assert await repo.deduction("310104", "D1") == made[1]
            assert await repo.deduction("310104", "D2") is None
            oct_totals = await repo.deduction_totals("2026-10", "national")
            nov = await repo.deductions_in("2026-11", "national")
            octs = await repo.deductions_in("2026-10", "national")
        assert s1 == ClearedSettlement(
            "S1", "2026-10", "national", "330200", "310104", "330000", "310000", 30_000, False)  # fmt: skip
        assert s2 is not None and s2.reversed
        assert oct_totals == {("330000", "310000"): 5_000, ("440000", "310000"): 700}
        assert nov == [made[1]] and nov[0].late
        assert octs == [made[0], made[2]]
        reversal = entry("R1", "-300.00", kind="reversal", period="2026-12", offset=9, orig="S1")
        async with uow.transaction("shared") as repo:
            assert await repo.return_deductions([reversal]) == 2
            assert await repo.return_deductions([reversal]) == 0, "given back once"
            dec = await repo.deduction_totals("2026-12", "national")
            back = await repo.deductions_in("2026-12", "national")
            assert await repo.deducted_fen("S1") == 6_000, "returns are not deductions"
        assert dec == {("310000", "330000"): 6_000}
        assert [(d.participant, d.deduction_id, d.kind, d.origin_period) for d in back] == [
            ("310000", "D1~R", "return", "2026-12"), ("310104", "D1~R", "return", "2026-12")]  # fmt: skip


class OutboxContract:
    """``Outbox`` (inside a clearing transaction) and ``OutboxReader`` (the publisher)."""

    @pytest.fixture
    def uow(self) -> ClearingUnitOfWork:
        raise NotImplementedError

    @pytest.fixture
    def reader(self, uow: ClearingUnitOfWork) -> OutboxReader:
        raise NotImplementedError

    async def test_a_ce_id_is_queued_once_and_published_in_order(
        self, uow: ClearingUnitOfWork, reader: OutboxReader
    ) -> None:
        headers = (("ce_id", b"a"), ("x", b"\xe4"))
        async with uow.transaction() as repo:
            await repo.outbox.add(OutboxMessage("a", "yidi.clearing.v1", b"k", b"1", headers))
            await repo.outbox.add(OutboxMessage("b", "yidi.clearing.v1", None, b"2", ()))
            await repo.outbox.add(OutboxMessage("a", "yidi.clearing.v1", b"k", b"other", ()))
        pending = await reader.pending(10)
        assert [p.message for p in pending] == [
            OutboxMessage("a", "yidi.clearing.v1", b"k", b"1", headers),
            OutboxMessage("b", "yidi.clearing.v1", None, b"2", ()),
        ]
        assert pending[0].seq < pending[1].seq
        assert [p.message.ce_id for p in await reader.pending(1)] == ["a"]
        await reader.mark_published([pending[0].seq])
        assert [p.message.ce_id for p in await reader.pending(10)] == ["b"]
        async with uow.transaction() as repo:
            await repo.outbox.add(OutboxMessage("a", "yidi.clearing.v1", b"k", b"1", headers))
        assert [p.message.ce_id for p in await reader.pending(10)] == ["b"], "published stays"
