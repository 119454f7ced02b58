"""What can go wrong in clearing, as types: the CLI and the command handler map them to exit codes
and DLQ reasons without parsing messages."""

from __future__ import annotations


class ClearingError(Exception):
    code = "E_CLEARING"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadScope(ClearingError):
    code = "E_CLEARING_SCOPE"


class BadPeriod(ClearingError):
    code = "E_CLEARING_PERIOD"


class WrongState(ClearingError):
    """The period is not in a state that allows the requested step."""

    code = "E_CLEARING_STATE"


class LedgerBehind(ClearingError):
    """Settlements the clearing processor placed in the period have not landed in the ledger yet."""

    code = "E_CLEARING_LEDGER_BEHIND"


class PositionsDisagree(ClearingError):
    """The statement built from the ledger differs from the running positions: a bug, never
    papered over."""

    code = "E_CLEARING_DISAGREE"


class RebuildNeeded(ClearingError):
    """The period's running positions were placed under another pooling rule than the one
    loaded now (positions landed before an upgrade, or different reference data): closing
    would issue a statement by the old rule. Rebuild the clearing projection, close again."""

    code = "E_CLEARING_REBUILD_NEEDED"


class ConfirmationMismatch(ClearingError):
    code = "E_CLEARING_CONFIRMATION"
