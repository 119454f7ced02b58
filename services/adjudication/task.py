"""The adjudication stream task: one partition of registration + visit events.

Thin adapter: decode with the codec (bad input -> DLQ record, plus an error
ack when the sender is authentic), look up the person's row, call the pure
``handler.handle``, encode what it returns. Rows are parsed from the restored
changelog lazily and serialised once per batch (``flush_state``).
"""

from __future__ import annotations

from events.codec import Codec
from events.errors import DecodeError
from events.rejection import rejected_input
from events.stream.types import InputRecord, Output, Result, StateWrite
from services.adjudication.core.tables import ReferenceData
from services.adjudication.handler import Emit, PersonRow, handle, person_key_of

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
        return rejected_input(
            record,
            err,
            codec=self.codec,
            stage=STAGE,
            processor=SENDER,
            ack=record.topic == "yidi.visit.v1",
        )
