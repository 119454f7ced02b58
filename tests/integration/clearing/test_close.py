"""Period close on the real PostgreSQL: it issues one statement or fails loudly and issues none.

Every test gets its own migrated throw-away database holding a few thousand synthetic
settlements of one month, their clearing entries and running positions (the loader of
``yidi bench clearing-close``). Something is then broken on purpose — a running position
off by a fen, a settlement missing from the ledger, a confirmation with the wrong net, a
malformed period — and the close must raise the typed error and leave every table as it
was, apart from the period's own CLOSING freeze (which is how a close waits for a retry).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable
from decimal import Decimal

import asyncpg
import pytest

from contracts.clearing import ClearingStatement
from contracts.codes import ClearingStatus
from events import catalog
from events.wire.codec import Codec
from services.clearing.adapters.postgres import PgClearingUnitOfWork
from services.clearing.core.errors import (
    BadPeriod,
    BadScope,
    ClearingError,
    ConfirmationMismatch,
    LedgerBehind,
    PositionsDisagree,
    WrongState,
)
from services.clearing.feed import AMOUNT_FIELDS
from services.clearing.service_layer.periods import close_period, confirm, settle
from services.runtime.settings import Settings
from services.tools.bench.clearing_close import PERIOD, load
from tests.fresh_db import fresh_database

ROWS = 3_000
NATIONAL = "national"
PROVINCE = "province:330000"
STATEMENT = f"STMT-{PERIOD}-N"
CODEC = Codec()
WHEN = dt.datetime(2026, 11, 5, 9, 0, tzinfo=dt.UTC)

_TABLES = (
    "settlements", "clearing_entries", "clearing_positions", "clearing_periods",
    "clearing_statements", "clearing_statement_pairs", "clearing_statement_nets",
    "clearing_confirmations", "clearing_outbox", "prepayment_levels",
)  # fmt: skip
_CLEARING_OUTPUT = _TABLES[3:]
"""What a close may write; the ledger, entries and running positions are only read."""
CROSS_PROVINCE = "substr(insuplc_admdvs, 1, 2) <> substr(mdtrtarea_admvs, 1, 2)"

Snapshot = dict[str, tuple[int, str | None]]


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    async with fresh_database(settings) as url:
        conn = await asyncpg.connect(url)
        try:
            await load(conn, ROWS)
            yield conn
        finally:
            await conn.close()


async def _snapshot(conn: asyncpg.Connection, *, without: tuple[str, ...] = ()) -> Snapshot:
    """Row count and a digest of every row, per table."""
    out: Snapshot = {}
    for table in _TABLES:
        if table in without:
            continue
        row = await conn.fetchrow(
            f"SELECT count(*) AS n, md5(string_agg(t::text, '|' ORDER BY t::text)) AS h "
            f"FROM {table} t"
        )
        out[table] = (row["n"], row["h"])
    return out


async def _periods(conn: asyncpg.Connection) -> list[tuple[str, str, str, str | None]]:
    rows = await conn.fetch(
        "SELECT period, scope, status, statement_id FROM clearing_periods ORDER BY 1, 2"
    )
    return [(r["period"], r["scope"], r["status"], r["statement_id"]) for r in rows]


async def _outbox(conn: asyncpg.Connection, topic: str = catalog.CLEARING) -> list[str]:
    """The clearing center's messages queued (each statement also goes to every agency it
    concerns, on that agency's ack topic: ``_agency_copies``)."""
    rows = await conn.fetch(
        "SELECT ce_id FROM clearing_outbox WHERE topic = $1 ORDER BY seq", topic
    )
    return [r["ce_id"] for r in rows]


async def _agency_copies(conn: asyncpg.Connection) -> dict[str, list[str]]:
    """ack topic -> the statement versions queued for that agency, in order."""
    rows = await conn.fetch(
        "SELECT topic, ce_id FROM clearing_outbox WHERE topic <> $1 ORDER BY seq", catalog.CLEARING
    )
    copies: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        copies[r["topic"]].append(r["ce_id"])
    return dict(copies)


async def _assert_frozen_not_closed(conn: asyncpg.Connection, before: Snapshot) -> None:
    """A failed close leaves the month CLOSING (frozen, retryable) and writes nothing else."""
    assert await _periods(conn) == [(PERIOD, NATIONAL, "CLOSING", None)]
    assert await conn.fetchval("SELECT count(*) FROM clearing_statements") == 0
    assert await _outbox(conn) == []
    assert await _snapshot(conn, without=("clearing_periods",)) == before


