"""The clearing pages: periods and states, the month's flow chart and matrix, nets, pairs;
a pair's settlements; a participant's statement."""

from __future__ import annotations

from aiohttp import web

from services.dashboard.core import clearing_views as cv
from services.dashboard.core.access import NATIONAL, Page, check_code, check_period, check_scope
from services.dashboard.core.errors import Forbidden, NotFound
from services.dashboard.web.render import page
from services.dashboard.web.state import deps, viewer


async def clearing(request: web.Request) -> web.Response:
    who, d = viewer(request), deps(request)
    who.require_page(Page.CLEARING)
    periods = [p for p in await d.reads.periods() if who.sees_scope(p.scope)]
    months = sorted({p.period for p in periods}, reverse=True)
    period = check_period(request.query.get("period") or (months[0] if months else "2026-01"))
    scope = check_scope(request.query.get("scope", NATIONAL))
    if not who.sees_scope(scope):
        raise Forbidden(f"{who.login} may not see {scope}")
    flows = cv.visible_flows(await d.reads.flows(period, scope), scope, who)
    report = await d.reads.report(period, scope)
    nets = cv.visible_nets(report.nets, scope, who)
    pairs = [p for p in report.pairs if who.sees_pair(scope, p.payer, p.payee)]
    scopes = sorted({p.scope for p in periods} | {scope}, key=lambda s: (s != NATIONAL, s))
    return page(
        request, "clearing.html", periods=periods, months=months, period=period, scope=scope,
        scopes=scopes, report=report, nets=nets, pairs=pairs, matrix=cv.flow_matrix(flows),
        flow=cv.flow_chart(flows, d.names), nets_chart=cv.nets_chart(nets, d.names),
        nets_sum=sum(nets.values()), all_nets=len(nets) == len(report.nets),
    )  # fmt: skip


async def pair(request: web.Request) -> web.Response:
    who, d = viewer(request), deps(request)
    who.require_page(Page.CLEARING)
    q = request.query
    period, scope = check_period(q.get("period", "")), check_scope(q.get("scope", NATIONAL))
    payer, payee = check_code(q.get("payer", "")), check_code(q.get("payee", ""))
    who.require_pair(scope, payer, payee)
    total, rows = await d.reads.pair_entries(period, scope, payer, payee)
    return page(request, "pair.html", period=period, scope=scope, payer=payer, payee=payee,
                total=total, rows=rows)  # fmt: skip


async def statement(request: web.Request) -> web.Response:
    """``/statements/{id}/{participant}``: that participant's pairs and net. A province may
    open its own participant's view (and every pool's in its own provincial scope); another
    province's answers 403 whether or not the statement exists."""
    who, d = viewer(request), deps(request)
    who.require_page(Page.CLEARING)
    participant = check_code(request.match_info["participant"])
    found = await d.reads.statement(request.match_info["statement_id"])
    if found is None:
        if who.province is not None and participant != who.province:
            raise Forbidden(f"{who.login} may not see {participant}'s statement")
        raise NotFound("no such statement")
    who.require_participant(found.scope, participant)
    everyone = participant == "000000"
    if everyone and not all(who.sees_participant(found.scope, p) for p in found.nets):
        raise Forbidden(f"{who.login} may not see every participant of this statement")
    pairs = [p for p in found.pairs if everyone or participant in (p.payer, p.payee)]
    nets = {p: n for p, n in found.nets.items() if everyone or p == participant}
    return page(request, "statement.html", s=found, participant=participant, pairs=pairs,
                nets=nets, everyone=everyone)  # fmt: skip


async def settlement(request: web.Request) -> web.Response:
    """An evidence link: one ledger row (no ``psn_no``), for whoever may see either side."""
    who, d = viewer(request), deps(request)
    if not (who.may_open(Page.SUPERVISION) or who.may_open(Page.CLEARING)):
        raise Forbidden(f"{who.login} may not see settlements")
    row = await d.reads.settlement(request.match_info["setl_id"])
    if row is None:
        if who.province is not None:
            raise Forbidden(f"{who.login} may not see this settlement")
        raise NotFound("no such settlement")
    who.require_settlement(row["insuplc_admdvs"], row["mdtrtarea_admvs"])
    return page(request, "settlement.html", row=row)


def routes(app: web.Application) -> None:
    app.router.add_get("/clearing", clearing)
    app.router.add_get("/clearing/pair", pair)
    app.router.add_get("/statements/{statement_id}/{participant}", statement)
    app.router.add_get("/settlements/{setl_id}", settlement)
