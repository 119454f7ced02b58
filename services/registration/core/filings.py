"""The registration rules, pure: what a filing or status message does to a person's record.

Why a core: revoking an unknown filing, re-filing the same id with different
content, or a hospital filing for someone else's region are business
rejections that must be decided the same way in the stream, in replay and
in tests — without a database or a broker.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from contracts.filing import FilingCreated, FilingRevoked, PersonStatus, RegistrationMessage


class RegistrationRejected(Exception):
    """A business rejection with a stable code (reaches the registrant's ack and the DLQ)."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


@dataclass(frozen=True, slots=True)
class FilingRecord:
    filing: FilingCreated
    revoked_on: dt.date | None = None


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """What registration remembers per person (one store row, key = person key)."""

    filings: dict[str, FilingRecord] = field(default_factory=dict)
    status: PersonStatus | None = None
    last_offset: int = -1


def apply(record: PersonRecord, message: RegistrationMessage) -> PersonRecord:
    """The new record, or ``RegistrationRejected``. Identical re-sends are no-ops."""
    if isinstance(message, PersonStatus):
        return replace(record, status=message)
    if isinstance(message, FilingCreated):
        known = record.filings.get(message.filing_id)
        if known is not None and known.filing != message:
            raise RegistrationRejected(
                "E_FILING_CONFLICT",
                f"filing {message.filing_id} exists with other content",
                "filing_id",
            )
        return replace(record, filings={**record.filings, message.filing_id: FilingRecord(message)})
    if isinstance(message, FilingRevoked):
        known = record.filings.get(message.filing_id)
        if known is None:
            raise RegistrationRejected(
                "E_FILING_UNKNOWN", f"no filing {message.filing_id}", "filing_id"
            )
        if message.revoked_on < known.filing.begndate:
            raise RegistrationRejected(
                "E_RULE", "revoked_on is before the filing begins", "revoked_on"
            )
        revoked = replace(known, revoked_on=message.revoked_on)
        return replace(record, filings={**record.filings, message.filing_id: revoked})
    raise RegistrationRejected(
        "E_UNKNOWN_TYPE", f"not a registration message: {type(message).__name__}"
    )
