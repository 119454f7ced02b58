"""Acknowledgments to the sender of a message (hospital or agency), on its own ack topic.

An ack names the input by its ``ce_id`` (and ``msgid`` when the body could be
read). Rejections carry a stable error code that is the same string as in the
DLQ record; duplicates repeat the original outcome's result.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from contracts.codes import AckStatus
from contracts.common import AwareDatetime, Code, Contract, LongText, ShortText
from contracts.settlement import Reversed, Settled


class AckError(Contract):
    code: Code = Field(max_length=64)
    field: ShortText | None = None
    message: LongText


class Ack(Contract):
    ce_type: ClassVar[str] = "cn.yidi.ack.result.v1"
    topic: ClassVar[str] = "yidi.ack.v1.<sender>"

    ack_for: ShortText = Field(description="ce_id of the acknowledged message")
    ack_for_type: ShortText
    msgid: ShortText | None = None
    sender: Code = Field(description="institution code or agency id the ack is routed to")
    status: AckStatus
    error: AckError | None = None
    setl_id: Code | None = None
    result: Settled | Reversed | None = None
    acked_at: AwareDatetime = Field(description="the input's own time: acks are deterministic")

    @model_validator(mode="after")
    def _error_iff_rejected(self) -> Ack:
        if (self.status == AckStatus.REJECTED) != (self.error is not None):
            raise ValueError("a rejected ack carries an error; other acks carry none")
        return self
