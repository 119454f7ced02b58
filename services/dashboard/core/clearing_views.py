"""View models of the clearing and prepayment pages: the gross flow chart (a sankey from
payers on the left to payees on the right), the flow matrix, nets, usage gauges.

Amounts stay ``Decimal`` in every table; only the chart's link widths are floats (a chart
draws, it does not account). Rows the viewer may not see never reach a model."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from services.dashboard.core.access import Viewer
from services.dashboard.core.divisions import Divisions


@dataclass(frozen=True, slots=True)
class FlowRow:
    """Gross fund flow of one pair in a period and scope (clearing positions, not netted)."""

    payer: str
    payee: str
    fund: Decimal
    setl_cnt: int


@dataclass(frozen=True, slots=True)
class PeriodState:
    period: str
    scope: str
    status: str
    statement_id: str | None


def visible_flows(rows: Iterable[FlowRow], scope: str, viewer: Viewer) -> list[FlowRow]:
    return [r for r in rows if viewer.sees_pair(scope, r.payer, r.payee)]


def flow_chart(rows: Iterable[FlowRow], names: Divisions) -> dict[str, object]:
    """ECharts sankey data. Payers and payees are separate nodes (付 / 收): flows both ways
    between two provinces would otherwise make a cycle, which a sankey cannot draw."""
    links = []
    nodes: dict[str, dict[str, object]] = {}
    for r in sorted(rows, key=lambda r: (-r.fund, r.payer, r.payee)):
        if r.fund <= 0:
            continue  # a pair more reversed than settled: in the tables, not drawn
        source, target = f"付 {names.label(r.payer)}", f"收 {names.label(r.payee)}"
        nodes.setdefault(source, {"name": source, "depth": 0})
        nodes.setdefault(target, {"name": target, "depth": 1})
        links.append({"source": source, "target": target, "value": float(r.fund),
                      "label": f"{r.fund} 元, {r.setl_cnt} 笔"})  # fmt: skip
    return {"nodes": list(nodes.values()), "links": links}


@dataclass(frozen=True, slots=True)
class Matrix:
    """Rows: payers; columns: payees; cells: gross fund (``None``: no flow)."""

    payers: list[str]
    payees: list[str]
    cells: dict[tuple[str, str], Decimal]
    row_totals: dict[str, Decimal]
    col_totals: dict[str, Decimal]
    total: Decimal

    def cell(self, payer: str, payee: str) -> Decimal | None:
        return self.cells.get((payer, payee))


def flow_matrix(rows: Iterable[FlowRow]) -> Matrix:
    cells: dict[tuple[str, str], Decimal] = {}
    for r in rows:
        cells[(r.payer, r.payee)] = cells.get((r.payer, r.payee), Decimal(0)) + r.fund
    payers = sorted({p for p, _ in cells})
    payees = sorted({q for _, q in cells})
    row_totals = {p: sum((v for (a, _), v in cells.items() if a == p), Decimal(0)) for p in payers}
    col_totals = {q: sum((v for (_, b), v in cells.items() if b == q), Decimal(0)) for q in payees}
    return Matrix(payers, payees, cells, row_totals, col_totals, sum(cells.values(), Decimal(0)))


def visible_nets(nets: Mapping[str, Decimal], scope: str, viewer: Viewer) -> dict[str, Decimal]:
    """Nets per participant (received - paid), only those the viewer may see. For the center
    they sum to zero; a province sees its own line."""
    return {p: n for p, n in nets.items() if viewer.sees_participant(scope, p)}


def nets_chart(nets: Mapping[str, Decimal], names: Divisions) -> dict[str, object]:
    ordered = sorted(nets.items(), key=lambda kv: (-kv[1], kv[0]))
    return {"labels": [names.label(p) for p, _ in ordered],
            "values": [float(n) for _, n in ordered]}  # fmt: skip


@dataclass(frozen=True, slots=True)
class GaugeRow:
    """A prepayment (预付金) and what its pair used in the period."""

    scope: str
    payer: str
    payee: str
    amount: Decimal
    used: Decimal
    yellow_bp: int
    red_bp: int
    level: str | None


@dataclass(frozen=True, slots=True)
class Gauge:
    scope: str
    payer: str
    payee: str
    title: str
    amount: Decimal
    used: Decimal
    usage_pct: float
    yellow_pct: float
    red_pct: float
    level: str | None


def gauges(rows: Iterable[GaugeRow], viewer: Viewer, names: Divisions) -> list[Gauge]:
    """One gauge per visible pair, most used first; the yellow and red lines as percentages."""
    out = []
    for r in rows:
        if not viewer.sees_pair(r.scope, r.payer, r.payee):
            continue
        usage = float(r.used / r.amount * 100) if r.amount > 0 else 0.0
        title = f"{names.label(r.payer)} → {names.label(r.payee)}"
        out.append(Gauge(r.scope, r.payer, r.payee, title, r.amount, r.used, round(usage, 2),
                         r.yellow_bp / 100, r.red_bp / 100, r.level))  # fmt: skip
    return sorted(out, key=lambda g: (-g.usage_pct, g.payer, g.payee))


def gauge_chart(g: Gauge) -> dict[str, object]:
    """ECharts gauge data: the dial runs to at least 120 % so an overrun shows."""
    top = max(120.0, g.usage_pct * 1.1)
    return {"title": g.title, "value": g.usage_pct, "max": round(top, 1),
            "yellow": g.yellow_pct / top, "red": g.red_pct / top, "level": g.level or ""}  # fmt: skip
