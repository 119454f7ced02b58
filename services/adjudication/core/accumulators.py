"""A person's yearly accumulators (年度累计): what each fund has paid, how much
deductible and in-scope burden has built up, across every visit in every region.

Why a flat map of named integer counters: a settlement's effect is a delta of
the same shape, so reversal is exact subtraction and "restores the state to the
fen" is a plain equality test. Counters that return to zero are dropped, so a
settle-then-reverse state compares equal to the state before.

Keys (all fen):
- ``ded:{insutype}:{category}`` yearly deductible paid (per-year rules only)
- ``cap:{insutype}:{cap_group}`` basic pooled fund paid against its yearly cap
- ``ci:burden`` in-scope personal burden counted by critical-illness insurance
- ``ci:paid`` critical-illness insurance paid
- ``hifob:paid`` employee large-amount subsidy paid
- ``maf:paid`` medical assistance paid
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

CI_BURDEN = "ci:burden"
CI_PAID = "ci:paid"
HIFOB_PAID = "hifob:paid"
MAF_PAID = "maf:paid"


def ded_key(insutype: str, category: str) -> str:
    """Counter of the yearly deductible for one insutype and category."""
    return f"ded:{insutype}:{category}"


def cap_key(insutype: str, cap_group: str) -> str:
    """Counter of the basic fund against one yearly cap group."""
    return f"cap:{insutype}:{cap_group}"


@dataclass(slots=True)  # a value: never mutated (see core/__init__)
class Accumulators:
    """One person-year's counters. Treated as immutable (every change builds a new
    value), so a pre-settlement or a rejection cannot leak into the state."""

    values: Mapping[str, int] = field(default_factory=dict)

    def get(self, key: str) -> int:
        """A counter's value, zero when never touched."""
        return self.values.get(key, 0)

    def plus(self, delta: Mapping[str, int]) -> Accumulators:
        """The counters after a settlement's delta."""
        return self._combine(delta, 1)

    def minus(self, delta: Mapping[str, int]) -> Accumulators:
        """The counters after reversing a settlement's delta."""
        return self._combine(delta, -1)

    def _combine(self, delta: Mapping[str, int], sign: int) -> Accumulators:
        merged = dict(self.values)
        for key, amount in delta.items():
            value = merged.get(key, 0) + sign * amount
            if value < 0:
                raise ValueError(f"accumulator {key} would go negative")
            if value:
                merged[key] = value
            else:
                merged.pop(key, None)
        return Accumulators(dict(sorted(merged.items())))

    def to_dict(self) -> dict[str, int]:
        """Plain JSON-ready counters (sorted keys)."""
        return dict(sorted(self.values.items()))

    @classmethod
    def from_dict(cls, raw: Mapping[str, int]) -> Accumulators:
        """Rebuild from ``to_dict`` output; zero counters are dropped."""
        return cls({k: int(v) for k, v in sorted(raw.items()) if v})
