"""Load the supervision rule packs (``deploy/reference/supervision/*.json``).

Why at start-up and strict: a bad pack (unknown kind, missing parameter, a
window of 0 days) must stop the worker with a typed error naming the file and
field, not surface as a crash on the first matching visit.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from contracts.supervision import RulePack
from services.runtime.reference import DEFAULT_REFERENCE_DIR
from services.supervision.core.errors import RulePackError
from services.supervision.core.rules import RuleBook


def load_pack(path: Path) -> RulePack:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RulePackError(f"cannot read {path}: {exc.strerror}", str(path)) from exc
    try:
        return RulePack.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(p) for p in first["loc"])
        raise RulePackError(
            f"invalid rule pack {path.name}: {field}: {first['msg']} "
            f"({exc.error_count()} error(s))",
            str(path),
            field,
        ) from None


def load_rules(directory: Path | None = None) -> RuleBook:
    """Every pack under ``<reference>/supervision`` (default ``deploy/reference``)."""
    root = (directory or DEFAULT_REFERENCE_DIR) / "supervision"
    paths = sorted(root.glob("*.json"))
    if not paths:
        raise RulePackError(f"no rule packs under {root}", str(root))
    packs = [load_pack(p) for p in paths]
    for path, pack in zip(paths, packs, strict=True):
        if path.stem != pack.admdvs:
            raise RulePackError(f"{path.name} holds the pack of {pack.admdvs}", str(path), "admdvs")
    return RuleBook.build(packs)


def load_institutions(directory: Path | None = None) -> dict[str, tuple[str, int]]:
    """Institution code -> (admdvs, level), from ``institutions.json``: the settlement message
    carries neither the level nor (for a pharmacy chain) always the institution's own region,
    and institution outliers compare an institution with its peers by both."""
    from contracts.reference import Institutions

    root = directory or DEFAULT_REFERENCE_DIR
    insts = Institutions.model_validate_json((root / "institutions.json").read_bytes())
    return {i.fixmedins_code: (i.admdvs, i.level) for i in insts.institutions}
