"""Tables the CLI prints: sized to their content, never cut with '…'.

Why: rich fits a table to the console's width and shortens cells to do it, and a console
that is not a terminal (a pipe, a file, CI's log) is 80 columns wide unless ``COLUMNS`` says
otherwise: ``medfee_sumamt`` came out as ``medfee_sum…`` and amounts lost their last digits.
Here every column folds instead of cutting (a cell too wide for a terminal continues on the
next line, whole), the box is the light one without vertical rules (the tables fit 100
columns), and into a pipe a table is printed at its natural width: a reader of a file or a
``grep`` sees whole lines, however wide.
"""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

UNBOUNDED = 10_000
"""Wider than any table here: the width a table is measured at to find its natural width."""


def table(*headers: str, title: str | None = None, right: tuple[str, ...] = ()) -> Table:
    """A table with ``headers``; the columns named in ``right`` (amounts, counts) right-aligned."""
    t = Table(title=title, box=box.SIMPLE_HEAD, collapse_padding=True, pad_edge=False)
    for header in headers:
        t.add_column(header, overflow="fold", justify="right" if header in right else "left")
    return t


def print_table(console: Console, t: Table) -> None:
    """``t`` on ``console``; not a terminal: at the table's natural width."""
    if console.is_terminal:
        console.print(t)
        return
    natural = Measurement.get(console, console.options.update_width(UNBOUNDED), t).maximum
    wide = Console(file=console.file, width=max(console.width, natural), color_system=None)
    wide.print(t)
