"""Clearing in PostgreSQL: entries and running positions per batch, warnings, period close.

Why an advisory lock: a batch reads the periods' states and assigns each
settlement to the first OPEN month; a close flips a month to CLOSING. Batches
take the lock shared and a close takes it exclusively, so once a month is
CLOSING no batch that still believed it OPEN can land in it afterwards — the
statement is built over a frozen set.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import asyncpg
import orjson
import structlog

from contracts.clearing import (
    ClearingStatement,
    NetPosition,
    PrepaymentWarning,
    StatementPair,
)
from contracts.codes import ClearingStatus
from contracts.common import Contract
from contracts.money import from_fen, to_fen
from contracts.pools import PoolingRegions
from contracts.settlement import SETTLEMENT_TOPIC
from events import catalog
from events.catalog import by_name
from events.codec import Codec
from services.clearing.core import periods as P
from services.clearing.core.corrections import CorrectionLine, correction_lines
from services.clearing.core.errors import (
    LedgerBehind,
    PositionsDisagree,
    RebuildNeeded,
    WrongState,
)
from services.clearing.core.prepayment import Level, Thresholds, warnings_due
from services.clearing.core.statement import (
    Draft,
    PairKey,
    PairTotals,
    Prepayment,
    build,
    pair_amounts,
)
from services.clearing.core.statement import differences as statement_differences
from services.clearing.feed import AMOUNT_FIELDS, Fact
from services.runtime.pg_copy import copy_rows
from services.runtime.positions import BatchOutcome, record_positions

log = structlog.get_logger("yidi.clearing")

CLEARING_LOCK = 0x59494449_434C52
"""Advisory lock key shared by batches (shared) and period transitions (exclusive)."""
PROCESSOR = catalog.CLEARING_ID
TOPIC = catalog.CLEARING
_ENTRY_COLUMNS = (
    "setl_id", "period", "natural_period", "scope", "late", "kind", "home", "treatment", "payer",
    "payee", *AMOUNT_FIELDS, "src_partition", "src_offset",
)  # fmt: skip
_SUMS = ", ".join(f"sum({c})" for c in AMOUNT_FIELDS)
_STAGE = "clearing_stage"
assert TOPIC in by_name()


@dataclass(frozen=True, slots=True)
class StatementView:
    statement_id: str
    period: str
    scope: str
    status: str
    payload: bytes
    created: bool


@dataclass(frozen=True, slots=True)
class PeriodStates:
    """Per scope: each period's status, and where each clearing group stood when it froze."""

    statuses: dict[str, dict[str, P.Status]]
    frozen: dict[tuple[str, str], dict[str, dict[str, int]]]

    def counted_before(self, scope: str, group_id: str, fact: Fact) -> Callable[[str], bool]:
        def before(period: str) -> bool:
            at = self.frozen.get((scope, period), {}).get(group_id, {})
            return fact.src_offset < at.get(str(fact.src_partition), -1)

        return before


async def _statuses(conn: asyncpg.Connection, scopes: Sequence[str]) -> PeriodStates:
    rows = await conn.fetch(
        "SELECT scope, period, status, frozen_offsets FROM clearing_periods "
        "WHERE scope = ANY($1::text[])",
        list(scopes),
    )
    out = PeriodStates({s: {} for s in scopes}, {})
    for r in rows:
        out.statuses[r["scope"]][r["period"]] = r["status"]
        if r["frozen_offsets"] is not None:
            out.frozen[(r["scope"], r["period"])] = orjson.loads(r["frozen_offsets"])
    return out


async def enqueue(
    conn: asyncpg.Connection, codec: Codec, message: Contract, ce_id: str, when: dt.datetime
) -> None:
    """Put one message for yidi.clearing.v1 in the outbox (a repeated ce_id is a no-op)."""
    key, value, headers = codec.encode(
        message, ce_id=ce_id, sender=PROCESSOR, ce_time=when, sign=False
    )
    await conn.execute(
        "INSERT INTO clearing_outbox (ce_id, topic, key, value, headers) VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT (ce_id) DO NOTHING",
        ce_id, TOPIC, key, value, orjson.dumps([[k, v.decode("latin-1")] for k, v in headers]),
    )  # fmt: skip


