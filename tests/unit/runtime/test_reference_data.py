"""The shipped reference data: it loads, covers the required regions, says where
its numbers come from, carries DOMAIN.md's Zhoushan figures, and is versioned
by content."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from contracts.policy import PolicyPack
from services.adjudication.core.tables import compile_policy
from services.adjudication.reference import (
    DEFAULT_REFERENCE_DIR,
    ReferenceLoadError,
    load_reference,
)

REQUIRED = {
    "330900",
    "310000",
    "320500",
    "320509",
    "310118",
    "330421",
    "430100",
    "650000",
    "230100",
}


def _sections(node: object) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    if isinstance(node, dict):
        if "_source" in node:
            found.append(node)
        for value in node.values():
            found.extend(_sections(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_sections(value))
    return found


def test_packs_cover_required_regions_and_provinces() -> None:
    ref = load_reference()
    regions = {admdvs for admdvs, _ in ref.policies}
    assert regions >= REQUIRED
    assert len({r[:2] for r in regions}) >= 5


def test_every_section_names_its_source() -> None:
    for path in sorted(DEFAULT_REFERENCE_DIR.rglob("*.json")):
        raw = json.loads(path.read_text())
        assert "_source" in raw, path
        for section in _sections(raw):
            source = str(section["_source"])
            assert source == "illustrative" or source.startswith("DOMAIN.md"), path


def test_zhoushan_carries_domain_numbers() -> None:
    pack = load_reference().policy("330900", 2026).pack
    ci = pack.critical_illness
    assert ci is not None and ci.source.startswith("DOMAIN.md")
    assert (ci.deductible_yuan, ci.poor_deductible_yuan, ci.annual_cap_yuan) == (
        25000,
        12500,
        100000,
    )
    assert [(s.from_yuan, s.ratio_pct) for s in ci.segments] == [(0, 60), (120000, 65)]
    assert ci.poor_bonus_pct == 5
    chronic = next(
        r for r in pack.rules if r.insutype == "390" and r.category == "chronic_outpatient"
    )
    assert (chronic.levels["1"].ratio_pct, chronic.levels["2"].ratio_pct) == (60, 50)
    assert chronic.source.startswith("DOMAIN.md")


def test_version_is_a_content_hash() -> None:
    path = DEFAULT_REFERENCE_DIR / "policies" / "330900-2026.json"
    raw = json.loads(path.read_text())
    pack = PolicyPack.model_validate(raw)
    reformatted = PolicyPack.model_validate_json(json.dumps(raw, indent=None, sort_keys=True))
    assert compile_policy(pack).version == compile_policy(reformatted).version
    raw["cross_region"]["other_temporary_cut_pct"] = "15"
    assert compile_policy(PolicyPack.model_validate(raw)).version != compile_policy(pack).version


def test_pack_rejects_typos_and_cuts_above_the_national_limit() -> None:
    raw = json.loads((DEFAULT_REFERENCE_DIR / "policies" / "330900-2026.json").read_text())
    with pytest.raises(ValidationError):
        PolicyPack.model_validate({**raw, "critical_ilness": None})
    bad = json.loads(json.dumps(raw))
    bad["cross_region"]["referral_cut_pct"] = "12"
    with pytest.raises(ValidationError):
        PolicyPack.model_validate(bad)
    unsourced = json.loads(json.dumps(raw))
    unsourced["large_amount"]["_source"] = "a blog"
    with pytest.raises(ValidationError):
        PolicyPack.model_validate(unsourced)


def test_loader_names_the_directory_on_error(tmp_path: Path) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "x.json").write_text("{}")
    with pytest.raises(ReferenceLoadError):
        load_reference(tmp_path)


def test_catalog_fallback_and_pools() -> None:
    ref = load_reference()
    assert ref.catalog("310118").admdvs == "310000"
    assert ref.catalog("320509").admdvs == "320000"
    assert ref.pool_of("310104") == "310000" and ref.pool_of("310118") == "310118"
    assert ref.pool_of("650102") == "650000"
    ct = ref.catalog("310000").items["210300001"]
    assert (ct.cls, ct.preselfpay_bp, ct.price_limit_fen) == ("B", 1000, 30000)
