"""The CLI's tables fit their content: at 100 columns in a terminal and in a pipe, no cell is
cut with '…' (issue 20 item 4). Rendered with worst-case content: the largest amounts a
statement holds, every optional column filled, the longest ids."""

from __future__ import annotations

import io
from decimal import Decimal

from rich.console import Console

from services.clearing.report import CorrectionItem, DeductionLine, LateLine, PairLine, Report
from services.entry.cli.clearing_render import print_report
from services.entry.cli.ledger import print_preview
from services.ledger.summary import PairTotal

BIG = Decimal("9999999999.99")
"""Ten billion yuan: a month's fund payments of one province pair stay far below (Hunan's
cross-province fund payments of a whole year, 2020: 1.634 bn)."""


def _report() -> Report:
    pairs = [
        PairLine(f"{31 + i}0000", f"{11 + i}0000", BIG, 9_999_999, 99_999, BIG,
                 Decimal("0.9512"), "yellow", BIG, BIG)
        for i in range(12)
    ]  # fmt: skip
    late = [LateLine("S" + "9" * 39, "2026-09", "310000", "330000", BIG)]
    deductions = [DeductionLine("S" + "9" * 39, "310000", "D" * 32, "310000", "330000", BIG,
                                "duplicate_billing", "2026-09", True)]  # fmt: skip
    corrections = [CorrectionItem("2026-08", "310000", "330000", BIG, BIG, -BIG)]
    return Report(
        "2026-10", "national", "CLOSED", "STMT-2026-10-national-" + "f" * 16,
        nets={f"{11 + i}0000": -BIG for i in range(31)}, pairs=pairs, late=late, late_cnt=1,
        gross=BIG, net_volume=BIG, corrections=corrections, correction_due=corrections,
        correction_due_into="2026-11", deductions=deductions, deduction_total=BIG,
    )  # fmt: skip


def _preview() -> list[PairTotal]:
    return [PairTotal(f"{11 + i}0000", "310000", 9_999_999, 999_999, BIG, BIG) for i in range(5)]


def _render(width: int | None, terminal: bool) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=terminal, color_system=None)
    print_report(console, _report(), top=12)
    print_preview(console, _preview())
    return out.getvalue()


def test_tables_fit_100_columns_in_a_terminal() -> None:
    text = _render(100, terminal=True)
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 100
    for header in ("fund_pay_sumamt", "medfee_sumamt", "settlements", "prepayment", "deduction",
                   "top-up", "reversals", "treatment (receives)"):  # fmt: skip
        assert header in text
    assert f"{BIG:,.2f}" in text


def test_tables_in_a_pipe_are_whole() -> None:
    text = _render(None, terminal=False)  # rich's default for a pipe: 80 columns
    assert "…" not in text
    assert f"{BIG:,.2f}" in text and "S" + "9" * 39 in text
