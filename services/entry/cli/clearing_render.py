"""``yidi clearing report`` as tables (the command itself is in ``clearing.py``)."""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console

from services.clearing.report import Report
from services.entry.cli.tables import print_table, table

AMOUNTS = ("net (received − paid)", "fund_pay_sumamt", "settlements", "late", "prepayment",
           "usage", "top-up", "deduction", "amount", "issued", "recomputed", "correction")  # fmt: skip


def print_report(console: Console, report: Report, top: int) -> None:
    """The report as rich tables: nets, the largest pairs, late items, corrections."""
    nets = table("participant", "net (received − paid)", right=AMOUNTS,
                 title=f"nets: {report.period} {report.scope} — {report.status}")  # fmt: skip
    for who, net in report.nets.items():
        nets.add_row(who, f"{net:,.2f}", style="green" if net > 0 else "red" if net < 0 else None)
    nets.add_row("sum", f"{sum(report.nets.values(), start=Decimal(0)):,.2f}", style="bold")
    print_table(console, nets)
    console.print(
        f"statement {report.statement_id}" if report.statement_id else "running positions"
    )
    console.print(f"gross transfers {report.gross:,.2f}; with netting {report.net_volume:,.2f}")
    shown = report.pairs[:top]
    pairs = table("payer → payee", "fund_pay_sumamt", "deduction", "settlements", "late",
                  title=f"largest {top} pairs (payer: home, payee: treatment)", right=AMOUNTS)  # fmt: skip
    for p in shown:
        pairs.add_row(f"{p.payer} → {p.payee}", f"{p.fund_pay_sumamt:,.2f}",
                      f"{p.deduction:,.2f}" if p.deduction else "", str(p.setl_cnt), str(p.late_cnt))  # fmt: skip
    print_table(console, pairs)
    prepaid = [p for p in shown if p.prepayment is not None]
    if prepaid:
        usage = table("payer → payee", "prepayment", "usage", "level", "top-up",
                      title="their prepayments (预付金)", right=AMOUNTS)  # fmt: skip
        for p in prepaid:
            usage.add_row(f"{p.payer} → {p.payee}", f"{p.prepayment:,.2f}",
                          "" if p.usage is None else f"{p.usage:.1%}", p.level or "",
                          f"{p.top_up:,.2f}" if p.top_up else "")  # fmt: skip
        print_table(console, usage)
    late = table("setl_id", "own month", "home", "treatment", "fund_pay_sumamt",
                 title=f"late items: {report.late_cnt} (largest shown)", right=AMOUNTS)  # fmt: skip
    for item in report.late:
        late.add_row(
            item.setl_id,
            item.natural_period,
            item.home,
            item.treatment,
            f"{item.fund_pay_sumamt:,.2f}",
        )
    print_table(console, late)
    if report.deductions:
        ded = table("setl_id", "agency", "payer", "payee", "amount", "reason", "own month",
                    title=f"audit deductions: {report.deduction_total:,.2f}", right=AMOUNTS)  # fmt: skip
        for d in report.deductions:
            ded.add_row(d.setl_id, f"AG{d.participant}", d.payer, d.payee, f"{d.amount:,.2f}",
                        d.reason, d.origin_period + (" (late)" if d.late else ""))  # fmt: skip
        print_table(console, ded)
    for lines, title in (
        (report.corrections, "corrections of closed statements carried into this period"),
        (
            report.correction_due,
            f"this statement's correction, due in {report.correction_due_into}",
        ),
    ):
        if not lines:
            continue
        corr = table("own month", "payer", "payee", "issued", "recomputed", "correction",
                     title=title, right=AMOUNTS)  # fmt: skip
        for c in lines:
            corr.add_row(c.origin_period, c.payer, c.payee, f"{c.issued:,.2f}",
                         f"{c.recomputed:,.2f}", f"{c.amount:,.2f}")  # fmt: skip
        print_table(console, corr)
