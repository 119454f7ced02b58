"""Queries on large stays (协查): the steps over a ``QueryStore``, each in one transaction,
with the rules of ``core/queries.py`` and the sides of the settlement's clearing flow."""

from __future__ import annotations

import dataclasses
import datetime as dt

import structlog

from contracts.audit import QueryRules
from contracts.pools import PoolingRegions
from services.clearing.core import queries as Q
from services.clearing.core.periods import flow_of
from services.clearing.core.workdays import WorkingDays
from services.clearing.ports import QueryStore, StayRow

log = structlog.get_logger("yidi.clearing")


@dataclasses.dataclass(frozen=True, slots=True)
class QueryContext:
    rules: QueryRules
    days: WorkingDays
    pools: PoolingRegions


def stay_of(row: StayRow | None, pools: PoolingRegions) -> Q.Stay | None:
    """The settlement with the agencies of each side: the division's own, its pool's and the
    participant its statement names (the province nationally). A settlement inside one pool
    is not cross-region: there is no one to query."""
    if row is None:
        return None
    flow = flow_of(row.home, row.treatment, pools)
    if flow is None:
        raise Q.NotQueryable(
            f"settlement {row.setl_id} stays inside pool {pools.pool_of(row.home)}"
        )
    return Q.Stay(
        row.setl_id, row.clr_type, row.medfee_fen, row.fund_fen, row.setl_date,
        frozenset({row.home, flow.home_pool, flow.payer}),
        frozenset({row.treatment, flow.treatment_pool, flow.payee}), row.reversed,
    )  # fmt: skip


async def raise_query(
    store: QueryStore, ctx: QueryContext, *, setl_id: str, agency: str, query_id: str,
    today: dt.date,
) -> Q.Query:  # fmt: skip
    async with store.transaction() as tx:
        if await tx.get(query_id) is not None:
            raise Q.QueryStepRefused(f"query {query_id} exists")
        q = Q.raise_query(
            stay_of(await tx.stay(setl_id), ctx.pools), setl_id=setl_id, agency=agency,
            query_id=query_id, today=today, open_query=await tx.open_for(setl_id),
            rules=ctx.rules, days=ctx.days,
        )  # fmt: skip
        await tx.save(q)
    log.info("audit_query_raised", query_id=query_id, batch=q.batch, reply_by=str(q.reply_by))
    return q


async def _step(store: QueryStore, ctx: QueryContext, query_id: str, step: str, agency: str,
                today: dt.date, **kw: str) -> Q.Query:  # fmt: skip
    async with store.transaction() as tx:
        q = await tx.get(query_id)
        if q is None:
            raise Q.QueryStepRefused(f"no query {query_id}")
        if step == "answer":
            stay = stay_of(await tx.stay(q.setl_id), ctx.pools)
            assert stay is not None, "a queried settlement stays in the ledger"
            q = Q.answer(q, stay, agency=agency, today=today, text=kw["text"], rules=ctx.rules,
                         days=ctx.days)  # fmt: skip
        elif step == "confirm":
            q = Q.confirm(q, agency=agency, today=today)
        elif step == "dispute":
            q = Q.dispute(q, agency=agency, today=today)
        else:
            stay = stay_of(await tx.stay(q.setl_id), ctx.pools)
            assert stay is not None, "a queried settlement stays in the ledger"
            setl = await tx.deduction_setl(agency, kw["deduction_id"])
            if setl is None:
                raise Q.QueryStepRefused(
                    f"AG{agency} has no applied deduction {kw['deduction_id']}"
                )
            q = Q.resolve_by_deduction(q, stay, agency=agency, today=today,
                                       deduction_id=kw["deduction_id"], deduction_setl_id=setl)  # fmt: skip
        await tx.save(q)
    log.info("audit_query_step", query_id=query_id, step=step, state=str(q.state))
    return q


async def answer(store: QueryStore, ctx: QueryContext, query_id: str, *, agency: str,
                 today: dt.date, text: str) -> Q.Query:  # fmt: skip
    return await _step(store, ctx, query_id, "answer", agency, today, text=text)


async def confirm(store: QueryStore, ctx: QueryContext, query_id: str, *, agency: str,
                  today: dt.date) -> Q.Query:  # fmt: skip
    return await _step(store, ctx, query_id, "confirm", agency, today)


async def dispute(store: QueryStore, ctx: QueryContext, query_id: str, *, agency: str,
                  today: dt.date) -> Q.Query:  # fmt: skip
    return await _step(store, ctx, query_id, "dispute", agency, today)


async def resolve(store: QueryStore, ctx: QueryContext, query_id: str, *, agency: str,
                  today: dt.date, deduction_id: str) -> Q.Query:  # fmt: skip
    """A disputed query ends in the treatment side's deduction (already applied by clearing)."""
    return await _step(store, ctx, query_id, "resolve", agency, today, deduction_id=deduction_id)


async def overview(store: QueryStore, ctx: QueryContext, *, today: dt.date) -> list[Q.Query]:
    """Every query as its deadlines leave it today; what time changed is written back."""
    async with store.transaction() as tx:
        out = []
        for q in await tx.all():
            now = Q.advance(q, today)
            if now != q:
                await tx.save(now)
            out.append(now)
    return out
