"""No module over 400 lines (issue 16; STYLE.md 9: small modules, named for what they hold).

Why a test: a module grows one reasonable function at a time, and by the time a reviewer
notices, it holds three things. The limit makes the split happen when the fourth arrives.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("contracts", "events", "services")
MAX_LINES = 400


def _lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f)


def test_no_module_over_400_lines() -> None:
    modules = [p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))]
    assert len(modules) > 100, "the scan found the tree"
    too_long = {str(p.relative_to(ROOT)): n for p in modules if (n := _lines(p)) > MAX_LINES}
    assert not too_long, f"split these by what their parts hold: {too_long}"


def test_the_count_is_of_lines(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text("a = 1\n" * (MAX_LINES + 1))
    assert _lines(sample) == MAX_LINES + 1
