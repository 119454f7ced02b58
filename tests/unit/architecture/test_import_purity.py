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
import json
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


_PROBE = """
import importlib, json, os, sys
FORBIDDEN = tuple(sys.argv[1].split(","))
def loaded():
    return sorted(m for m in sys.modules if m.split(".")[0] in FORBIDDEN)
for shared in ("pydantic", "orjson", "contracts.registry"):  # what nearly every core loads
    importlib.import_module(shared)
assert loaded() == [], f"the probe itself loaded {loaded()}"
for name in sys.argv[2:]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            importlib.import_module(name)
            answer = loaded()
        except BaseException as exc:
            answer = [f"import failed: {exc!r}"]
        os.write(write, json.dumps(answer).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as r:
        print(json.dumps({name: json.loads(r.read())}), flush=True)
    os.waitpid(pid, 0)
"""


@pytest.fixture(scope="module")
def loads() -> dict[str, list[str]]:
    """Each core imported in a fresh process of its own, forked from one interpreter that has
    loaded only the standard library, pydantic, orjson and the contracts (checked free of every
    forbidden framework first): what each core's import loaded. One interpreter start instead of one
    per core (~40 s of the unit tests on a busy 2-core box)."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, ",".join(FORBIDDEN), *map(_module, core_files())],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    found: dict[str, list[str]] = {}
    for line in out.stdout.splitlines():
        found.update(json.loads(line))
    return found


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_a_core_loads_no_io_framework(path: Path, loads: dict[str, list[str]]) -> None:
    assert loads[_module(path)] == [], f"{_module(path)} loads {loads[_module(path)]}"
