"""Bad input's terminal outcome, the same in every processor: a DLQ record with the reason,
and an error ack to the sender when its MAC verified (otherwise we cannot know whom to tell)."""

from __future__ import annotations

import datetime as dt
import hashlib

from contracts.ack import Ack, AckError
from contracts.codes import AckStatus
from events.catalog import ack_topic
from events.dlq import dlq_output
from events.stream.types import InputRecord, Output
from events.wire.codec import Codec
from events.wire.envelope import parse_headers
from events.wire.errors import DecodeError
from events.wire.limits import MAX_LONG_TEXT, MAX_SHORT_TEXT, ack_ref, fit, fit_optional


def ack_id(input_ce_id: str, offset: int, stage: str) -> str:
    """One ack id per input record: a replay re-emits the same id, a re-send (new offset) gets its own."""
    return "ack-" + hashlib.sha256(f"{stage}|{input_ce_id}@{offset}".encode()).hexdigest()[:32]


def ack_output(codec: Codec, ack: Ack, *, offset: int, stage: str, processor: str) -> Output:
    _, value, headers = codec.encode(
        ack,
        ce_id=ack_id(ack.ack_for, offset, stage),
        sender=processor,
        ce_time=ack.acked_at,
        sign=False,
    )
    code = "" if ack.error is None else ack.error.code
    return Output(
        ack_topic(ack.sender), ack.ack_for.encode(), value, headers, (str(ack.status), code)
    )


def rejected_input(
    record: InputRecord,
    err: DecodeError,
    *,
    codec: Codec,
    stage: str,
    processor: str,
    ack: bool = True,
) -> list[Output]:
    outs = [
        dlq_output(
            record, stage=stage, code=err.code, message=err.message, field=err.field,
            authentic=err.authentic_sender is not None,
        )
    ]  # fmt: skip
    if ack and err.authentic_sender is not None:
        env = parse_headers(record.headers)
        reply = Ack(
            ack_for=ack_ref(env.ce_id), ack_for_type=fit(env.ce_type, MAX_SHORT_TEXT),
            sender=err.authentic_sender, status=AckStatus.REJECTED,
            acked_at=dt.datetime.fromisoformat(env.ce_time),
            error=AckError(
                code=err.code, field=fit_optional(err.field, MAX_SHORT_TEXT),
                message=fit(err.message, MAX_LONG_TEXT),
            ),
        )  # fmt: skip
        outs.append(
            ack_output(codec, reply, offset=record.offset, stage=stage, processor=processor)
        )
    return outs
