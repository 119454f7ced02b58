"""The adjudication stream task: one partition of registration + visit events.

Thin adapter: decode with the codec (bad input -> DLQ record, plus an error
ack when the sender is authentic), look up the person's row, call the pure
``handler.handle``, encode what it returns. Rows are parsed from the restored
changelog lazily and serialised once per batch (``flush_state``).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import cast

from events import catalog
from events.catalog import owns
from events.dlq import dlq_output
from events.stream.guard import RecordGuard
from events.stream.types import InputRecord, Output, Result, StateWrite
from events.wire.codec import Codec
from events.wire.errors import DecodeError
from events.wire.rejection import rejected_input
from services.adjudication.core.tables import ReferenceData
from services.adjudication.fee_lines import prepare
from services.adjudication.handler import (
    PERSON_KEYED,
    DeadLetter,
    PersonRow,
    handle,
    person_key_of,
)

STAGE = "adjudication"
SENDER = catalog.ADJUDICATION_ID
CHANGELOG = catalog.ADJUDICATION_STATE
GROUP = catalog.ADJUDICATION_GROUP
VISIT_TOPIC = catalog.VISIT
INPUTS = (catalog.REGISTRATION, VISIT_TOPIC)
MEMO_ROWS = 2048
"""Rows that keep the JSON of their unchanged parts between writes (the most recently
written): a person's messages arrive within minutes, so their next write reuses it; older
rows drop it, which bounds the extra memory to about this many rows' JSON per task."""


def guard(codec: Codec) -> RecordGuard:
    """What the engine does with a record this task raised on: the visit topic's senders get
    an error ack (registration messages are acknowledged by the registration processor)."""
    return RecordGuard(STAGE, codec=codec, processor=SENDER, ack_topics=frozenset({VISIT_TOPIC}))


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
        self._memoised: OrderedDict[bytes, None] = OrderedDict()

    def _row(self, key: bytes) -> PersonRow:
        row = self._rows.get(key)
        if row is None:
            raw = self._raw.get(key)
            row = PersonRow.from_json(raw) if raw is not None else PersonRow()
            self._rows[key] = row
            self._raw.pop(key, None)  # after parsing: a row that fails to parse stays stored
        return row

    def process(self, record: InputRecord) -> Result:
        try:
            decoded = self.codec.decode(
                record.key, record.value, record.headers, topic=record.topic, prepare=prepare
            )
        except DecodeError as err:
            return Result(self._rejected_input(record, err))
        key = decoded.key  # ``person_key_of(message).encode()`` for the messages it keys
        if key is None or not isinstance(decoded.message, PERSON_KEYED):
            key_text = person_key_of(decoded.message)
            if key_text is None:
                unhandled = DecodeError(
                    f"{decoded.envelope.ce_type} is not consumed here", "ce_type", "E_UNHANDLED"
                )
                return Result(self._rejected_input(record, unhandled))
            key = key_text.encode()
        row, emits, changed = handle(self._row(key), decoded, record.topic, record.offset, self.ref)
        outputs = cast(list[Output], emits)  # ``handle`` returns lists: checked just below
        for emit in emits:  # in this frame: a list comprehension is a new function and frame
            if type(emit) is not Output or type(emits) is not list:  # a dead letter: rare
                outputs = [e if isinstance(e, Output) else self._dead(record, e) for e in emits]
                break
        if changed:  # only now: ``handle`` worked on a copy, so a raise above changed nothing
            self._rows[key] = row
            self._dirty.add(key)
        return Result(outputs)

    def flush_state(self) -> list[StateWrite]:
        writes = [StateWrite(k, self._rows[k].to_json()) for k in sorted(self._dirty)]
        recent = self._memoised
        for key in self._dirty:
            recent[key] = None
            recent.move_to_end(key)
        while len(recent) > MEMO_ROWS:
            self._rows[recent.popitem(last=False)[0]].forget_json()
        self._dirty.clear()
        return writes

    def _dead(self, record: InputRecord, dead: DeadLetter) -> Output:
        return dlq_output(
            record, stage=STAGE, code=dead.code, message=dead.text, authentic=dead.authentic
        )

    def _rejected_input(self, record: InputRecord, err: DecodeError) -> list[Output]:
        """The visit topic's refusals are this processor's: a DLQ record and an error ack.
        The registration topic's belong to the registration processor (its owner in
        ``events.catalog``), which reads the same records with the same codec and refuses the
        same ones: here they are skipped, so one bad input is one DLQ record and one ack."""
        if not owns(record.topic, SENDER):
            return []
        return rejected_input(record, err, codec=self.codec, stage=STAGE, processor=SENDER)
