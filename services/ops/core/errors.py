"""Ops failures as types: the CLI maps them to exit codes and messages without parsing text."""

from __future__ import annotations


class OpsError(Exception):
    """Root of every ops refusal; ``message`` is safe to print (no personal data)."""

    code = "E_OPS"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadArgument(OpsError):
    """An operator's argument (a position, a time, a period) does not parse."""

    code = "E_OPS_ARGUMENT"


class NotFound(OpsError):
    """No DLQ record at the given position (compacted away, or never written)."""

    code = "E_OPS_NOT_FOUND"


class NotRedrivable(OpsError):
    """The DLQ record cannot be sent back as it was (no body, or its source is the DLQ)."""

    code = "E_OPS_NOT_REDRIVABLE"


class DigestError(OpsError):
    """The rows cannot be digested canonically (out of order, an unsupported value type)."""

    code = "E_OPS_DIGEST"
