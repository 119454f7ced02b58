"""Bad rule packs are refused at load with a typed error naming the file and field."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from services.runtime.reference import DEFAULT_REFERENCE_DIR
from services.supervision.core.errors import RulePackError
from services.supervision.reference import load_rules

BASE = json.loads((DEFAULT_REFERENCE_DIR / "supervision" / "000000.json").read_text("utf-8"))


def _write(tmp: Path, pack: dict[str, Any], name: str = "000000.json") -> Path:
    root = tmp / "ref"
    (root / "supervision").mkdir(parents=True, exist_ok=True)
    (root / "supervision" / name).write_text(json.dumps(pack), "utf-8")
    return root


def _mutate(kind: str, change: dict[str, Any], drop: str | None = None) -> dict[str, Any]:
    pack: dict[str, Any] = json.loads(json.dumps(BASE))
    rule = next(r for r in pack["rules"] if r["kind"] == kind)
    rule.update(change)
    if drop:
        del rule[drop]
    return pack


@pytest.mark.parametrize(
    ("pack", "field_part"),
    [
        (_mutate("decomposed_hospitalization", {"window_days": 0}), "window_days"),
        (_mutate("frequency", {"window_days": 0}), "window_days"),
        (_mutate("days_supply", {"window_days": -3}), "window_days"),
        (_mutate("frequency", {"kind": "astrology"}), "rules.3"),
        (_mutate("frequency", {}, drop="max_settlements"), "max_settlements"),
        (_mutate("decomposed_hospitalization", {}, drop="emergency_med_types"), "emergency_med_types"),
        (_mutate("overlapping_stays", {"severity": "catastrophic"}), "severity"),
        (_mutate("frequency", {"unknown_knob": 1}), "unknown_knob"),
        (_mutate("institution_outlier", {"min_peers": 1}), "min_peers"),
    ],
    ids=["readmit-window-0", "freq-window-0", "supply-negative", "unknown-kind", "missing-max",
         "missing-emergency", "bad-severity", "extra-field", "too-few-peers"],
)  # fmt: skip
def test_bad_pack_refused_with_field(tmp_path: Path, pack: dict[str, Any], field_part: str) -> None:
    root = _write(tmp_path, pack)
    with pytest.raises(RulePackError) as err:
        load_rules(root)
    assert err.value.code == "E_RULE_PACK"
    assert field_part in err.value.field, err.value.field
    assert "000000.json" in str(err.value)


def test_repeated_rule_id_and_wrong_file_name_and_no_base(tmp_path: Path) -> None:
    pack = json.loads(json.dumps(BASE))
    pack["rules"][1]["rule_id"] = pack["rules"][0]["rule_id"]
    with pytest.raises(RulePackError, match="rule_id repeats"):
        load_rules(_write(tmp_path / "a", pack))
    with pytest.raises(RulePackError, match="holds the pack of 000000"):
        load_rules(_write(tmp_path / "b", BASE, "330900.json"))
    only_city = {**BASE, "admdvs": "330900"}
    with pytest.raises(RulePackError, match="national base"):
        load_rules(_write(tmp_path / "c", only_city, "330900.json"))
    with pytest.raises(RulePackError, match="no rule packs"):
        load_rules(tmp_path / "empty")


def test_the_shipped_packs_load_and_versions_follow_content(tmp_path: Path) -> None:
    book = load_rules()
    assert set(book.sets) == {"000000", "330900"}
    shutil.copytree(DEFAULT_REFERENCE_DIR / "supervision", tmp_path / "ref" / "supervision")
    assert load_rules(tmp_path / "ref").sets["000000"].version == book.sets["000000"].version
    changed = _mutate("frequency", {"max_settlements": 5})
    again = load_rules(_write(tmp_path, changed))
    assert again.sets["000000"].version != book.sets["000000"].version
