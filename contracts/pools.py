"""Pooling regions (统筹地区): which pool an administrative division belongs to.

Why here: two processors need the same answer. The adjudicator decides a visit is
"local" (no filing, no cut) when the treatment division's pool is the home pool;
clearing decides who pays whom between pools and clears nothing inside one. Were the
rule written twice, a district could be local for the adjudicator and a clearing
participant for clearing (issue 14: 310104 was both). Contracts sit below every
processor, so both import it without one processor importing the other.

The rule (docs/adjudication.md "Pooling regions"): a division belongs to the most
specific division that has a policy pack — itself (Wujiang 320509, Qingpu 310118), else
its city (``xxxx00``: 330902 -> Zhoushan 330900), else its province (``xx0000``: 310104
-> Shanghai 310000, 650102 -> Xinjiang's region-level pool 650000), else itself (a
division no pack covers: it stands alone). A pool always shares its division's province.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


def pool_of(admdvs: str, pools: frozenset[str]) -> str:
    """The pooling region of ``admdvs`` given the divisions that have a policy pack."""
    for candidate in (admdvs, admdvs[:4] + "00", admdvs[:2] + "0000"):
        if candidate in pools:
            return candidate
    return admdvs


@dataclass(frozen=True, slots=True)
class PoolingRegions:
    """The divisions that have a policy pack (any year): the reference data's pools.

    ``PoolingRegions.none()`` makes every division its own pool — the rule clearing used
    before issue 14, kept for tests that reproduce a statement issued under it.
    """

    pools: frozenset[str]

    @classmethod
    def of_packs(cls, pack_regions: Iterable[str]) -> PoolingRegions:
        """From the ``admdvs`` of every loaded policy pack."""
        return cls(frozenset(pack_regions))

    @classmethod
    def none(cls) -> PoolingRegions:
        return cls(frozenset())

    def pool_of(self, admdvs: str) -> str:
        return pool_of(admdvs, self.pools)
