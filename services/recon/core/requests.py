"""Which answer a request belongs to, and whether it was seen before.

A request is answered once and that answer is kept: a 3201 or single-part 3202 by its
``msgid``, a multi-part 3202 by its ``batch_id``. The first delivery of each message is
remembered by its log position, so a re-delivery of the same record (a crash before the
commit) yields the first delivery's outputs again, while the same message sent anew
(another position) is a duplicate that repeats the answer.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

import orjson

from contracts.recon import DetailReconRequested, TotalsReconRequested
from services.recon.core.errors import BatchMismatch, MsgidReused

Request = TotalsReconRequested | DetailReconRequested
BATCH_FIELDS: tuple[str, ...] = (
    "fixmedins_code", "mdtrtarea_admvs", "setl_optins", "insutype", "clr_type",
    "stmt_begndate", "stmt_enddate", "batch_id", "part_cnt",
)  # fmt: skip
"""What every part of a batch must repeat: the slice, the batch and its size."""


class Arrival(StrEnum):
    NEW = "new"
    REDELIVERY = "redelivery"
    RESEND = "resend"


@dataclass(frozen=True, slots=True)
class Position:
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class SeenRequest:
    """What is kept of a request message once accepted."""

    body_sha256: bytes
    first: Position


def answer_key(request: Request) -> str:
    if isinstance(request, DetailReconRequested) and request.batch_id is not None:
        return f"b:{request.batch_id}"
    return f"m:{request.msgid}"


def body_sha256(request: Request) -> bytes:
    """Over the canonical body, so a re-send that only re-orders keys is the same message."""
    return hashlib.sha256(
        orjson.dumps(request.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    ).digest()


def batch_sha256(request: DetailReconRequested) -> bytes:
    data = request.model_dump(mode="json", include=set(BATCH_FIELDS))
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).digest()


def arrival(seen: SeenRequest | None, body: bytes, at: Position) -> Arrival:
    """Raises ``MsgidReused`` for a known msgid with another body."""
    if seen is None:
        return Arrival.NEW
    if seen.body_sha256 != body:
        raise MsgidReused("this msgid was sent before with a different body", "msgid")
    return Arrival.REDELIVERY if seen.first == at else Arrival.RESEND


def check_batch(stored_sha256: bytes, request: DetailReconRequested) -> None:
    if stored_sha256 != batch_sha256(request):
        raise BatchMismatch(
            "this part's slice, batch or part_cnt differs from the batch's first part", "batch_id"
        )
