"""One person's record and what one decoded message does to it — the stream task's logic.

Pure (no Kafka): the task calls ``handle`` per record and publishes what it
returns. Same record + same message = same outputs, byte for byte, which is
what makes replays and crash recovery exact.

Duplicates: a message whose ``ce_id`` this person already saw, at another
offset, is a sender's re-send; it changes nothing and gets a re-ack (the
original rejection again, or ``duplicate`` with the original result). A
record at or below the last offset applied to this person is a replay after
a crash; its outputs already landed (docs/guarantees.md), so nothing is
emitted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import orjson

from contracts.ack import Ack, AckError
from contracts.codes import AckStatus
from contracts.common import Contract
from contracts.filing import RegistrationMessage
from contracts.reference import InsuredPerson
from contracts.settlement import Reversed, Settled
from contracts.visit import VisitMessage
from events.catalog import ack_topic
from events.codec import Decoded
from events.rejection import ack_id
from services.adjudication.core.commands import Outcome, apply
from services.adjudication.core.errors import Rejection
from services.adjudication.core.messages import reversed_message, settled_message
from services.adjudication.core.person import PersonState, state_from_json, state_to_json
from services.adjudication.core.tables import ReferenceData
from services.adjudication.wire import UnhandledMessage, command_of, derived_id

SETTLEMENT_TOPIC = "yidi.settlement.v1"
SEEN_LIMIT = 256


@dataclass(frozen=True, slots=True)
class Emit:
    """A message to publish: topic, record key, contract, its ce_id and ce_time."""

    topic: str
    key: bytes | None
    message: Contract
    ce_id: str
    ce_time: dt.datetime


@dataclass(slots=True)
class Seen:
    offset: int
    status: str
    code: str | None = None
    text: str | None = None
    setl_id: str | None = None


@dataclass(slots=True)
class PersonRow:
    state: PersonState = field(default_factory=PersonState)
    person: InsuredPerson | None = None
    last: dict[str, int] = field(default_factory=dict)
    seen: dict[str, Seen] = field(default_factory=dict)

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "state": orjson.Fragment(state_to_json(self.state)),
                "person": None if self.person is None else self.person.model_dump(mode="json"),
                "last": self.last,
                "seen": [
                    [k, s.offset, s.status, s.code, s.text, s.setl_id] for k, s in self.seen.items()
                ],
            }
        )

    @classmethod
    def from_json(cls, raw: bytes) -> PersonRow:
        data: dict[str, Any] = orjson.loads(raw)
        return cls(
            state=state_from_json(orjson.dumps(data["state"])),
            person=None if data["person"] is None else InsuredPerson.model_validate(data["person"]),
            last=data["last"],
            seen={k: Seen(o, st, c, t, s) for k, o, st, c, t, s in data["seen"]},
        )


def _ack(decoded: Decoded, status: AckStatus, **extra: Any) -> Ack:
    msg = decoded.message
    return Ack(
        ack_for=decoded.envelope.ce_id,
        ack_for_type=decoded.envelope.ce_type,
        msgid=getattr(msg, "msgid", None),
        sender=decoded.envelope.sender,
        status=status,
        acked_at=dt.datetime.fromisoformat(decoded.envelope.ce_time),
        **extra,
    )


def _ack_emit(decoded: Decoded, ack: Ack, offset: int) -> Emit:
    ce_id = ack_id(decoded.envelope.ce_id, offset, "adjudication")
    return Emit(ack_topic(ack.sender), decoded.envelope.ce_id.encode(), ack, ce_id, ack.acked_at)


def _result(state: PersonState, setl_id: str | None) -> Settled | Reversed | None:
    if setl_id is None:
        return None
    record = state.settlements.get(setl_id)
    return None if record is None else settled_message(record.settlement)


def handle(
    row: PersonRow, decoded: Decoded, topic: str, offset: int, ref: ReferenceData
) -> tuple[PersonRow, list[Emit], bool]:
    """(new row, outputs, changed). Never raises for a business outcome."""
    if offset <= row.last.get(topic, -1):
        return row, [], False
    message = decoded.message
    ce_id = decoded.envelope.ce_id
    is_visit = isinstance(message, VisitMessage)
    row.last = {**row.last, topic: offset}
    seen = row.seen.get(ce_id)
    if seen is not None:
        if not is_visit:
            return row, [], True
        if seen.status == AckStatus.REJECTED:
            ack = _ack(
                decoded,
                AckStatus.REJECTED,
                error=AckError(code=seen.code or "E_REJECTED", message=seen.text or ""),
            )
        else:
            ack = _ack(
                decoded,
                AckStatus.DUPLICATE,
                setl_id=seen.setl_id,
                result=_result(row.state, seen.setl_id),
            )
        return row, [_ack_emit(decoded, ack, offset)], True
    try:
        key, command = command_of(message)
    except UnhandledMessage as exc:
        return _remember(row, ce_id, offset, decoded, is_visit, code="E_UNHANDLED", text=str(exc))
    if isinstance(command, InsuredPerson):
        row.person = command
        return row, [], True
    try:
        new_state, outcome = apply(row.state, command, row.person, ref)
    except Rejection as exc:
        return _remember(row, ce_id, offset, decoded, is_visit, code=exc.code, text=exc.detail)
    row.state = new_state
    return _accepted(row, ce_id, offset, decoded, is_visit, key, outcome)


def _remember(
    row: PersonRow,
    ce_id: str,
    offset: int,
    decoded: Decoded,
    is_visit: bool,
    *,
    code: str,
    text: str,
) -> tuple[PersonRow, list[Emit], bool]:
    _note(row, ce_id, Seen(offset, AckStatus.REJECTED, code, text[:500]))
    if not is_visit:
        return row, [], True  # registration messages are acked by the registration processor
    ack = _ack(decoded, AckStatus.REJECTED, error=AckError(code=code, message=text[:500] or code))
    return row, [_ack_emit(decoded, ack, offset)], True


def _accepted(
    row: PersonRow,
    ce_id: str,
    offset: int,
    decoded: Decoded,
    is_visit: bool,
    key: str,
    outcome: Outcome,
) -> tuple[PersonRow, list[Emit], bool]:
    out: list[Emit] = []
    result: Settled | Reversed | None = None
    setl_id: str | None = None
    when = dt.datetime.fromisoformat(decoded.envelope.ce_time)
    if outcome.settlement is not None:
        result = settled_message(outcome.settlement)
        setl_id = outcome.settlement.setl_id
        if outcome.kind == "settled":
            out.append(
                Emit(SETTLEMENT_TOPIC, key.encode(), result, derived_id(ce_id, outcome.kind), when)
            )
    elif outcome.reversal is not None:
        result = reversed_message(outcome.reversal)
        setl_id = outcome.reversal.setl_id
        out.append(
            Emit(SETTLEMENT_TOPIC, key.encode(), result, derived_id(ce_id, outcome.kind), when)
        )
    _note(
        row,
        ce_id,
        Seen(
            offset, AckStatus.ACCEPTED, setl_id=setl_id if outcome.kind != "pre_settled" else None
        ),
    )
    if is_visit:
        out.append(
            _ack_emit(
                decoded, _ack(decoded, AckStatus.ACCEPTED, setl_id=setl_id, result=result), offset
            )
        )
    return row, out, True


def _note(row: PersonRow, ce_id: str, seen: Seen) -> None:
    row.seen[ce_id] = seen
    if len(row.seen) > SEEN_LIMIT:
        del row.seen[next(iter(row.seen))]


def person_key_of(message: Contract) -> str | None:
    if isinstance(message, (VisitMessage, RegistrationMessage)):
        return f"{message.insuplc_admdvs}:{message.psn_no}"
    return None
