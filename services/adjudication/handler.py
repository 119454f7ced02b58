"""One person's record and what one decoded message does to it — the stream task's logic.

Pure (no Kafka): the task calls ``handle`` per record and publishes what it
returns. Same record + same message = same outputs, byte for byte, which is
what makes replays and crash recovery exact.

Duplicates: a message whose ``ce_id`` this person already saw, at another
offset, is a sender's re-send; it changes nothing and gets a re-ack (the
original rejection again, or ``duplicate`` with the original result). A
record at or below the last offset applied to this person is a replay after
a crash; its outputs already landed (docs/guarantees.md), so nothing is
emitted. Exception: a refusal for missing reference data (``REFERENCE_GAPS``)
is not remembered, so its redrive from the DLQ is adjudicated afresh.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic_core import to_jsonable_python

from contracts.ack import Ack
from contracts.codes import AckStatus
from contracts.common import Contract
from contracts.filing import RegistrationMessage
from contracts.reference import InsuredPerson
from contracts.visit import VisitMessage
from events import catalog
from events.catalog import ack_topic
from events.stream.types import Output
from events.wire.ack_json import ErrorText, ack_value
from events.wire.codec import Decoded
from events.wire.envelope import SENDER_PREFIX, plain_headers, source_for
from events.wire.limits import MAX_SHORT_TEXT, ack_ref, fit
from events.wire.rejection import ack_id
from services.adjudication.core.commands import Outcome, apply
from services.adjudication.core.errors import NoCatalog, NoPolicy, Rejection, UnknownInstitution
from services.adjudication.core.person import PersonState, StateWriter, state_from_json
from services.adjudication.core.settlement_json import (
    REVERSED_TYPE,
    SETTLED_TYPE,
    reversed_json,
    settled_json,
)
from services.adjudication.core.tables import ReferenceData
from services.adjudication.seen import Seen, SeenLog
from services.adjudication.wire import UnhandledMessage, derived_id, message_command

SETTLEMENT_TOPIC = catalog.SETTLEMENT
SEEN_LIMIT = 256
ACK_TYPE = Ack.ce_type
SOURCE = source_for(catalog.ADJUDICATION_ID)
"""The ``ce_source`` of every output: this processor's."""


Times = tuple[dt.datetime, str, str]
"""An input's ``ce_time``: the instant, its JSON text (pydantic's, in the ack body) and its
``isoformat`` (the outputs' ``ce_time`` header)."""
_CST = dt.timedelta(hours=8)


def _times(decoded: Decoded) -> Times:
    return times(decoded.when or dt.datetime.fromisoformat(decoded.envelope.ce_time))


def times(when: dt.datetime) -> Times:
    """An aware instant and both its texts. With a whole-minute offset other than UTC's
    pydantic's JSON text of an aware datetime is its ``isoformat`` (it writes ``Z`` for
    UTC, and rounds an offset's seconds away): the inputs' +08:00 takes that one text,
    ``isoformat`` being the dearer of the two, and orjson writes it as pydantic does, in
    two thirds of ``to_jsonable_python``'s time (``test_output_times.py`` holds both)."""
    if when.utcoffset() == _CST:
        text: str = orjson.dumps(when)[1:-1].decode()
        return when, text, text
    return when, to_jsonable_python(when), when.isoformat()


def _output(
    topic: str, key: bytes, ce_type: str, ce_id: str, when: str, value: bytes,
    outcome: tuple[str, str] | None = None,
) -> Output:  # fmt: skip
    """A message to publish with its envelope's headers (``build_headers``' bytes, through
    ``plain_headers``): built here, once, rather than as an intermediate value the task
    turned into an ``Output`` (one object and one call less per output). ``when`` is the
    ``ce_time`` text: a settlement and its ack share one, written once."""
    return Output(topic, key, value, plain_headers(ce_id, ce_type, SOURCE, when), outcome)


REFERENCE_GAPS = (UnknownInstitution, NoPolicy, NoCatalog)
"""Refusals caused by reference data the platform lacks, not by the request. The input is
dead-lettered as well as acked, and its ``ce_id`` is not remembered: once ops loads the data,
``yidi dlq redrive`` sends the same signed bytes back and they are adjudicated, once."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Dead-letter the input record itself (the task holds its bytes) with this reason."""

    code: str
    text: str
    authentic: bool


_PERSON_JSON = InsuredPerson.__pydantic_serializer__.to_json
"""``orjson.dumps(person.model_dump(mode="json"))``'s bytes in one native call rather than a
dict of dicts built and written again (1.9 -> 1.1 µs a person; ``test_person_json.py``)."""


