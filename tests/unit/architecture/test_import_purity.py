"""Every pure core imports no I/O framework, not even through what it imports.

Why a test: the core is where money is computed and tested without servers; one stray
import of a Kafka or database client would make it untestable in isolation and let I/O
creep into the rules. The cores are every module under ``services/*/core/``, the modules
named ``core.py`` (``services/registration/core/filings.py``), and the adjudication handler (the
synchronous per-record step the engine and the benches call). Each is imported in a fresh
interpreter and the modules it loaded are checked, so a core that reaches I/O through an
``events`` or ``services/runtime`` module fails as surely as one that imports it directly.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

FORBIDDEN = ("faust", "aiokafka", "asyncpg", "structlog", "asyncio")
ROOT = Path(__file__).resolve().parents[3]
SERVICES = ROOT / "services"
EXTRA_CORES = ("services/adjudication/handler.py",)


def core_files() -> list[Path]:
    found = {p for core in SERVICES.glob("*/core") for p in core.rglob("*.py")}
    found |= set(SERVICES.glob("*/core.py"))
    found |= {ROOT / extra for extra in EXTRA_CORES}
    return sorted(found)


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_cores_are_found() -> None:
    files = {str(p.relative_to(ROOT)) for p in core_files()}
    assert "services/registration/core/filings.py" in files
    assert "services/adjudication/handler.py" in files
    assert "services/ops/core/dlq.py" in files


def test_cores_import_no_io_frameworks_directly() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in core_files()
        for name in sorted(_imports(path))
        if name.split(".")[0] in FORBIDDEN
    ]
    assert offenders == []


def test_cores_import_no_service_adapters() -> None:
    """A core may use contracts, the wire's pure modules and its own package (what that
    loads is checked below); never ``services/runtime`` (logging, settings, PostgreSQL) or
    another package."""
    offenders = []
    for path in core_files():
        own = path.relative_to(SERVICES).parts[0]
        for name in sorted(_imports(path)):
            parts = name.split(".")
            if parts[0] != "services":
                continue
            if parts[1] != own:
                offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_a_core_loads_no_io_framework(path: Path) -> None:
    code = (
        "import sys, importlib; importlib.import_module(sys.argv[1]); "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, _module(path)], cwd=ROOT, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    assert out.stdout.strip() == "[]", f"{_module(path)} loads {out.stdout.strip()}"
