"""The commands' own output at 100 columns and into a pipe (rich's default there: 80): no
cell cut with '…' (issue 20 item 4). The database holds whatever the earlier tests landed;
the headers are printed whatever the rows (``medfee_sumamt`` came out as ``medfee_sum…``)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

YIDI = str(Path(sys.executable).with_name("yidi"))


def _run(args: list[str], columns: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    if columns is not None:
        env["COLUMNS"] = columns
    done = subprocess.run(
        [YIDI, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )  # stdout is a pipe
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.parametrize("columns", ["100", None])
async def test_reports_print_whole_cells(pg: asyncpg.Connection, columns: str | None) -> None:
    period = await pg.fetchval("SELECT max(period) FROM clearing_positions")
    period = period or dt.date.today().strftime("%Y-%m")
    preview = _run(["ledger", "preview"], columns)
    assert "medfee_sumamt" in preview and "fund_pay_sumamt" in preview
    report = _run(["clearing", "report", "--period", period], columns)
    assert "fund_pay_sumamt" in report and "net (received − paid)" in report
    supervision = _run(["supervision", "report"], columns)
    assert "amount at stake" in supervision
    for text in (preview, report, supervision):
        assert "…" not in text
    if columns == "100":
        assert max(len(line) for line in preview.splitlines()) <= 100
