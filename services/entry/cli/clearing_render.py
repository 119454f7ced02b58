"""``yidi clearing report`` as tables (the command itself is in ``clearing.py``)."""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console
from rich.table import Table

from services.clearing.report import Report


def print_report(console: Console, report: Report, top: int) -> None:
    """The report as rich tables: nets, the largest pairs, late items, corrections."""
    title = (f"{report.period} {report.scope} — {report.status}"
             + (f", statement {report.statement_id}" if report.statement_id else ", running positions"))  # fmt: skip
    nets = Table("participant", "net (received − paid)", title=f"nets: {title}")
    for who, net in report.nets.items():
        nets.add_row(who, f"{net:,.2f}", style="green" if net > 0 else "red" if net < 0 else None)
    nets.add_row("sum", f"{sum(report.nets.values(), start=Decimal(0)):,.2f}", style="bold")
    console.print(nets)
    console.print(f"gross transfers {report.gross:,.2f}; with netting {report.net_volume:,.2f}")
    pairs = Table("payer (home)", "payee (treatment)", "fund_pay_sumamt", "settlements", "late",
                  "prepayment", "usage", "level", "top-up", "deduction",
                  title=f"largest {top} pairs")  # fmt: skip
    for p in report.pairs[:top]:
        pairs.add_row(
            p.payer, p.payee, f"{p.fund_pay_sumamt:,.2f}", str(p.setl_cnt), str(p.late_cnt),
            "" if p.prepayment is None else f"{p.prepayment:,.2f}",
            "" if p.usage is None else f"{p.usage:.1%}", p.level or "",
            f"{p.top_up:,.2f}" if p.top_up else "", f"{p.deduction:,.2f}" if p.deduction else "",
        )  # fmt: skip
    console.print(pairs)
    late = Table("setl_id", "own month", "home", "treatment", "fund_pay_sumamt",
                 title=f"late items: {report.late_cnt} (largest shown)")  # fmt: skip
    for item in report.late:
        late.add_row(
            item.setl_id,
            item.natural_period,
            item.home,
            item.treatment,
            f"{item.fund_pay_sumamt:,.2f}",
        )
    console.print(late)
    if report.deductions:
        ded = Table("setl_id", "agency", "payer", "payee", "amount", "reason", "own month",
                    title=f"audit deductions: {report.deduction_total:,.2f}")  # fmt: skip
        for d in report.deductions:
            ded.add_row(d.setl_id, f"AG{d.participant}", d.payer, d.payee, f"{d.amount:,.2f}",
                        d.reason, d.origin_period + (" (late)" if d.late else ""))  # fmt: skip
        console.print(ded)
    for lines, title in (
        (report.corrections, "corrections of closed statements carried into this period"),
        (
            report.correction_due,
            f"this statement's correction, due in {report.correction_due_into}",
        ),
    ):
        if not lines:
            continue
        table = Table("own month", "payer", "payee", "issued", "recomputed", "correction",
                      title=title)  # fmt: skip
        for c in lines:
            table.add_row(c.origin_period, c.payer, c.payee, f"{c.issued:,.2f}",
                          f"{c.recomputed:,.2f}", f"{c.amount:,.2f}")  # fmt: skip
        console.print(table)
