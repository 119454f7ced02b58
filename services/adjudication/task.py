"""The adjudication stream task: one partition of registration + visit events.

Thin adapter: decode with the codec (bad input -> DLQ record, plus an error
ack when the sender is authentic), look up the person's row, call the pure
``handler.handle``, encode what it returns. Rows are parsed from the restored
changelog lazily and serialised once per batch (``flush_state``).
"""

from __future__ import annotations

import datetime as dt

from contracts.ack import Ack, AckError
from contracts.codes import AckStatus
from events.catalog import ack_topic
from events.codec import Codec
from events.dlq import dlq_output
from events.envelope import parse_headers
from events.errors import DecodeError
from events.stream.types import InputRecord, Output, Result, StateWrite
from services.adjudication.core.tables import ReferenceData
from services.adjudication.handler import Emit, PersonRow, handle, person_key_of
from services.adjudication.wire import derived_id

STAGE = "adjudication"
SENDER = "yidi-adjudication"
CHANGELOG = "yidi.adjudication.state.v1"
GROUP = "yidi-adjudication"
INPUTS = ("yidi.registration.v1", "yidi.visit.v1")


class AdjudicationTask:
    def __init__(
        self, partition: int, restored: dict[bytes, bytes], codec: Codec, ref: ReferenceData
    ) -> None:
        self.partition = partition
        self.codec = codec
        self.ref = ref
        self._raw = restored
        self._rows: dict[bytes, PersonRow] = {}
        self._dirty: set[bytes] = set()

    def _row(self, key: bytes) -> PersonRow:
        row = self._rows.get(key)
        if row is None:
            raw = self._raw.pop(key, None)
            row = PersonRow.from_json(raw) if raw is not None else PersonRow()
            self._rows[key] = row
        return row

    def process(self, record: InputRecord) -> Result:
        try:
            decoded = self.codec.decode(record.key, record.value, record.headers)
        except DecodeError as err:
            return Result(self._rejected_input(record, err))
        key_text = person_key_of(decoded.message)
        if key_text is None:
            unhandled = DecodeError(
                f"{decoded.envelope.ce_type} is not consumed here", "ce_type", "E_UNHANDLED"
            )
            return Result(self._rejected_input(record, unhandled))
        key = key_text.encode()
        row, emits, changed = handle(self._row(key), decoded, record.topic, record.offset, self.ref)
        if changed:
            self._rows[key] = row
            self._dirty.add(key)
        return Result([self._encode(e) for e in emits])

    def flush_state(self) -> list[StateWrite]:
        writes = [StateWrite(k, self._rows[k].to_json()) for k in sorted(self._dirty)]
        self._dirty.clear()
        return writes

    def _encode(self, emit: Emit) -> Output:
        key, value, headers = self.codec.encode(
            emit.message, ce_id=emit.ce_id, sender=SENDER, ce_time=emit.ce_time, sign=False
        )
        return Output(emit.topic, emit.key if emit.key is not None else key, value, headers)

    def _rejected_input(self, record: InputRecord, err: DecodeError) -> list[Output]:
        """DLQ record always; an error ack too when the MAC verified (we know whom to tell)."""
        outs = [
            dlq_output(
                record, stage=STAGE, code=err.code, message=err.message, field=err.field,
                authentic=err.authentic_sender is not None,
            )
        ]  # fmt: skip
        if err.authentic_sender is not None and record.topic == "yidi.visit.v1":
            env = parse_headers(record.headers)
            when = dt.datetime.fromisoformat(env.ce_time)
            ack = Ack(
                ack_for=env.ce_id, ack_for_type=env.ce_type, sender=err.authentic_sender,
                status=AckStatus.REJECTED, acked_at=when,
                error=AckError(code=err.code, field=err.field, message=err.message[:2000]),
            )  # fmt: skip
            ce_id = derived_id(f"{env.ce_id}@{record.offset}", "ack")
            outs.append(
                self._encode(Emit(ack_topic(ack.sender), env.ce_id.encode(), ack, ce_id, when))
            )
        return outs