@dataclass(slots=True)
class PersonRow:
    """One person's changelog row. ``to_json`` is called once per batch that touched the
    person, so it keeps the JSON of what did not change since (``StateWriter``, and the
    person record's) and writes the same bytes ``state_to_json`` and ``model_dump`` would."""

    state: PersonState = field(default_factory=PersonState)
    person: InsuredPerson | None = None
    last: dict[str, int] = field(default_factory=dict)
    seen: SeenLog = field(default_factory=SeenLog)
    writer: StateWriter = field(default_factory=StateWriter, repr=False, compare=False)
    person_json: tuple[InsuredPerson, bytes] | None = field(default=None, repr=False, compare=False)

    def _person(self) -> orjson.Fragment | None:
        person = self.person
        if person is None:
            return None
        if self.person_json is None or self.person_json[0] is not person:
            self.person_json = (person, _PERSON_JSON(person))
        return orjson.Fragment(self.person_json[1])

    def forget_json(self) -> None:
        """Drop the remembered JSON (memory); the next ``to_json`` serialises everything."""
        self.writer = StateWriter()
        self.person_json = None
        self.seen.forget_json()

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "state": self.writer.body(self.state),
                "person": self._person(),
                "last": self.last,
                "seen": orjson.Fragment(self.seen.to_json()),
            }
        )

    @classmethod
    def from_json(cls, raw: bytes) -> PersonRow:
        data: dict[str, Any] = orjson.loads(raw)
        return cls(
            state=state_from_json(orjson.dumps(data["state"])),
            person=None if data["person"] is None else InsuredPerson.model_validate(data["person"]),
            last=data["last"],
            seen=SeenLog.of((k, Seen(o, st, c, t, s)) for k, o, st, c, t, s in data["seen"]),
        )


def _ack_emit(
    decoded: Decoded,
    offset: int,
    status: AckStatus,
    *,
    error: ErrorText | None = None,
    setl_id: str | None = None,
    result: bytes | None = None,
    when: Times | None = None,
) -> Output:
    """The sender's ack of this input (visit messages only, so ``msgid`` is a field).
    ``when``: the input's time and its texts, when the caller has them already."""
    env = decoded.envelope
    sender = env.ce_source.removeprefix(SENDER_PREFIX)  # ``env.sender``, without its call
    acked_at, acked_json, when_text = _times(decoded) if when is None else when
    ce_id, ce_type = env.ce_id, env.ce_type
    value = ack_value(  # ``ack_ref`` and ``fit`` called only for a text too long (never, here)
        ack_for=ce_id if len(ce_id) <= MAX_SHORT_TEXT else ack_ref(ce_id),
        ack_for_type=ce_type if len(ce_type) <= MAX_SHORT_TEXT else fit(ce_type, MAX_SHORT_TEXT),
        msgid=getattr(decoded.message, "msgid", None),
        sender=sender,
        status=status,
        acked_at=acked_at,
        acked_at_json=acked_json,
        error=error,
        setl_id=setl_id,
        result=result,
    )
    outcome = (str(status), "" if error is None else error[0])
    headers = plain_headers(ack_id(ce_id, offset, "adjudication"), ACK_TYPE, SOURCE, when_text)
    return Output(ack_topic(sender), ce_id.encode(), value, headers, outcome)  # ``_output``'s


def _result(state: PersonState, setl_id: str | None) -> bytes | None:
    if setl_id is None:
        return None
    record = state.settlements.get(setl_id)
    return None if record is None else settled_json(record.settlement)


def handle(
    row: PersonRow, decoded: Decoded, topic: str, offset: int, ref: ReferenceData
) -> tuple[PersonRow, Sequence[Output | DeadLetter], bool]:
    """(new row, outputs, changed). Never raises for a business outcome.

    The row passed in is never modified: the new row is a copy (its containers replaced,
    never updated in place), so a caller that gets an exception instead still holds the
    person's row exactly as it was: a record's state change is all or nothing."""
    if offset <= row.last.get(topic, -1):
        return row, [], False
    row = PersonRow(row.state, row.person, row.last, row.seen, row.writer, row.person_json)
    message = decoded.message
    ce_id = decoded.envelope.ce_id
    is_visit = isinstance(message, VisitMessage)
    row.last = {**row.last, topic: offset}
    seen = row.seen.get(ce_id)
    if seen is not None:
        if not is_visit:
            return row, [], True
        if seen.status == AckStatus.REJECTED:
            ack = _ack_emit(
                decoded,
                offset,
                AckStatus.REJECTED,
                error=(seen.code or "E_REJECTED", seen.text or ""),
            )
        else:
            ack = _ack_emit(
                decoded,
                offset,
                AckStatus.DUPLICATE,
                setl_id=seen.setl_id,
                result=_result(row.state, seen.setl_id),
            )
        return row, [ack], True
    try:
        command = message_command(message)
    except UnhandledMessage as exc:
        return _remember(row, ce_id, offset, decoded, is_visit, code="E_UNHANDLED", text=str(exc))
    if isinstance(command, InsuredPerson):
        row.person = command
        return row, [], True
    try:
        new_state, outcome = apply(row.state, command, row.person, ref)
    except Rejection as exc:
        if is_visit and isinstance(exc, REFERENCE_GAPS):
            return row, _reference_gap(decoded, offset, exc), True
        return _remember(row, ce_id, offset, decoded, is_visit, code=exc.code, text=exc.detail)
    row.state = new_state
    return _accepted(row, ce_id, offset, decoded, is_visit, outcome)