class ClearingSink:
    """The clearing processor's batch write: entries, positions, warnings, offsets — atomically."""

    def __init__(
        self, codec: Codec, thresholds_default: Thresholds = Thresholds(), *, rebuild: bool = False
    ) -> None:
        self.codec = codec
        self.thresholds_default = thresholds_default
        self.rebuild = rebuild
        """A rebuild re-lands history: its warnings were raised (and recorded) already, and
        it commits without waiting for the WAL flush (entries, positions and offsets are one
        transaction: a crash loses a suffix of all three, which the resumed rebuild reads
        again), so the running positions' row locks are held for less."""

    async def __call__(
        self,
        conn: asyncpg.Connection,
        group_id: str,
        rows: Sequence[object],
        positions: dict[tuple[str, int], int],
    ) -> BatchOutcome:
        facts = [r for r in rows if isinstance(r, Fact)]
        inserted = 0
        async with conn.transaction():
            if self.rebuild:
                await conn.execute("SET LOCAL synchronous_commit = off")
            await conn.execute("SELECT pg_advisory_xact_lock_shared($1)", CLEARING_LOCK)
            if facts:
                inserted = await self._land(conn, group_id, facts)
            await record_positions(conn, group_id, positions)
        return BatchOutcome(inserted, len(facts) - inserted, 0)

    async def _land(self, conn: asyncpg.Connection, group_id: str, facts: list[Fact]) -> int:
        states = await _statuses(conn, sorted({f.scope for f in facts}))
        records = []
        for f in facts:
            a = P.assign(
                f.natural_period,
                states.statuses[f.scope],
                states.counted_before(f.scope, group_id, f),
            )
            records.append(
                (f.setl_id, a.period, a.natural_period, f.scope, a.late, f.kind, f.home,
                 f.treatment, f.payer, f.payee, *f.amounts, f.src_partition, f.src_offset)
            )  # fmt: skip
        await conn.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} "
            "(LIKE clearing_entries INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        await copy_rows(conn, _STAGE, _ENTRY_COLUMNS, records)
        cols = ", ".join(_ENTRY_COLUMNS)
        unique = len({f.setl_id for f in facts}) == len(facts)  # else the first by offset
        first, order = (
            ("", "") if unique else (" DISTINCT ON (setl_id)", " ORDER BY setl_id, src_offset")
        )
        sets = ", ".join(
            f"{c} = clearing_positions.{c} + EXCLUDED.{c}"
            for c in ("setl_cnt", "rev_cnt", "late_cnt", *AMOUNT_FIELDS)
        )
        # positions in key order: concurrent batches (two members of the group, a rebuild's
        # worker processes) lock their rows in one order, never in a cycle
        rows = await conn.fetch(
            f"""WITH ins AS (
                    INSERT INTO clearing_entries ({cols})
                    SELECT{first} {cols} FROM {_STAGE}{order}
                    ON CONFLICT (setl_id) DO NOTHING RETURNING *),
                pos AS (
                    INSERT INTO clearing_positions (period, scope, home, treatment, payer, payee,
                        setl_cnt, rev_cnt, late_cnt, {", ".join(AMOUNT_FIELDS)})
                    SELECT period, scope, home, treatment, payer, payee,
                        count(*) FILTER (WHERE kind = 'settlement'),
                        count(*) FILTER (WHERE kind = 'reversal'),
                        count(*) FILTER (WHERE late), {_SUMS}
                    FROM ins GROUP BY period, scope, home, treatment, payer, payee
                    ORDER BY period, scope, home, treatment
                    ON CONFLICT (period, scope, home, treatment) DO UPDATE SET {sets},
                        updated_at = now()
                    RETURNING period, scope, payer, payee)
                SELECT 'n' AS what, (SELECT count(*) FROM ins)::text AS period,
                       NULL AS scope, NULL AS payer, NULL AS payee
                UNION ALL SELECT DISTINCT 'p', period, scope, payer, payee FROM pos"""
        )
        inserted = next(int(r["period"]) for r in rows if r["what"] == "n")
        touched = [
            (r["period"], r["scope"], r["payer"], r["payee"]) for r in rows if r["what"] == "p"
        ]
        if touched and not self.rebuild:
            await self._warn(conn, touched)
        return inserted

    async def _warn(
        self, conn: asyncpg.Connection, touched: list[tuple[str, str, str, str]]
    ) -> None:
        """Warn once per upward crossing of a prepayment threshold by this month's usage."""
        cols = list(zip(*touched, strict=True))
        rows = await conn.fetch(
            """SELECT t.period, t.scope, t.payer, t.payee, p.amount, p.yellow_bp, p.red_bp,
                      l.level, coalesce(l.crossings, 0) AS crossings,
                      (SELECT coalesce(sum(c.fund_pay_sumamt), 0) FROM clearing_positions c
                        WHERE c.period = t.period AND c.scope = t.scope
                          AND c.payer = t.payer AND c.payee = t.payee) AS used
               FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
                    AS t(period, scope, payer, payee)
               JOIN LATERAL (
                    SELECT q.amount, q.yellow_bp, q.red_bp FROM prepayments q
                    WHERE q.scope = t.scope AND q.payer = t.payer AND q.payee = t.payee
                      AND q.year BETWEEN substr(t.period, 1, 4)::int - 1
                                     AND substr(t.period, 1, 4)::int
                    ORDER BY q.year DESC LIMIT 1) p ON true
               LEFT JOIN prepayment_levels l ON l.period = t.period AND l.scope = t.scope
                    AND l.payer = t.payer AND l.payee = t.payee
               ORDER BY 1, 2, 3, 4""",
            *[list(c) for c in cols],
        )
        now = dt.datetime.now(dt.UTC)
        for r in rows:
            t = Thresholds(yellow_bp=r["yellow_bp"], red_bp=r["red_bp"])
            prepayment_fen, used_fen = to_fen(r["amount"]), to_fen(r["used"])
            level, crossed = warnings_due(r["level"], used_fen, prepayment_fen, t)
            if level == r["level"]:
                continue
            n = r["crossings"]
            for lvl in crossed:
                n += 1
                await self._enqueue_warning(conn, r, lvl, t, prepayment_fen, used_fen, n, now)
            await conn.execute(
                """INSERT INTO prepayment_levels (period, scope, payer, payee, level, crossings)
                   VALUES ($1, $2, $3, $4, $5, $6)
                   ON CONFLICT (period, scope, payer, payee)
                   DO UPDATE SET level = EXCLUDED.level, crossings = EXCLUDED.crossings""",
                r["period"], r["scope"], r["payer"], r["payee"], level, n,
            )  # fmt: skip

    async def _enqueue_warning(
        self,
        conn: asyncpg.Connection,
        r: asyncpg.Record,
        level: Level,
        t: Thresholds,
        prepayment_fen: int,
        used_fen: int,
        n: int,
        now: dt.datetime,
    ) -> None:
        bp = t.yellow_bp if level == "yellow" else t.red_bp
        warning = PrepaymentWarning(
            participant=r["payer"], period=r["period"], scope=P.scope_kind(r["scope"]),
            home=r["payer"], treatment=r["payee"], prepayment=from_fen(prepayment_fen),
            clearing_amt=from_fen(used_fen), level=level, threshold=f"{bp / 10_000:.2f}",
            raised_at=now,
        )  # fmt: skip
        ce_id = f"warn-{r['period']}-{r['scope']}-{r['payer']}-{r['payee']}-{n}-{level}"
        await enqueue(conn, self.codec, warning, ce_id.replace(":", "-"), now)
        log.warning(
            "prepayment_warning",
            period=r["period"],
            payer=r["payer"],
            payee=r["payee"],
            level=level,
        )


