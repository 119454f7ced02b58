"""Imports run downward, over the whole tree (docs/architecture.md draws the layers).

Why a test and not a review habit: an upward import is one line, looks harmless where it is
written, and makes the lower layer untestable without the upper one (a contract that needs
the codec, a processor that needs another processor's tables). Every import counts, at
module level or inside a function: a lazy import is still a dependency.

The packages, from the bottom:

- ``contracts``: the messages (pydantic models). Imports nothing of ours above it.
- ``events``: the wire (codec, envelope, signing, DLQ building, the catalog) and the stream
  layer (``events/stream``: every consumer loop). Imports ``contracts`` only.
- shared runtime, ``services/runtime``: settings, logging, PostgreSQL plumbing, the
  PostgreSQL sink over the stream layer's loop, sink positions. Imports the two below.
- processors: ``adjudication``, ``registration``, ``ledger``, ``clearing``, ``recon``,
  ``supervision``. Each imports the layers below, never another processor:
  what two processors share moves down into ``services/runtime`` or ``events``.
- ``services/sdk``: the hospital's client library; imports ``contracts`` and ``events``.
- operations, ``services/ops`` (replay, rebuild, shadow, redrive read several processors'
  declarations), and the entry points, ``services/entry`` (the CLI and ``bootstrap``, which
  wires workers).
- tools: ``services/tools`` (bench, simulator). Only entry points and other tools import them.
- ``services/testing``: builders and scratch databases for tests and tools; product code never
  imports it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("contracts", "events", "services")
PROCESSORS = frozenset(
    {"adjudication", "registration", "ledger", "clearing", "recon", "supervision"}
)
RUNTIME = frozenset({"runtime"})
ENTRY = frozenset({"entry", "ops", "dashboard"})
TOOLS = frozenset({"tools"})
TESTING = frozenset({"testing"})
SDK = frozenset({"sdk"})


def _module_of(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every absolute or relative import in ``path``, resolved to a dotted module name."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = _module_of(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _modules() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for top in PACKAGES:
        for path in sorted((ROOT / top).rglob("*.py")):
            found[_module_of(path)] = _imports(path)
    return found


def layer(module: str) -> tuple[str, str | None]:
    """(layer, service package) of a dotted module name of ours."""
    parts = module.split(".")
    if parts[0] in ("contracts", "events"):
        return parts[0], None
    if parts[0] != "services" or len(parts) < 2:
        return "other", None
    name = parts[1]
    for kind, members in (
        ("processor", PROCESSORS), ("runtime", RUNTIME), ("entry", ENTRY), ("tool", TOOLS),
        ("sdk", SDK), ("testing", TESTING),
    ):  # fmt: skip
        if name in members:
            return kind, name
    return "unknown", name


ALLOWED: dict[str, frozenset[str]] = {
    "contracts": frozenset({"contracts"}),
    "events": frozenset({"contracts", "events"}),
    "runtime": frozenset({"contracts", "events", "runtime"}),
    "sdk": frozenset({"contracts", "events", "sdk"}),
    "processor": frozenset({"contracts", "events", "runtime", "processor"}),
    "entry": frozenset({"contracts", "events", "runtime", "processor", "sdk", "entry", "tool"}),
    "tool": frozenset(
        {"contracts", "events", "runtime", "processor", "sdk", "entry", "tool", "testing"}
    ),
    "testing": frozenset({"contracts", "events", "runtime", "processor", "testing"}),
}


def violations() -> list[str]:
    found = []
    for module, imports in _modules().items():
        kind, package = layer(module)
        for target in sorted(imports):
            if target.split(".")[0] not in PACKAGES or target == "services":
                continue
            target_kind, target_package = layer(target)
            if target_kind not in ALLOWED.get(kind, frozenset()):
                found.append(f"{module} -> {target} ({kind} may not import {target_kind})")
            elif kind == "processor" == target_kind and package != target_package:
                found.append(f"{module} -> {target} (processor {package} imports {target_package})")
            elif kind not in ("entry", "tool") and target_kind == "entry":
                found.append(f"{module} -> {target} (only entry points import entry points)")
    return sorted(set(found))


def test_every_service_package_has_a_layer() -> None:
    packages = {
        p.name for p in (ROOT / "services").iterdir() if p.is_dir() and (p / "__init__.py").exists()
    }
    packages |= {p.stem for p in (ROOT / "services").glob("*.py") if p.stem != "__init__"}
    unknown = packages - PROCESSORS - RUNTIME - ENTRY - TOOLS - SDK - TESTING
    assert unknown == set(), f"give these a layer in this test and docs/architecture.md: {unknown}"


def test_imports_run_downward() -> None:
    assert violations() == []


def test_the_checker_sees_an_upward_import() -> None:
    """The rules fire: a contract importing the codec, a processor importing another, and
    product code importing a tool are each reported."""
    assert layer("contracts.dlq") == ("contracts", None)
    assert layer("services.clearing.ports") == ("processor", "clearing")
    assert "processor" not in ALLOWED["events"]
    assert "tool" not in ALLOWED["processor"] and "tool" not in ALLOWED["runtime"]
    assert "events" not in ALLOWED["contracts"]
    assert layer("services.tools.bench.task") == ("tool", "tools")
    assert layer("services.testing.builders") == ("testing", "testing")
    assert all("testing" not in ALLOWED[k] for k in ("processor", "runtime", "entry", "sdk"))


def test_topic_and_group_names_are_declared_only_in_the_catalog() -> None:
    """A topic or processor name written as a literal outside ``events/catalog.py`` drifts
    the day the catalog changes; logger names (``yidi.ledger``) are not topics."""
    import re

    literal = re.compile(
        r"""["'](yidi\.(?:[a-z]+\.)*v1[^"']*|yidi-(?:adjudication|registration|ledger|clearing|recon|supervision)(?:-commands)?)["']"""
    )
    offenders = [
        f"{path.relative_to(ROOT)}: {m.group(1)}"
        for path in sorted((ROOT / "services").rglob("*.py"))
        for m in literal.finditer(path.read_text())
    ]
    assert offenders == []


def test_contract_topic_constants_match_the_catalog() -> None:
    from contracts.clearing import CLEARING_TOPIC
    from contracts.dlq import DLQ_TOPIC
    from contracts.filing import REGISTRATION_TOPIC
    from contracts.recon import RECON_TOPIC
    from contracts.settlement import SETTLEMENT_TOPIC
    from contracts.supervision import SUPERVISION_TOPIC
    from contracts.visit import VISIT_TOPIC
    from events import catalog

    assert (
        CLEARING_TOPIC, DLQ_TOPIC, REGISTRATION_TOPIC, RECON_TOPIC, SETTLEMENT_TOPIC,
        SUPERVISION_TOPIC, VISIT_TOPIC,
    ) == (
        catalog.CLEARING, catalog.DLQ, catalog.REGISTRATION, catalog.RECON, catalog.SETTLEMENT,
        catalog.SUPERVISION, catalog.VISIT,
    )  # fmt: skip


def test_only_the_stream_layer_polls_kafka() -> None:
    """One batch loop: ``getmany(`` appears in ``events/stream`` and, outside it, only in the
    hospital SDK (its own client), the benchmark's raw-Kafka baseline, and faust's own fetch
    loop as the supervision worker runs it (``drain.py``: faust's ``_drain_messages``
    adapted, pinned to its faust version; faust is that worker's stream layer, issue 19)."""
    allowed = {
        "services/sdk/client.py",
        "services/tools/bench/raw_kafka.py",
        "services/supervision/adapters/drain.py",
    }
    found = {
        str(path.relative_to(ROOT))
        for top in ("contracts", "events", "services")
        for path in (ROOT / top).rglob("*.py")
        if "getmany(" in path.read_text()
    }
    outside = {f for f in found if not f.startswith("events/stream/")}
    assert outside <= allowed, sorted(outside - allowed)
    assert "events/stream/batch_loop.py" in found


def test_the_stream_layer_knows_no_database() -> None:
    offenders = [
        f"{module}: {target}"
        for module, imports in _modules().items()
        if module.startswith("events")
        for target in imports
        if target.split(".")[0] == "asyncpg"
    ]
    assert offenders == []