def _reference_gap(decoded: Decoded, offset: int, exc: Rejection) -> list[Output | DeadLetter]:
    """Rejected now, adjudicated when redriven after the reference data is fixed (not noted)."""
    text = exc.detail[:500] or exc.code
    ack = _ack_emit(decoded, offset, AckStatus.REJECTED, error=(exc.code, text))
    return [DeadLetter(exc.code, text, decoded.sender_verified), ack]


def _remember(
    row: PersonRow,
    ce_id: str,
    offset: int,
    decoded: Decoded,
    is_visit: bool,
    *,
    code: str,
    text: str,
) -> tuple[PersonRow, list[Output], bool]:
    _note(row, ce_id, Seen(offset, AckStatus.REJECTED, code, text[:500]))
    if not is_visit:
        return row, [], True  # registration messages are acked by the registration processor
    error = (code, text[:500] or code)
    return row, [_ack_emit(decoded, offset, AckStatus.REJECTED, error=error)], True


def _accepted(
    row: PersonRow,
    ce_id: str,
    offset: int,
    decoded: Decoded,
    is_visit: bool,
    outcome: Outcome,
) -> tuple[PersonRow, list[Output], bool]:
    out: list[Output] = []
    result: bytes | None = None
    setl_id: str | None = None
    when = times(decoded.when or dt.datetime.fromisoformat(decoded.envelope.ce_time))  # _times
    key = decoded.key if decoded.key is not None else _person_key(decoded.message)
    when_text = when[2]
    if outcome.settlement is not None:
        result = settled_json(outcome.settlement)
        setl_id = outcome.settlement.setl_id
        if outcome.kind == "settled":
            out.append(
                _output(
                    SETTLEMENT_TOPIC, key, SETTLED_TYPE,
                    derived_id(ce_id, outcome.kind), when_text, result,
                )
            )  # fmt: skip
    elif outcome.reversal is not None:
        result = reversed_json(outcome.reversal)
        setl_id = outcome.reversal.setl_id
        out.append(
            _output(
                SETTLEMENT_TOPIC, key, REVERSED_TYPE,
                derived_id(ce_id, outcome.kind), when_text, result,
            )
        )  # fmt: skip
    row.seen = row.seen.noted(  # ``_note``, without its call
        ce_id,
        Seen(
            offset, AckStatus.ACCEPTED, setl_id=setl_id if outcome.kind != "pre_settled" else None
        ),
        SEEN_LIMIT,
    )
    if is_visit:
        out.append(
            _ack_emit(
                decoded, offset, AckStatus.ACCEPTED, setl_id=setl_id, result=result,
                when=when,
            )
        )  # fmt: skip
    return row, out, True


def _note(row: PersonRow, ce_id: str, seen: Seen) -> None:
    """``row`` is a fresh copy: its new ``seen`` is a new version, the stored row's is
    unchanged (``SeenLog``); past ``SEEN_LIMIT`` entries the oldest drops."""
    row.seen = row.seen.noted(ce_id, seen, SEEN_LIMIT)


PERSON_KEYED = (VisitMessage, RegistrationMessage)
"""The messages this processor keys by person: the codec's ``expected_key`` of each is
``person_key_of``'s text (neither has a ``key_field``; both have ``psn_no`` and
``insuplc_admdvs``), so the task takes ``Decoded.key`` (``test_person_key.py``)."""


def _person_key(message: Contract) -> bytes:
    """``command_of``'s person key, for a ``Decoded`` built without the codec's key."""
    probed: Any = message  # a visit message: its settlement is being published
    return f"{probed.insuplc_admdvs}:{probed.psn_no}".encode()


def person_key_of(message: Contract) -> str | None:
    if isinstance(message, PERSON_KEYED):
        return f"{message.insuplc_admdvs}:{message.psn_no}"
    return None
