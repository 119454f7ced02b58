"""Every pure core (``services/*/core/``) imports no I/O framework.

Why a test: the core is where money is computed and tested without servers;
one stray import of a Kafka or database client would make it untestable in
isolation and let I/O creep into the rules.
"""

from __future__ import annotations

import ast
from pathlib import Path

FORBIDDEN = ("faust", "aiokafka", "asyncpg", "structlog", "asyncio")
SERVICES = Path(__file__).resolve().parents[2] / "services"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_cores_import_no_io_frameworks() -> None:
    cores = sorted(SERVICES.glob("*/core"))
    assert cores, "expected at least one services/*/core package"
    offenders = [
        f"{path.relative_to(SERVICES)}: {name}"
        for core in cores
        for path in sorted(core.rglob("*.py"))
        for name in sorted(_imports(path))
        if name.split(".")[0] in FORBIDDEN
    ]
    assert offenders == []