async def _expected_pairs(conn: asyncpg.Connection) -> dict[tuple[str, str], tuple[Decimal, int]]:
    """Cross-province totals straight from the ledger, independently of clearing's tables."""
    rows = await conn.fetch(
        f"""SELECT substr(insuplc_admdvs, 1, 2) || '0000' AS payer,
                   substr(mdtrtarea_admvs, 1, 2) || '0000' AS payee,
                   sum(fund_pay_sumamt) AS fund, count(*) AS n
            FROM settlements WHERE {CROSS_PROVINCE} GROUP BY 1, 2"""
    )
    return {(r["payer"], r["payee"]): (r["fund"], r["n"]) for r in rows}


def _nets_of(pairs: dict[tuple[str, str], tuple[Decimal, int]]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for (payer, payee), (fund, _n) in pairs.items():
        out[payer] -= fund
        out[payee] += fund
    return dict(out)


async def _closes_cleanly(conn: asyncpg.Connection) -> ClearingStatement:
    """Close the national month; check the statement against the ledger and what was written."""
    view = await close_period(PgClearingUnitOfWork(conn), CODEC, PERIOD, NATIONAL)
    assert (view.statement_id, view.status, view.created) == (STATEMENT, "CLOSED", True)
    statement = ClearingStatement.model_validate_json(view.payload)
    assert statement.status == ClearingStatus.APPLIED
    expected = await _expected_pairs(conn)
    assert {(p.payer, p.payee): (p.fund_pay_sumamt, p.setl_cnt) for p in statement.pairs} == (
        expected
    )
    nets = {n.participant: n.net for n in statement.nets}
    assert nets == _nets_of(expected)
    assert sum(nets.values()) == 0 and any(nets.values())
    stored = await conn.fetch(
        "SELECT participant, net FROM clearing_statement_nets WHERE statement_id = $1", STATEMENT
    )
    assert {r["participant"]: r["net"] for r in stored} == nets
    assert await conn.fetchval(
        "SELECT setl_cnt FROM clearing_statements WHERE statement_id = $1", STATEMENT
    ) == await conn.fetchval(f"SELECT count(*) FROM settlements WHERE {CROSS_PROVINCE}")
    assert (PERIOD, NATIONAL, "CLOSED", STATEMENT) in await _periods(conn)
    assert (
        await conn.fetchval(
            "SELECT value FROM clearing_outbox WHERE ce_id = $1", f"{STATEMENT}-closed"
        )
        == view.payload
    )
    return statement


async def _raises(
    exc: type[ClearingError], code: str, call: Awaitable[object], *parts: str
) -> ClearingError:
    """``call`` raises exactly ``exc`` with ``code``, its message naming every one of ``parts``."""
    with pytest.raises(exc) as info:
        await call
    assert type(info.value) is exc
    assert info.value.code == code
    for part in parts:
        assert part in info.value.message, (part, info.value.message)
    return info.value


async def test_close_issues_one_statement_and_closing_again_changes_nothing(
    db: asyncpg.Connection,
) -> None:
    inputs = await _snapshot(db, without=_CLEARING_OUTPUT)
    await _closes_cleanly(db)
    assert await _outbox(db) == [f"{STATEMENT}-closed"]
    statement = ClearingStatement.model_validate_json(
        await db.fetchval(
            "SELECT value FROM clearing_outbox WHERE ce_id = $1", f"{STATEMENT}-closed"
        )
    )
    readers = {"AG000000"} | {f"AG{n.participant}" for n in statement.nets}
    assert await _agency_copies(db) == {
        catalog.ack_topic(a): [f"{STATEMENT}-closed.{a}"] for a in readers
    }, "each agency on the statement gets it on its own ack topic, in the same transaction"
    assert await _snapshot(db, without=_CLEARING_OUTPUT) == inputs, "a close only reads those"
    after_first = await _snapshot(db)

    again = await close_period(PgClearingUnitOfWork(db), CODEC, PERIOD, NATIONAL)

    assert (again.statement_id, again.status, again.created) == (STATEMENT, "CLOSED", False)
    first_payload = await db.fetchval(
        "SELECT payload FROM clearing_statements WHERE statement_id = $1", STATEMENT
    )
    assert again.payload == first_payload
    assert await _snapshot(db) == after_first

    # Another scope over the same ledger closes on its own, with its own statement.
    provincial = await close_period(PgClearingUnitOfWork(db), CODEC, PERIOD, PROVINCE)
    assert (provincial.statement_id, provincial.created) == (f"STMT-{PERIOD}-P330000", True)
    nets = ClearingStatement.model_validate_json(provincial.payload).nets
    # participants are pools: treatment in 330902 is Zhoushan's (330900); Hangzhou's 330102
    # has no pack above it and stands alone
    assert {n.participant for n in nets} == {"330900", "330421", "330102"}
    assert sum(n.net for n in nets) == 0
    # Shanghai: 310104 and 310115 are in Shanghai's pool; only Qingpu's people treated
    # there are cleared (310118 -> 310000). Xinjiang: 650102 is in the region-level pool.
    shanghai = await close_period(PgClearingUnitOfWork(db), CODEC, PERIOD, "province:310000")
    pairs = ClearingStatement.model_validate_json(shanghai.payload).pairs
    assert {(p.payer, p.payee) for p in pairs} == {("310118", "310000")}
    xinjiang = await close_period(PgClearingUnitOfWork(db), CODEC, PERIOD, "province:650000")
    empty = ClearingStatement.model_validate_json(xinjiang.payload)
    assert (xinjiang.status, empty.pairs, empty.nets) == ("CONFIRMED", (), ())
    assert await _periods(db) == [
        (PERIOD, NATIONAL, "CLOSED", STATEMENT),
        (PERIOD, "province:310000", "CLOSED", shanghai.statement_id),
        (PERIOD, PROVINCE, "CLOSED", provincial.statement_id),
        (PERIOD, "province:650000", "CONFIRMED", xinjiang.statement_id),
    ]


@pytest.mark.parametrize(
    ("tamper", "reported"),
    [
        (
            "UPDATE clearing_positions SET fund_pay_sumamt = fund_pay_sumamt + 0.01",
            " fund_pay_sumamt: ledger {fund}, positions {fund_plus_one}",
        ),
        (
            "UPDATE clearing_positions SET setl_cnt = setl_cnt + 1",
            " setl_cnt: ledger {n}, positions {n_plus_one}",
        ),
        ("DELETE FROM clearing_positions", ": missing from the running positions"),
    ],
    ids=["fund-off-by-a-fen", "count-off-by-one", "pair-missing"],
)
async def test_positions_that_disagree_with_the_ledger_stop_the_close(
    db: asyncpg.Connection, tamper: str, reported: str
) -> None:
    pair = await db.fetchrow(
        "SELECT * FROM clearing_positions WHERE period = $1 AND scope = $2 "
        "ORDER BY home, treatment OFFSET 7 LIMIT 1",
        PERIOD, NATIONAL,
    )  # fmt: skip
    where = " WHERE period = $1 AND scope = $2 AND home = $3 AND treatment = $4"
    key = (PERIOD, NATIONAL, pair["home"], pair["treatment"])
    assert await db.execute(tamper + where, *key) in ("UPDATE 1", "DELETE 1")
    before = await _snapshot(db, without=("clearing_periods",))
    fund_fen = int(pair["fund_pay_sumamt"] * 100)
    n = pair["setl_cnt"]
    detail = reported.format(fund=fund_fen, fund_plus_one=fund_fen + 1, n=n, n_plus_one=n + 1)

    for _attempt in range(2):  # retrying while still wrong fails the same way
        await _raises(
            PositionsDisagree, "E_CLEARING_DISAGREE",
            close_period(PgClearingUnitOfWork(db), CODEC, PERIOD, NATIONAL),
            f"{PERIOD} national: ", "differ in 1 places",
            f"{pair['home']}->{pair['treatment']}{detail}",
        )  # fmt: skip
        await _assert_frozen_not_closed(db, before)

    # Nothing can be confirmed or settled on a month that has no statement.
    await _raises(
        ConfirmationMismatch, "E_CLEARING_CONFIRMATION",
        confirm(PgClearingUnitOfWork(db), CODEC, STATEMENT, "330000", Decimal("1.00"), "ce-x", WHEN),
        f"no statement {STATEMENT}",
    )  # fmt: skip
    await _raises(
        WrongState,
        "E_CLEARING_STATE",
        settle(PgClearingUnitOfWork(db), CODEC, PERIOD, NATIONAL),
        "CLOSING",
    )
    await _assert_frozen_not_closed(db, before)

    await db.execute("DELETE FROM clearing_positions" + where, *key)
    columns = list(pair.keys())
    await db.execute(
        f"INSERT INTO clearing_positions ({', '.join(columns)}) "
        f"VALUES ({', '.join(f'${i + 1}' for i in range(len(columns)))})",
        *pair.values(),
    )
    await _closes_cleanly(db)
    assert await _outbox(db) == [f"{STATEMENT}-closed"]


async def test_a_settlement_missing_from_the_ledger_holds_the_close(
    db: asyncpg.Connection,
) -> None:
    gone = await db.fetchrow(
        f"SELECT * FROM settlements WHERE {CROSS_PROVINCE} AND kind = 'settlement' "
        "ORDER BY setl_id OFFSET 100 LIMIT 1"
    )
    assert await db.execute("DELETE FROM settlements WHERE setl_id = $1", gone["setl_id"]) == (
        "DELETE 1"
    )
    before = await _snapshot(db, without=("clearing_periods",))

    for _attempt in range(2):
        await _raises(
            LedgerBehind, "E_CLEARING_LEDGER_BEHIND",
            close_period(PgClearingUnitOfWork(db), CODEC, PERIOD, NATIONAL),
            f"1 settlements of {PERIOD} national are not in the ledger yet",
        )  # fmt: skip
        await _assert_frozen_not_closed(db, before)

    columns = list(gone.keys())
    await db.execute(
        f"INSERT INTO settlements ({', '.join(columns)}) "
        f"VALUES ({', '.join(f'${i + 1}' for i in range(len(columns)))})",
        *gone.values(),
    )
    await _closes_cleanly(db)


async def test_clearing_ahead_of_the_ledger_waits_for_it_then_counts_the_settlement(
    db: asyncpg.Connection,
) -> None:
    """The clearing processor placed a settlement (entry and position) the ledger has not
    landed yet: LedgerBehind until it lands, then the statement includes it."""
    model = await db.fetchrow(
        f"SELECT * FROM settlements WHERE {CROSS_PROVINCE} AND kind = 'settlement' "
        "ORDER BY setl_id LIMIT 1"
    )
    new_id = "LATE00000001"
    entry_cols = (
        "setl_id, period, natural_period, scope, late, kind, home, treatment, payer, payee, "
        "medfee_sumamt, fund_pay_sumamt, hifp_pay, cvlserv_pay, hifes_pay, hifmi_pay, "
        "hifob_pay, maf_pay, oth_pay, src_partition, src_offset"
    )
    await db.execute(
        f"INSERT INTO clearing_entries ({entry_cols}) SELECT $1, {entry_cols.split(', ', 1)[1]} "
        "FROM clearing_entries WHERE setl_id = $2",
        new_id, model["setl_id"],
    )  # fmt: skip
    sums = ", ".join(f"{c} = p.{c} + e.{c}" for c in AMOUNT_FIELDS)
    bumped = await db.execute(
        f"""UPDATE clearing_positions p SET setl_cnt = p.setl_cnt + 1, {sums}
            FROM clearing_entries e
            WHERE e.setl_id = $1 AND (p.period, p.scope, p.home, p.treatment)
                  = (e.period, e.scope, e.home, e.treatment)""",
        new_id,
    )
    assert bumped == "UPDATE 1"
    before = await _snapshot(db, without=("clearing_periods",))

    await _raises(
        LedgerBehind, "E_CLEARING_LEDGER_BEHIND",
        close_period(PgClearingUnitOfWork(db), CODEC, PERIOD, NATIONAL),
        f"1 settlements of {PERIOD} national",
    )  # fmt: skip
    await _assert_frozen_not_closed(db, before)

    landed = dict(model) | {"setl_id": new_id, "ce_id": "ce-late-1", "src_offset": 10**9}
    await db.execute(
        f"INSERT INTO settlements ({', '.join(landed)}) "
        f"VALUES ({', '.join(f'${i + 1}' for i in range(len(landed)))})",
        *landed.values(),
    )
    statement = await _closes_cleanly(db)  # its pairs are recomputed from the ledger, new row in
    payer, payee = model["insuplc_admdvs"][:2] + "0000", model["mdtrtarea_admvs"][:2] + "0000"
    line = next(p for p in statement.pairs if (p.payer, p.payee) == (payer, payee))
    others = await db.fetchval(
        f"SELECT count(*) FROM settlements WHERE {CROSS_PROVINCE} AND setl_id <> $1 "
        "AND substr(insuplc_admdvs, 1, 2) = $2 AND substr(mdtrtarea_admvs, 1, 2) = $3",
        new_id, payer[:2], payee[:2],
    )  # fmt: skip
    assert line.setl_cnt == others + 1


async def test_confirmations_must_match_the_statement_then_confirm_and_settle(
    db: asyncpg.Connection,
) -> None:
    await _closes_cleanly(db)
    nets = {
        r["participant"]: r["net"]
        for r in await db.fetch(
            "SELECT participant, net FROM clearing_statement_nets WHERE statement_id = $1 "
            "ORDER BY participant",
            STATEMENT,
        )
    }
    assert len(nets) == 6  # the six provinces of the synthetic month
    closed = await _snapshot(db)

    await _raises(
        WrongState, "E_CLEARING_STATE",
        settle(PgClearingUnitOfWork(db), CODEC, PERIOD, NATIONAL), "CLOSED", "settle needs CONFIRMED",
    )  # fmt: skip
    first, *rest = nets
    wrong = nets[first] + Decimal("0.01")
    await _raises(
        ConfirmationMismatch, "E_CLEARING_CONFIRMATION",
        confirm(PgClearingUnitOfWork(db), CODEC, STATEMENT, first, wrong, "ce-wrong", WHEN),
        f"{first} confirms net {wrong} but the statement says {nets[first]}",
    )  # fmt: skip
    await _raises(
        ConfirmationMismatch, "E_CLEARING_CONFIRMATION",
        confirm(PgClearingUnitOfWork(db), CODEC, STATEMENT, "110000", Decimal("0.00"), "ce-stranger", WHEN),
        f"110000 has no position on {STATEMENT}",
    )  # fmt: skip
    await _raises(
        ConfirmationMismatch, "E_CLEARING_CONFIRMATION",
        confirm(PgClearingUnitOfWork(db), CODEC, f"STMT-{PERIOD}-X", first, nets[first], "ce-nostmt", WHEN),
        "no statement",
    )  # fmt: skip
    assert await _snapshot(db) == closed, "refused steps write nothing"

    for i, participant in enumerate([*rest, first]):
        status = await confirm(
            PgClearingUnitOfWork(db),
            CODEC,
            STATEMENT,
            participant,
            nets[participant],
            f"ce-ok-{i}",
            WHEN,
        )
        assert status == ("CONFIRMED" if i == len(nets) - 1 else "CLOSED"), (i, status)
        if i == 0:  # a repeated confirmation is a no-op
            again = await confirm(
                PgClearingUnitOfWork(db),
                CODEC,
                STATEMENT,
                participant,
                nets[participant],
                "ce-ok-again",
                WHEN,
            )
            assert again == "CLOSED"
    confirmed = await db.fetch(
        "SELECT participant, net, ce_id FROM clearing_confirmations WHERE statement_id = $1",
        STATEMENT,
    )
    assert {r["participant"]: r["net"] for r in confirmed} == nets
    assert "ce-ok-again" not in {r["ce_id"] for r in confirmed}
    assert await _periods(db) == [(PERIOD, NATIONAL, "CONFIRMED", STATEMENT)]
    assert await _outbox(db) == [f"{STATEMENT}-closed", f"{STATEMENT}-confirmed"]
    accepted = ClearingStatement.model_validate_json(
        await db.fetchval(
            "SELECT value FROM clearing_outbox WHERE ce_id = $1", f"{STATEMENT}-confirmed"
        )
    )
    original = ClearingStatement.model_validate_json(
        await db.fetchval(
            "SELECT payload FROM clearing_statements WHERE statement_id = $1", STATEMENT
        )
    )
    assert accepted.status == ClearingStatus.ACCEPTED
    assert (accepted.pairs, accepted.nets) == (original.pairs, original.nets)

    confirmed_state = await _snapshot(db)
    await _raises(
        ConfirmationMismatch, "E_CLEARING_CONFIRMATION",
        confirm(PgClearingUnitOfWork(db), CODEC, STATEMENT, first, wrong, "ce-late-wrong", WHEN),
        f"{first} confirms net {wrong}",
    )  # fmt: skip
    assert await _snapshot(db) == confirmed_state

    assert await settle(PgClearingUnitOfWork(db), CODEC, PERIOD, NATIONAL) == "SETTLED"
    assert await _periods(db) == [(PERIOD, NATIONAL, "SETTLED", STATEMENT)]
    outbox = [f"{STATEMENT}-closed", f"{STATEMENT}-confirmed", f"{STATEMENT}-settled"]
    assert await _outbox(db) == outbox
    cleared = ClearingStatement.model_validate_json(
        await db.fetchval("SELECT value FROM clearing_outbox WHERE ce_id = $1", outbox[-1])
    )
    assert cleared.status == ClearingStatus.CLEARED
    settled_state = await _snapshot(db)
    assert await settle(PgClearingUnitOfWork(db), CODEC, PERIOD, NATIONAL) == "SETTLED"
    assert await _snapshot(db) == settled_state, "settling twice is a no-op"

    # A month nobody closed cannot be settled, and trying does not create it.
    await _raises(
        WrongState, "E_CLEARING_STATE",
        settle(PgClearingUnitOfWork(db), CODEC, "2026-11", NATIONAL), "2026-11 national is OPEN",
    )  # fmt: skip
    assert await _snapshot(db) == settled_state


BAD_INPUTS: list[tuple[str, str, type[ClearingError], str]] = [
    ("2026-13", NATIONAL, BadPeriod, "E_CLEARING_PERIOD"),
    ("2026-1", NATIONAL, BadPeriod, "E_CLEARING_PERIOD"),
    ("202610", NATIONAL, BadPeriod, "E_CLEARING_PERIOD"),
    ("2026-10 ", NATIONAL, BadPeriod, "E_CLEARING_PERIOD"),
    ("", NATIONAL, BadPeriod, "E_CLEARING_PERIOD"),
    (PERIOD, "National", BadScope, "E_CLEARING_SCOPE"),
    (PERIOD, "provincial", BadScope, "E_CLEARING_SCOPE"),
    (PERIOD, "province:330900", BadScope, "E_CLEARING_SCOPE"),
    (PERIOD, "province:33", BadScope, "E_CLEARING_SCOPE"),
    (PERIOD, "province:330000;", BadScope, "E_CLEARING_SCOPE"),
    ("2026-13", "nowhere", BadPeriod, "E_CLEARING_PERIOD"),
]


async def test_malformed_period_or_scope_is_refused_before_anything_is_touched(
    db: asyncpg.Connection,
) -> None:
    before = await _snapshot(db)
    for period, scope, exc, code in BAD_INPUTS:
        what = repr(period) if exc is BadPeriod else repr(scope)
        await _raises(exc, code, close_period(PgClearingUnitOfWork(db), CODEC, period, scope), what)
    assert await _snapshot(db) == before
    assert await _periods(db) == []


@pytest.mark.parametrize(("period", "scope"), [("2026-10\n", NATIONAL), (PERIOD, "national\n")])
async def test_a_trailing_newline_is_a_bad_period_or_scope(
    db: asyncpg.Connection, period: str, scope: str
) -> None:
    before = await _snapshot(db)
    with pytest.raises((BadPeriod, BadScope)):
        await close_period(PgClearingUnitOfWork(db), CODEC, period, scope)
    assert await _snapshot(db) == before


async def test_a_period_with_nothing_to_clear_is_confirmed_at_close(db: asyncpg.Connection) -> None:
    """No participant has a position, so nobody can sign: CONFIRMED at once, then settled."""
    empty = "province:110000"
    view = await close_period(PgClearingUnitOfWork(db), CODEC, PERIOD, empty)
    statement = ClearingStatement.model_validate_json(view.payload)
    assert (view.status, statement.nets, statement.pairs) == ("CONFIRMED", (), ())
    assert await _periods(db) == [(PERIOD, empty, "CONFIRMED", view.statement_id)]
    assert await settle(PgClearingUnitOfWork(db), CODEC, PERIOD, empty) == "SETTLED"
    assert await _outbox(db) == [
        f"{view.statement_id}-closed", f"{view.statement_id}-confirmed",
        f"{view.statement_id}-settled",
    ]  # fmt: skip


async def test_a_month_not_over_is_not_closed(db: asyncpg.Connection) -> None:
    before = await _snapshot(db)
    with pytest.raises(WrongState, match="has not ended"):
        await close_period(
            PgClearingUnitOfWork(db), CODEC, "2026-10", NATIONAL, today=dt.date(2026, 10, 31)
        )
    assert await _snapshot(db) == before, "not even frozen"
