"""Where the reference data lives, and the pooling regions it defines, for any process.

Why here and not in the adjudication package: clearing needs the adjudicator's pooling
regions (``contracts.pools``) but must not import another processor. The full loader
(catalogs, institutions, compiled packs) stays with the adjudicator
(``services/adjudication/reference.py``); this reads only which regions have a pack.
"""

from __future__ import annotations

from pathlib import Path

from contracts.policy import PolicyPack
from contracts.pools import PoolingRegions

DEFAULT_REFERENCE_DIR = Path(__file__).resolve().parents[2] / "deploy" / "reference"


def load_pooling_regions(directory: Path | None = None) -> PoolingRegions:
    """The pools of ``directory`` (default ``deploy/reference``): every validated policy
    pack's ``admdvs``, as ``ReferenceData.pooling`` gives them for the same files."""
    root = directory or DEFAULT_REFERENCE_DIR
    packs = [
        PolicyPack.model_validate_json(p.read_bytes())
        for p in sorted((root / "policies").glob("*.json"))
    ]
    return PoolingRegions.of_packs(pack.admdvs for pack in packs)
