"""A published settlement or reversal -> one ledger row (pure).

Reversal rows hold the original's amounts negated, so a plain SUM over the
ledger is the net money; the published bytes are kept unchanged in
``payload`` (the message carries positive amounts with ``refd_setl_flag`` 1).
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from contracts.settlement import Reversed, SettlementResult
from events.codec import Codec
from events.settlement_feed import decode_settlement
from events.stream.types import InputRecord, Output
from services.ledger.pg_sink import AMOUNTS


def ledger_row(
    message: SettlementResult, ce_id: str, value: bytes, record: InputRecord
) -> tuple[object, ...]:
    info = message.setlinfo
    sign = Decimal(-1) if isinstance(message, Reversed) else Decimal(1)
    amounts = tuple(sign * getattr(info, name) for name in AMOUNTS)
    return (
        info.setl_id, "reversal" if isinstance(message, Reversed) else "settlement", message.orig_setl_id,
        int(message.refd_setl_flag), ce_id, info.mdtrt_id, info.medins_setl_id, info.psn_no,
        message.fixmedins_code, message.insuplc_admdvs, message.mdtrtarea_admvs, str(info.insutype),
        info.psn_type, str(info.med_type), str(info.clr_type), str(info.clr_way), info.clr_optins,
        info.setl_time, message.setl_date, *amounts, message.policy_version, message.catalog_version,
        value, hashlib.sha256(value).digest(), record.topic, record.partition, record.offset,
    )  # fmt: skip


class LedgerMapper:
    """Decode a settlement-feed record into a row; anything else goes to the DLQ."""

    def __init__(self, codec: Codec) -> None:
        self.codec = codec

    def __call__(self, record: InputRecord) -> tuple[object, ...] | Output | None:
        decoded = decode_settlement(self.codec, record, "ledger")
        if decoded is None or isinstance(decoded, Output):
            return decoded
        assert record.value is not None
        return ledger_row(decoded[0], decoded[1], record.value, record)
