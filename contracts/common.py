"""Shared field types and the base class of every message contract.

Bounds live here so that no string or list in any message is unbounded: a
message can never exhaust memory, whatever a sender puts in it.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, ClassVar

import pydantic
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetPydanticSchema,
    StringConstraints,
    TypeAdapter,
)
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

Admdvs = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
"""Administrative division code (行政区划代码), 6 digits."""

FixmedinsCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]\d{11}$")]
"""Designated institution code: a letter and 11 digits, e.g. H33090200001."""

Msgid = Annotated[str, StringConstraints(pattern=r"^[A-Z]\d{11}\d{14}\d{4}$")]
"""Institution code + yyyyMMddHHmmss + 4-digit sequence, unique per message."""

Infno = Annotated[str, StringConstraints(pattern=r"^\d{4}$")]
PsnNo = Annotated[str, StringConstraints(min_length=1, max_length=30, pattern=r"^[0-9A-Za-z]+$")]
MdtrtId = Annotated[
    str, StringConstraints(min_length=1, max_length=30, pattern=r"^[0-9A-Za-z\-]+$")
]
SetlId = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[0-9A-Za-z\-]+$")]
Code = Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=r"^[0-9A-Za-z.\-_]+$")]
ShortText = Annotated[str, StringConstraints(max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=2000)]
CertNo = Annotated[str, StringConstraints(min_length=1, max_length=50)]
"""A certificate number: personal data, excluded from reprs and never logged in clear."""


EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
"""The instants a message may carry. Python's datetime ends at 9999-12-31: an instant near
that end (``9999-12-31T23:59:59-14:00``) cannot even be moved to Asia/Shanghai, so the
business date of an out-of-range instant would raise instead of refusing the message."""


def plausible(instant: dt.datetime) -> dt.datetime:
    """``instant``, or ValueError when it lies outside ``EARLIEST`` .. ``LATEST``.

    Fast path (every fee line's time passes here): a UTC offset is under 24 hours, so an
    aware instant whose local year is 1901..2198 lies inside whatever its offset; only
    the edge years need the comparison, which costs several times more across zones."""
    if 1900 < instant.year < 2199 and instant.utcoffset() is not None:
        return instant
    try:
        inside = EARLIEST <= instant < LATEST
    except (OverflowError, TypeError):  # an offset that cannot be applied at the edge
        inside = False
    if not inside:
        raise ValueError("time outside the plausible range 1900-01-01 .. 2199-12-31 (UTC)")
    return instant


def _aware_in_range(_source: object, _handler: GetCoreSchemaHandler) -> CoreSchema:
    """``pydantic.AwareDatetime`` with ``plausible``'s range checked natively (issue 21).

    Why native: ``AfterValidator(plausible)`` was a call from pydantic-core into Python for
    every instant of every message (13 in a 12-line fee upload): 0.29 µs an instant, 0.10
    natively. The bounds compare instants across offsets as ``plausible`` does, so both
    accept and refuse the same texts (``tests/unit/contracts/test_aware_datetime.py``); a
    refusal by the bounds says less than ``plausible`` did (a naive time out of range is
    refused for its range, not for its missing offset), so the codec asks
    ``PLAUSIBLE_DATETIME`` (the old schema) for the refusal of that one value."""
    return core_schema.datetime_schema(tz_constraint="aware", ge=EARLIEST, lt=LATEST)


PLAUSIBLE_DATETIME = TypeAdapter(Annotated[pydantic.AwareDatetime, AfterValidator(plausible)])
"""The schema ``AwareDatetime`` had before: the codec's reading of a range refusal."""
TIME_BOUNDS = ({"ge": "1900-01-01T00:00:00Z"}, {"lt": "2200-01-01T00:00:00Z"})
"""``AwareDatetime``'s bounds as a ``greater_than_equal`` / ``less_than`` error's context."""


AwareDatetime = Annotated[dt.datetime, GetPydanticSchema(_aware_in_range)]
"""An instant with its UTC offset between ``EARLIEST`` and ``LATEST`` (both checked
natively); dates derive in Asia/Shanghai."""


def rule_violation(field: str, message: str) -> PydanticCustomError:
    """A business-rule failure that names the field it is about (codec code ``E_RULE``)."""
    return PydanticCustomError("rule_violation", "{message}", {"field": field, "message": message})


class Contract(BaseModel):
    """A message body. Frozen; unknown fields are errors here — the codec tolerates them
    only when the sender declares a newer minor version (see docs/contracts.md)."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", str_strip_whitespace=False, cache_strings="keys"
    )

    ce_type: ClassVar[str]
    """CloudEvents type with its major version, e.g. ``cn.yidi.visit.settlement_requested.v1``."""
    topic: ClassVar[str]
    key_field: ClassVar[str | None] = None
    """Body field whose value is the record key, for topics not keyed by person."""


class MessageHeader(Contract):
    """The national interface's message header fields, carried by every hospital message."""

    msgid: Msgid
    infno: Infno
    fixmedins_code: FixmedinsCode
    insuplc_admdvs: Admdvs
    mdtrtarea_admvs: Admdvs
    inf_time: AwareDatetime


def person_key(insuplc_admdvs: str, psn_no: str) -> str:
    """The key of every person-keyed topic: ``{insuplc_admdvs}:{psn_no}``."""
    return f"{insuplc_admdvs}:{psn_no}"


MAX_FEE_LINES = 2000
"""Fee lines per upload message (a long inpatient stay is uploaded in several)."""

BoundedList = Field(max_length=MAX_FEE_LINES)
