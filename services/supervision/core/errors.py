"""Typed errors of the supervision core, with stable codes."""

from __future__ import annotations


class SupervisionError(Exception):
    code = "E_SUPERVISION"


class RulePackError(SupervisionError):
    """A rule pack is refused at load: an unknown kind, a missing parameter, a window of
    0 days, a repeated rule id. The message names the file and the field, never data."""

    code = "E_RULE_PACK"

    def __init__(self, message: str, path: str = "", field: str = "") -> None:
        super().__init__(message)
        self.path = path
        self.field = field
