"""The registration stream task (its projection's adapters: ``projection.py``).

Per person: the filings and status accepted so far (changelog-backed), so a
revocation of an unknown filing or a conflicting re-filing is refused the
same way after any restart. Each accepted message also becomes a row in
``filings`` / ``insured_persons``, upserted in the batch's transaction (the
newest source offset wins, so a replay writes the same rows again).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import orjson

from contracts.ack import Ack, AckError
from contracts.codes import AckStatus
from contracts.filing import FilingCreated, FilingRevoked, PersonStatus
from events import catalog
from events.stream.guard import RecordGuard
from events.stream.types import InputRecord, Output, Result, StateWrite
from events.wire.codec import Codec, Decoded
from events.wire.errors import DecodeError
from events.wire.limits import MAX_LONG_TEXT, MAX_SHORT_TEXT, ack_ref, fit, fit_optional
from events.wire.rejection import ack_output, rejected_input
from services.registration.core.filings import (
    FilingRecord,
    PersonRecord,
    RegistrationRejected,
    apply,
)
from services.registration.projection import PendingRows, ProjectionRow, write_rows
from services.runtime.masking import mask_value

STAGE = "registration"
SENDER = catalog.REGISTRATION_ID
GROUP = catalog.REGISTRATION_GROUP
INPUTS = (catalog.REGISTRATION,)
CHANGELOG = catalog.REGISTRATION_STATE
__all__ = ["RegistrationTask", "guard", "write_rows"]


def _record_to_json(record: PersonRecord) -> bytes:
    return orjson.dumps(
        {
            "filings": {
                k: [f.filing.model_dump(mode="json"), f.revoked_on]
                for k, f in record.filings.items()
            },
            "status": None if record.status is None else record.status.model_dump(mode="json"),
            "last_offset": record.last_offset,
        },
        default=str,
    )


def _record_from_json(raw: bytes) -> PersonRecord:
    data: dict[str, Any] = orjson.loads(raw)
    filings = {
        k: FilingRecord(FilingCreated.model_validate(f), dt.date.fromisoformat(r) if r else None)
        for k, (f, r) in data["filings"].items()
    }
    status = None if data["status"] is None else PersonStatus.model_validate(data["status"])
    return PersonRecord(filings, status, data["last_offset"])


def guard(codec: Codec) -> RecordGuard:
    """What the engine does with a record this task raised on (error ack to an authentic
    registrant, as for any refused registration message)."""
    return RecordGuard(STAGE, codec=codec, processor=SENDER, ack_topics=frozenset(INPUTS))


class RegistrationTask:
    def __init__(
        self,
        partition: int,
        restored: dict[bytes, bytes],
        codec: Codec,
        rows: PendingRows | None = None,
    ) -> None:
        """``rows``: where the projection rows of accepted messages go (the worker's port,
        shared by its tasks); a task built without one keeps its own."""
        self.codec = codec
        self._raw = restored
        self._records: dict[bytes, PersonRecord] = {}
        self._dirty: set[bytes] = set()
        self.rows = rows if rows is not None else PendingRows()

    def _record(self, key: bytes) -> PersonRecord:
        rec = self._records.get(key)
        if rec is None:
            raw = self._raw.get(key)
            rec = self._records[key] = _record_from_json(raw) if raw is not None else PersonRecord()
            self._raw.pop(key, None)  # after parsing: a row that fails to parse stays stored
        return rec

    def process(self, record: InputRecord) -> Result:
        try:
            decoded = self.codec.decode(
                record.key, record.value, record.headers, topic=record.topic
            )
        except DecodeError as err:
            return Result(self._bad_input(record, err))
        message = decoded.message
        key = f"{message.insuplc_admdvs}:{message.psn_no}".encode()  # type: ignore[attr-defined]
        current = self._record(key)
        if record.offset <= current.last_offset:
            return Result()
        # Everything that can fail comes first; the state, the projection rows and the dirty
        # mark change together at the end, so a record that raises changes nothing.
        try:
            updated = apply(current, message)  # type: ignore[arg-type]
        except RegistrationRejected as exc:
            ack = self._ack(
                decoded,
                AckStatus.REJECTED,
                AckError(
                    code=exc.code, field=fit_optional(exc.field, MAX_SHORT_TEXT),
                    message=fit(exc.message, MAX_LONG_TEXT),
                ),
            )  # fmt: skip
            out = self._emit(ack, decoded, record.offset)
            self._records[key] = dataclasses.replace(current, last_offset=record.offset)
            self._dirty.add(key)
            return Result([out])
        out = self._emit(self._ack(decoded, AckStatus.ACCEPTED), decoded, record.offset)
        rows = self._rows(decoded, updated, record)
        self._records[key] = dataclasses.replace(updated, last_offset=record.offset)
        self._dirty.add(key)
        self.rows.add(rows)
        return Result([out])

    def flush_state(self) -> list[StateWrite]:
        writes = [StateWrite(k, _record_to_json(self._records[k])) for k in sorted(self._dirty)]
        self._dirty.clear()
        return writes

    def _rows(
        self, decoded: Decoded, record: PersonRecord, src: InputRecord
    ) -> list[ProjectionRow]:
        """The projection rows of an accepted message (emitted through ``self.rows`` by the caller)."""
        rows: list[ProjectionRow] = []
        msg = decoded.message
        if isinstance(msg, PersonStatus):
            p = msg.person
            status = "active" if all(i.status == "active" for i in p.insuinfo) else "suspended"
            rows.append(
                (
                    "person",
                    (
                        msg.insuplc_admdvs,
                        msg.psn_no,
                        [i.insutype for i in p.insuinfo],
                        status,
                        p.poor,
                        src.partition,
                        src.offset,
                    ),
                )
            )
        elif isinstance(msg, (FilingCreated, FilingRevoked)):
            f = record.filings[msg.filing_id]
            c = f.filing
            rows.append(("filing", (
                c.filing_id, c.psn_no, c.insuplc_admdvs, str(c.filing_type), c.mdtrtarea_admvs, c.begndate, c.enddate,
                f.revoked_on, c.channel, decoded.envelope.sender, mask_value(c.certno), src.partition, src.offset,
            )))  # fmt: skip
        return rows

    def _ack(self, decoded: Decoded, status: AckStatus, error: AckError | None = None) -> Ack:
        return Ack(
            ack_for=ack_ref(decoded.envelope.ce_id),
            ack_for_type=fit(decoded.envelope.ce_type, MAX_SHORT_TEXT), sender=decoded.envelope.sender,
            status=status, error=error, acked_at=dt.datetime.fromisoformat(decoded.envelope.ce_time),
        )  # fmt: skip

    def _emit(self, ack: Ack, decoded: Decoded, offset: int) -> Output:
        return ack_output(self.codec, ack, offset=offset, stage=STAGE, processor=SENDER)

    def _bad_input(self, record: InputRecord, err: DecodeError) -> list[Output]:
        return rejected_input(record, err, codec=self.codec, stage=STAGE, processor=SENDER)
