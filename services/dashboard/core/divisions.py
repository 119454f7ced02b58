"""Chinese region names beside codes (deploy/reference/divisions.json).

Why everywhere: a clearing officer reads ``330000 浙江省 -> 310000 上海市``, not two
six-digit numbers; a code the table does not name is shown alone (never guessed)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from services.dashboard.core.access import NATIONAL


@dataclass(frozen=True, slots=True)
class Divisions:
    names: Mapping[str, str] = field(default_factory=dict)

    def name(self, code: str) -> str:
        return self.names.get(code, "")

    def label(self, code: str) -> str:
        """``330000 浙江省``; the code alone when the table has no name for it."""
        name = self.name(code)
        return f"{code} {name}" if name else code

    def scope_label(self, scope: str) -> str:
        if scope == NATIONAL:
            return "national 全国 (省际)"
        code = scope.removeprefix("province:")
        return f"{scope} {self.name(code)} (省内)".rstrip()
