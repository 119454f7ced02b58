"""An ack body straight to its canonical bytes, with a settlement result spliced in as bytes.

Why: every visit message gets an ack, and a settlement's ack embeds the whole
settlement; building the ``Ack`` model validates the embedded result again and dumping
it serialises the settlement a second time. Here the ack's own fields are checked
against the contract's bounds with plain comparisons and written with ``orjson``, and
the result goes in as the settlement's already-canonical bytes (canonical JSON nested
in sorted-key JSON is what sorting the whole would give). Anything outside the fast
path's checks takes the model path, which gives the same bytes or raises the same
``ValidationError`` the model always did.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Any

import orjson
from pydantic import TypeAdapter
from pydantic_core import to_jsonable_python

from contracts.ack import Ack, AckError
from contracts.codes import AckStatus
from contracts.settlement import Reversed, Settled
from events.wire.codec import canonical_bytes
from events.wire.limits import MAX_SHORT_TEXT

MAX_CODE = 50
MAX_MESSAGE = 2000
"""``AckError.message`` (``LongText``)."""
ErrorText = tuple[str, str]
"""An ack's error as ``(code, message)``, for a caller that has no ``AckError`` to hand."""
_CODE = re.compile(r"[0-9A-Za-z.\-_]+")
_RESULT: TypeAdapter[Settled | Reversed] = TypeAdapter(Settled | Reversed)


def _code(value: str) -> bool:
    return 0 < len(value) <= MAX_CODE and _CODE.fullmatch(value) is not None


@lru_cache(maxsize=4096)
def _sender_code(sender: str) -> bool:
    """``_code`` for the ack's ``sender``: a few thousand institutions and agencies, one
    regular expression each instead of one per ack."""
    return _code(sender)


def ack_value(
    *,
    ack_for: str,
    ack_for_type: str,
    msgid: str | None,
    sender: str,
    status: AckStatus,
    acked_at: dt.datetime,
    acked_at_json: str | None = None,
    error: AckError | ErrorText | None = None,
    setl_id: str | None = None,
    result: bytes | None = None,
) -> bytes:
    """``canonical_bytes(Ack(...))`` for these fields; ``result`` is the canonical bytes of
    the ``Settled`` / ``Reversed`` message the ack carries; ``acked_at_json``, when given,
    is ``to_jsonable_python(acked_at)`` already computed (the caller needed it too).
    ``error`` as ``(code, message)``: the ``AckError`` is not built (validating it and
    dumping it again cost ~3 µs a rejection) when both are plainly valid (a code by its
    pattern, a message by its length): ``{"code", "field": None, "message"}`` is its
    ``model_dump``; otherwise the model is built from them, and refuses what it refuses."""
    if isinstance(error, tuple):
        code, message = error
        if _code(code) and len(message) <= MAX_MESSAGE:
            error_json: dict[str, Any] | None = {"code": code, "field": None, "message": message}
        else:
            error = AckError(code=code, message=message)
            error_json = error.model_dump(mode="json")
    else:
        error_json = None if error is None else error.model_dump(mode="json")
    if (
        len(ack_for) <= MAX_SHORT_TEXT
        and len(ack_for_type) <= MAX_SHORT_TEXT
        and (msgid is None or len(msgid) <= MAX_SHORT_TEXT)
        and _sender_code(sender)
        and (setl_id is None or _code(setl_id))
        and (status == AckStatus.REJECTED) == (error is not None)
        and acked_at.utcoffset() is not None
    ):
        body = {  # the keys in sorted order: no sort needed unless ``error`` adds an object
            "ack_for": ack_for,
            "ack_for_type": ack_for_type,
            "acked_at": to_jsonable_python(acked_at) if acked_at_json is None else acked_at_json,
            "error": error_json,
            "msgid": msgid,
            "result": None if result is None else orjson.Fragment(result),
            "sender": sender,
            "setl_id": setl_id,
            "status": str(status),
        }
        return orjson.dumps(body, option=0 if error is None else orjson.OPT_SORT_KEYS)
    return canonical_bytes(
        Ack(
            ack_for=ack_for,
            ack_for_type=ack_for_type,
            msgid=msgid,
            sender=sender,
            status=status,
            error=AckError(code=error[0], message=error[1]) if isinstance(error, tuple) else error,
            setl_id=setl_id,
            result=None if result is None else _RESULT.validate_json(result),
            acked_at=acked_at,
        )
    )
