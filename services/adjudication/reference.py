"""The one loader of reference data: policy packs, catalogs and institutions.

Why a loader outside the core: reading files is I/O; the core only sees the
compiled, immutable ``ReferenceData``. Layout of a reference directory::

    policies/<admdvs>-<year>.json   one PolicyPack each
    catalogs/<admdvs>.json          one Catalog each (a province's or a city's)
    institutions.json               Institutions
"""

from __future__ import annotations

from pathlib import Path

from contracts.policy import PolicyPack
from contracts.reference import Catalog, Institutions
from services.adjudication.core.tables import ReferenceData
from services.runtime.reference import DEFAULT_REFERENCE_DIR

__all__ = ["DEFAULT_REFERENCE_DIR", "ReferenceLoadError", "load_reference"]


class ReferenceLoadError(Exception):
    """A reference file is missing or invalid; the message names the file, never data rows."""


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ReferenceLoadError(f"cannot read {path}: {exc.strerror}") from exc


def load_reference(directory: Path | None = None) -> ReferenceData:
    """Validate every file under ``directory`` (default: ``deploy/reference``) and compile."""
    root = directory or DEFAULT_REFERENCE_DIR
    try:
        packs = [
            PolicyPack.model_validate_json(_read(p))
            for p in sorted((root / "policies").glob("*.json"))
        ]
        catalogs = [
            Catalog.model_validate_json(_read(p))
            for p in sorted((root / "catalogs").glob("*.json"))
        ]
        institutions = Institutions.model_validate_json(_read(root / "institutions.json"))
        return ReferenceData.build(packs, catalogs, institutions.institutions)
    except ValueError as exc:
        raise ReferenceLoadError(f"invalid reference data under {root}: {exc}") from exc
