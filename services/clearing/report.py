"""What the clearing center reads about a period: nets, the largest pairs, late items and
prepayment usage — from the issued statement once the period is closed, from the running
positions while it is open."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal

import asyncpg

from contracts.money import to_fen
from services.clearing.core.netting import nets
from services.clearing.core.prepayment import level_of
from services.clearing.core.statement import Prepayment, top_up_fen
from services.clearing.store import position_totals, prepayments_for


@dataclass(frozen=True, slots=True)
class PairLine:
    payer: str
    payee: str
    fund_pay_sumamt: Decimal
    setl_cnt: int
    late_cnt: int
    prepayment: Decimal | None
    usage: Decimal | None
    level: str | None
    top_up: Decimal


@dataclass(frozen=True, slots=True)
class LateLine:
    setl_id: str
    natural_period: str
    home: str
    treatment: str
    fund_pay_sumamt: Decimal


@dataclass(slots=True)
class Report:
    period: str
    scope: str
    status: str
    statement_id: str | None
    nets: dict[str, Decimal] = field(default_factory=dict)
    pairs: list[PairLine] = field(default_factory=list)
    late: list[LateLine] = field(default_factory=list)
    late_cnt: int = 0
    gross: Decimal = Decimal(0)
    net_volume: Decimal = Decimal(0)

    def as_dict(self) -> dict[str, object]:
        return {
            "period": self.period, "scope": self.scope, "status": self.status,
            "statement_id": self.statement_id,
            "nets": {k: str(v) for k, v in self.nets.items()},
            "nets_sum": str(sum(self.nets.values(), start=Decimal(0))),
            "gross": str(self.gross), "net_volume": str(self.net_volume),
            "pairs": [_strings(asdict(p)) for p in self.pairs],
            "late_cnt": self.late_cnt, "late": [_strings(asdict(item)) for item in self.late],
        }  # fmt: skip


def _strings(d: dict[str, object]) -> dict[str, object]:
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in d.items()}


def _usage(used: Decimal, pre: Prepayment | None) -> tuple[Decimal | None, str | None, Decimal]:
    if pre is None or pre.amount_fen <= 0:
        return None, None, Decimal(0)
    used_fen = to_fen(used)
    ratio = (Decimal(used_fen) / Decimal(pre.amount_fen)).quantize(Decimal("0.0001"))
    top = Decimal(top_up_fen(used_fen, pre)) / 100
    return ratio, level_of(used_fen, pre.amount_fen, pre.thresholds), top.quantize(Decimal("0.01"))


async def load_report(
    conn: asyncpg.Connection, period: str, scope: str, late_limit: int = 20
) -> Report:
    row = await conn.fetchrow(
        "SELECT status, statement_id FROM clearing_periods WHERE period = $1 AND scope = $2",
        period, scope,
    )  # fmt: skip
    status = "OPEN" if row is None else row["status"]
    statement_id = None if row is None else row["statement_id"]
    report = Report(period, scope, status, statement_id)
    prepayments = await prepayments_for(conn, period, scope)
    if statement_id is not None:
        for r in await conn.fetch(
            "SELECT participant, net FROM clearing_statement_nets WHERE statement_id = $1 "
            "ORDER BY net DESC, participant",
            statement_id,
        ):
            report.nets[r["participant"]] = r["net"]
        for r in await conn.fetch(
            "SELECT * FROM clearing_statement_pairs WHERE statement_id = $1 "
            "ORDER BY fund_pay_sumamt DESC, payer, payee",
            statement_id,
        ):
            ratio, level, _ = _usage(
                r["fund_pay_sumamt"], prepayments.get((r["payer"], r["payee"]))
            )
            report.pairs.append(
                PairLine(r["payer"], r["payee"], r["fund_pay_sumamt"], r["setl_cnt"], r["late_cnt"],
                         r["prepayment"], ratio, level, r["top_up"])
            )  # fmt: skip
        s = await conn.fetchrow(
            "SELECT gross_fen, net_volume_fen, late_cnt FROM clearing_statements WHERE statement_id = $1",
            statement_id,
        )
        report.gross, report.net_volume = (
            Decimal(s["gross_fen"]) / 100,
            Decimal(s["net_volume_fen"]) / 100,
        )
        report.late_cnt = s["late_cnt"]
    else:
        fund: dict[tuple[str, str], int] = {}
        counts: dict[tuple[str, str], tuple[int, int]] = {}
        for (_h, _t, payer, payee), t in (await position_totals(conn, period, scope)).items():
            fund[(payer, payee)] = fund.get((payer, payee), 0) + t.fund_fen
            c, late = counts.get((payer, payee), (0, 0))
            counts[(payer, payee)] = (c + t.setl_cnt + t.rev_cnt, late + t.late_cnt)
        gross = {k: v for k, v in fund.items() if v}
        for who, amount in sorted(nets(gross).items(), key=lambda kv: (-kv[1], kv[0])):
            report.nets[who] = Decimal(amount) / 100
        for (payer, payee), amount in sorted(fund.items(), key=lambda kv: (-kv[1], kv[0])):
            used = Decimal(amount) / 100
            pre = prepayments.get((payer, payee))
            ratio, level, top = _usage(used, pre)
            c, late = counts[(payer, payee)]
            report.pairs.append(
                PairLine(payer, payee, used, c, late,
                         None if pre is None else Decimal(pre.amount_fen) / 100, ratio, level, top)
            )  # fmt: skip
        report.late_cnt = sum(late for _, late in counts.values())
        report.gross = sum((p.fund_pay_sumamt for p in report.pairs), start=Decimal(0))
        report.net_volume = sum((v for v in report.nets.values() if v > 0), start=Decimal(0))
    for r in await conn.fetch(
        """SELECT setl_id, natural_period, home, treatment, fund_pay_sumamt FROM clearing_entries
           WHERE period = $1 AND scope = $2 AND late ORDER BY abs(fund_pay_sumamt) DESC, setl_id
           LIMIT $3""",
        period, scope, late_limit,
    ):  # fmt: skip
        report.late.append(
            LateLine(
                r["setl_id"], r["natural_period"], r["home"], r["treatment"], r["fund_pay_sumamt"]
            )
        )
    return report