_FROZEN = f"""
    SELECT coalesce(jsonb_object_agg(group_id, offsets), '{{}}'::jsonb) FROM (
        SELECT group_id, jsonb_object_agg(partition::text, next_offset) AS offsets
        FROM sink_offsets WHERE topic = '{SETTLEMENT_TOPIC}' AND group_id LIKE '{PROCESSOR}%'
        GROUP BY group_id) g"""


async def begin_close(conn: asyncpg.Connection, period: str, scope: str) -> str:
    """Freeze the period (OPEN -> CLOSING) and return its status; a closed one is returned as is."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", CLEARING_LOCK)
        status = await conn.fetchval(
            "SELECT status FROM clearing_periods WHERE period = $1 AND scope = $2", period, scope
        )
        if status in (None, "OPEN"):
            await conn.execute(
                f"""INSERT INTO clearing_periods (period, scope, status, frozen_offsets)
                   VALUES ($1, $2, 'CLOSING', ({_FROZEN}))
                   ON CONFLICT (period, scope) DO UPDATE SET status = 'CLOSING',
                       frozen_offsets = EXCLUDED.frozen_offsets, changed_at = now()""",
                period, scope,
            )  # fmt: skip
            return "CLOSING"
        return str(status)


async def ledger_missing(conn: asyncpg.Connection, period: str, scope: str) -> int:
    """Settlements placed in the period that the ledger has not landed yet."""
    return int(
        await conn.fetchval(
            """SELECT count(*) FROM clearing_entries e WHERE e.period = $1 AND e.scope = $2
               AND NOT EXISTS (SELECT 1 FROM settlements s WHERE s.setl_id = e.setl_id)""",
            period,
            scope,
        )
    )


def _totals(r: asyncpg.Record) -> tuple[PairKey, PairTotals]:
    funds = tuple(to_fen(r[c]) for c in AMOUNT_FIELDS[2:])
    return (r["home"], r["treatment"], r["payer"], r["payee"]), PairTotals(
        r["setl_cnt"], r["rev_cnt"], r["late_cnt"],
        to_fen(r["medfee_sumamt"]), to_fen(r["fund_pay_sumamt"]), funds,
    )  # fmt: skip


async def ledger_totals(
    conn: asyncpg.Connection, period: str, scope: str
) -> dict[PairKey, PairTotals]:
    """The period's pairs grouped from the ledger itself (amounts and regions from ``settlements``;
    only the month each settlement is cleared in comes from ``clearing_entries``)."""
    sums = ", ".join(f"sum(s.{c}) AS {c}" for c in AMOUNT_FIELDS)
    rows = await conn.fetch(
        f"""SELECT s.insuplc_admdvs AS home, s.mdtrtarea_admvs AS treatment, e.payer, e.payee,
                   count(*) FILTER (WHERE s.kind = 'settlement') AS setl_cnt,
                   count(*) FILTER (WHERE s.kind = 'reversal') AS rev_cnt,
                   count(*) FILTER (WHERE e.late) AS late_cnt, {sums}
            FROM clearing_entries e JOIN settlements s USING (setl_id)
            WHERE e.period = $1 AND e.scope = $2
            GROUP BY 1, 2, 3, 4""",
        period, scope,
    )  # fmt: skip
    return dict(_totals(r) for r in rows)


async def position_totals(
    conn: asyncpg.Connection, period: str, scope: str
) -> dict[PairKey, PairTotals]:
    rows = await conn.fetch(
        f"""SELECT home, treatment, payer, payee, setl_cnt, rev_cnt, late_cnt,
                   {", ".join(AMOUNT_FIELDS)}
            FROM clearing_positions WHERE period = $1 AND scope = $2""",
        period, scope,
    )  # fmt: skip
    return dict(_totals(r) for r in rows)


async def prepayments_for(
    conn: asyncpg.Connection, period: str, scope: str
) -> dict[tuple[str, str], Prepayment]:
    # The period's year's prepayment; until January's re-set is made, last year's is in force.
    rows = await conn.fetch(
        """SELECT DISTINCT ON (payer, payee) payer, payee, amount, yellow_bp, red_bp
           FROM prepayments WHERE year BETWEEN $1 - 1 AND $1 AND scope = $2
           ORDER BY payer, payee, year DESC""",
        P.period_year(period), scope,
    )  # fmt: skip
    return {
        (r["payer"], r["payee"]): Prepayment(
            to_fen(r["amount"]), Thresholds(yellow_bp=r["yellow_bp"], red_bp=r["red_bp"])
        )
        for r in rows
    }


def statement_message(
    draft: Draft, status: ClearingStatus, issued_at: dt.datetime
) -> ClearingStatement:
    return ClearingStatement(
        participant=draft.participant, period=draft.period, scope=P.scope_kind(draft.scope),
        statement_id=draft.statement_id, status=status,
        pairs=tuple(
            StatementPair(
                payer=p.payer, payee=p.payee, fund_pay_sumamt=from_fen(p.fund_fen),
                deduction=from_fen(p.deduction_fen), setl_cnt=p.setl_cnt,
            )
            for p in draft.pairs
        ),
        nets=tuple(NetPosition(participant=k, net=from_fen(v)) for k, v in draft.nets.items()),
        issued_at=issued_at,
    )  # fmt: skip


async def stored_statement(
    conn: asyncpg.Connection, period: str, scope: str
) -> StatementView | None:
    row = await conn.fetchrow(
        """SELECT s.statement_id, s.payload, p.status FROM clearing_statements s
           JOIN clearing_periods p USING (period, scope) WHERE s.period = $1 AND s.scope = $2""",
        period, scope,
    )  # fmt: skip
    if row is None:
        return None
    return StatementView(
        row["statement_id"], period, scope, row["status"], bytes(row["payload"]), False
    )


async def close_period(
    conn: asyncpg.Connection,
    codec: Codec,
    period: str,
    scope: str,
    today: dt.date | None = None,
    pools: PoolingRegions | None = None,
) -> StatementView:
    """Freeze, check the ledger against the running positions, issue the statement (CLOSED).

    Idempotent: a period already closed returns its statement unchanged. Raises
    ``WrongState`` for a month not over yet, ``LedgerBehind`` (retry later; the period stays
    CLOSING), ``PositionsDisagree``, or — with ``pools``, the pooling regions loaded now —
    ``RebuildNeeded`` when the period's positions were placed under another pool rule.
    """
    P.parse_period(period)
    P.parse_scope(scope)
    P.require_ended(period, today or dt.datetime.now(P.CHINA).date())
    status = await begin_close(conn, period, scope)
    if status != "CLOSING":
        view = await stored_statement(conn, period, scope)
        if view is None:
            raise WrongState(f"{period} {scope} is {status} but has no statement")
        return view
    missing = await ledger_missing(conn, period, scope)
    if missing:
        raise LedgerBehind(f"{missing} settlements of {period} {scope} are not in the ledger yet")
    async with conn.transaction(isolation="repeatable_read"):
        await conn.execute("SELECT pg_advisory_xact_lock($1)", CLEARING_LOCK)
        if (
            await conn.fetchval(
                "SELECT status FROM clearing_periods WHERE period = $1 AND scope = $2",
                period,
                scope,
            )
            != "CLOSING"
        ):
            view = None  # another closer finished first
        else:
            view = await _issue(conn, codec, period, scope, pools)
    if view is None:
        done = await stored_statement(conn, period, scope)
        assert done is not None
        return done
    return view


_ISSUED = ("CLOSED", "CONFIRMED", "SETTLED")


async def correction_due(
    conn: asyncpg.Connection, period: str, scope: str
) -> tuple[CorrectionLine, ...]:
    """A closed period's statement against what its settlements give now (the running
    positions of the month, which a rebuild re-derives under today's rule), less what
    earlier statements already carried. Empty for a period without a statement."""
    issued_rows = await conn.fetch(
        """SELECT p.payer, p.payee, p.fund_pay_sumamt FROM clearing_statement_pairs p
           JOIN clearing_statements s USING (statement_id)
           WHERE s.period = $1 AND s.scope = $2""",
        period, scope,
    )  # fmt: skip
    if not issued_rows and not await conn.fetchval(
        "SELECT 1 FROM clearing_statements WHERE period = $1 AND scope = $2", period, scope
    ):
        return ()
    issued = {
        (r["payer"], r["payee"]): to_fen(r["fund_pay_sumamt"])
        for r in issued_rows
        if r["fund_pay_sumamt"]
    }
    recomputed = pair_amounts(build(period, scope, await position_totals(conn, period, scope), {}))
    carried = {
        (r["payer"], r["payee"]): to_fen(r["amount"])
        for r in await conn.fetch(
            """SELECT payer, payee, sum(amount) AS amount FROM clearing_corrections
               WHERE origin_period = $1 AND scope = $2 GROUP BY 1, 2""",
            period,
            scope,
        )
    }
    return correction_lines(period, issued, recomputed, carried)


async def carried_into(
    conn: asyncpg.Connection, period: str, scope: str, *, closing: bool = False
) -> tuple[CorrectionLine, ...]:
    """The corrections of earlier closed periods that ``period`` carries: those whose first
    open period after their own month is ``period`` (``closing``: it is being closed now,
    so it still counts as open)."""
    states = await _statuses(conn, [scope])
    statuses = dict(states.statuses[scope])
    if closing:
        statuses[period] = "OPEN"
    lines: list[CorrectionLine] = []
    for origin in sorted(p for p, st in statuses.items() if st in _ISSUED and p < period):
        if P.assign(P.next_period(origin), statuses).period == period:
            lines.extend(await correction_due(conn, origin, scope))
    return tuple(lines)


async def carried_to(conn: asyncpg.Connection, period: str, scope: str) -> str:
    """The period a closed ``period``'s correction would be carried into now."""
    states = await _statuses(conn, [scope])
    return P.assign(P.next_period(period), states.statuses[scope]).period


async def recorded_corrections(
    conn: asyncpg.Connection, period: str, scope: str
) -> tuple[CorrectionLine, ...]:
    """What the statement of ``period`` carried when it closed (``clearing_corrections``)."""
    rows = await conn.fetch(
        """SELECT origin_period, payer, payee, issued, recomputed, amount
           FROM clearing_corrections WHERE carried_into = $1 AND scope = $2
           ORDER BY origin_period, payer, payee""",
        period, scope,
    )  # fmt: skip
    return tuple(
        CorrectionLine(
            r["origin_period"], r["payer"], r["payee"], to_fen(r["issued"]),
            to_fen(r["recomputed"]),
            to_fen(r["recomputed"]) - to_fen(r["issued"]) - to_fen(r["amount"]),
        )
        for r in rows
    )  # fmt: skip


async def _issue(
    conn: asyncpg.Connection, codec: Codec, period: str, scope: str, pools: PoolingRegions | None
) -> StatementView:
    from_ledger = await ledger_totals(conn, period, scope)
    running = await position_totals(conn, period, scope)
    diff = statement_differences(from_ledger, running)
    if diff:
        log.error("clearing_positions_disagree", period=period, scope=scope, differences=diff[:20])
        raise PositionsDisagree(
            f"{period} {scope}: the ledger and the running positions differ in {len(diff)} "
            f"places, first: {diff[0]}"
        )
    stale = [] if pools is None else P.misplaced(from_ledger, scope, pools)
    if stale:
        log.error("clearing_rebuild_needed", period=period, scope=scope, pairs=stale[:20])
        raise RebuildNeeded(
            f"{period} {scope}: {len(stale)} running positions follow another pooling rule "
            f"(first: {stale[0]}); rebuild the clearing projection, then close again"
        )
    draft = build(period, scope, from_ledger, await prepayments_for(conn, period, scope))
    issued_at = dt.datetime.now(dt.UTC)
    message = statement_message(draft, ClearingStatus.APPLIED, issued_at)
    _key, payload, _headers = codec.encode(
        message, ce_id=draft.statement_id, sender=PROCESSOR, ce_time=issued_at, sign=False
    )
    await conn.execute(
        """INSERT INTO clearing_statements (statement_id, period, scope, issued_at, setl_cnt,
               late_cnt, gross_fen, net_volume_fen, payload)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        draft.statement_id, period, scope, issued_at, draft.setl_cnt, draft.late_cnt,
        draft.gross_fen, draft.net_volume_fen, payload,
    )  # fmt: skip
    await conn.executemany(
        """INSERT INTO clearing_statement_pairs (statement_id, payer, payee, fund_pay_sumamt,
               deduction, setl_cnt, late_cnt, prepayment, top_up)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        [
            (draft.statement_id, p.payer, p.payee, from_fen(p.fund_fen),
             from_fen(p.deduction_fen), p.setl_cnt, p.late_cnt,
             None if p.prepayment_fen is None else from_fen(p.prepayment_fen),
             from_fen(p.top_up_fen))
            for p in draft.pairs
        ],
    )  # fmt: skip
    await conn.executemany(
        "INSERT INTO clearing_statement_nets (statement_id, participant, net) VALUES ($1, $2, $3)",
        [(draft.statement_id, k, from_fen(v)) for k, v in draft.nets.items()],
    )
    corrections = await carried_into(conn, period, scope, closing=True)
    await conn.executemany(
        """INSERT INTO clearing_corrections (origin_period, scope, payer, payee, carried_into,
               statement_id, amount, issued, recomputed)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        [
            (c.origin_period, scope, c.payer, c.payee, period, draft.statement_id,
             from_fen(c.due_fen), from_fen(c.issued_fen), from_fen(c.recomputed_fen))
            for c in corrections
        ],
    )  # fmt: skip
    await conn.execute(
        """UPDATE clearing_periods SET status = 'CLOSED', statement_id = $3, changed_at = now()
           WHERE period = $1 AND scope = $2""",
        period, scope, draft.statement_id,
    )  # fmt: skip
    await enqueue(conn, codec, message, f"{draft.statement_id}-closed", issued_at)
    log.info("clearing_period_closed", period=period, scope=scope, statement_id=draft.statement_id,
         settlements=draft.setl_cnt, late=draft.late_cnt)  # fmt: skip
    if not draft.nets:
        # Nobody to sign off: confirmed by every participant as soon as it is closed.
        await _advance(conn, codec, period, scope, "CONFIRMED", ClearingStatus.ACCEPTED)
        return StatementView(draft.statement_id, period, scope, "CONFIRMED", payload, True)
    return StatementView(draft.statement_id, period, scope, "CLOSED", payload, True)


async def confirm(
    conn: asyncpg.Connection,
    codec: Codec,
    statement_id: str,
    participant: str,
    net: Decimal,
    ce_id: str,
    confirmed_at: dt.datetime,
) -> str:
    """Record a participant's sign-off; the period becomes CONFIRMED when every participant
    with a net on the statement has signed. Returns the period's status."""
    from services.clearing.core.errors import ConfirmationMismatch

    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", CLEARING_LOCK)
        row = await conn.fetchrow(
            """SELECT s.period, s.scope, p.status FROM clearing_statements s
               JOIN clearing_periods p USING (period, scope) WHERE s.statement_id = $1""",
            statement_id,
        )
        if row is None:
            raise ConfirmationMismatch(f"no statement {statement_id}")
        if row["status"] not in ("CLOSED", "CONFIRMED", "SETTLED"):
            raise WrongState(f"statement {statement_id} is {row['status']}")
        want = await conn.fetchval(
            "SELECT net FROM clearing_statement_nets WHERE statement_id = $1 AND participant = $2",
            statement_id, participant,
        )  # fmt: skip
        if want is None:
            raise ConfirmationMismatch(f"{participant} has no position on {statement_id}")
        if want != net:
            raise ConfirmationMismatch(
                f"{participant} confirms net {net} but the statement says {want}"
            )
        await conn.execute(
            """INSERT INTO clearing_confirmations (statement_id, participant, net, ce_id, confirmed_at)
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING""",
            statement_id, participant, net, ce_id, confirmed_at,
        )  # fmt: skip
        pending = await conn.fetchval(
            """SELECT count(*) FROM clearing_statement_nets n WHERE n.statement_id = $1
               AND NOT EXISTS (SELECT 1 FROM clearing_confirmations c
                               WHERE c.statement_id = n.statement_id AND c.participant = n.participant)""",
            statement_id,
        )
        status = str(row["status"])
        if pending == 0 and status == "CLOSED":
            await _advance(
                conn, codec, row["period"], row["scope"], "CONFIRMED", ClearingStatus.ACCEPTED
            )
            status = "CONFIRMED"
        return status


async def settle(conn: asyncpg.Connection, codec: Codec, period: str, scope: str) -> str:
    """CONFIRMED -> SETTLED once the transfers are made; settling twice is a no-op."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", CLEARING_LOCK)
        status = await conn.fetchval(
            "SELECT status FROM clearing_periods WHERE period = $1 AND scope = $2", period, scope
        )
        if status == "SETTLED":
            return "SETTLED"
        P.require("settle", status or "OPEN", f"{period} {scope}")
        await _advance(conn, codec, period, scope, "SETTLED", ClearingStatus.CLEARED)
        return "SETTLED"


async def _advance(
    conn: asyncpg.Connection,
    codec: Codec,
    period: str,
    scope: str,
    status: str,
    code: ClearingStatus,
) -> None:
    """Move the period on and tell the clearing center: the statement again, with its new status
    (its pairs and nets never change)."""
    await conn.execute(
        "UPDATE clearing_periods SET status = $3, changed_at = now() WHERE period = $1 AND scope = $2",
        period, scope, status,
    )  # fmt: skip
    payload = await conn.fetchval(
        "SELECT payload FROM clearing_statements WHERE period = $1 AND scope = $2", period, scope
    )
    original = ClearingStatement.model_validate_json(payload)
    now = dt.datetime.now(dt.UTC)
    updated = original.model_copy(update={"status": code})
    await enqueue(conn, codec, updated, f"{original.statement_id}-{status.lower()}", now)
