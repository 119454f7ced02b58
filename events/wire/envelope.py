"""The CloudEvents Kafka binding (binary mode): attributes as ``ce_*`` headers.

Why hand-rolled and not the ``cloudevents`` SDK: the hot path needs only
header bytes <-> a small frozen record, and the SDK's event objects cost more
than the whole contract validation; the header names and semantics are the
binding's exactly (``ce_specversion`` "1.0", ``ce_id``, ``ce_type``,
``ce_source``, ``ce_time``, ``content-type``), plus W3C ``traceparent`` and
the signature headers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any, Literal, NamedTuple

from events.wire.errors import EnvelopeError

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
SIG_KID = "yidi_kid"
SIG_MAC = "yidi_mac"
SIG_SIGNATURE = "yidi_sig"
"""An agency's Ed25519 signature (events/wire/agency_signing.py): sign-offs, not the MAC."""
DATASCHEMA = "ce_dataschema"
SENDER_PREFIX = "urn:yidi:sender:"

_TYPE = re.compile(r"^(cn\.yidi\.[a-z_]+\.[a-z_]+)\.v(\d{1,3})$")
_SENDER = re.compile(r"^(?:[A-Z]\d{11}|AG\d{6}|yidi-[a-z]+)$")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
MAX_HEADER = 256


class Envelope(NamedTuple):
    """The decoded headers. A named tuple: built once per message on the hot path, where a
    frozen dataclass's ``__init__`` alone costs about a microsecond more."""

    ce_id: str
    ce_type: str
    ce_source: str
    ce_time: str
    traceparent: str | None = None
    kid: str | None = None
    mac: str | None = None
    minor: int = 0
    sig: str | None = None

    @property
    def sender(self) -> str:
        return self.ce_source.removeprefix(SENDER_PREFIX)

    @property
    def base_type(self) -> str:
        return split_type(self.ce_type)[0]

    @property
    def major(self) -> int:
        return split_type(self.ce_type)[1]


@lru_cache(maxsize=256)
def split_type(ce_type: str) -> tuple[str, int]:
    match = _TYPE.match(ce_type)
    if match is None:
        raise EnvelopeError(
            f"ce_type {ce_type!r} is not cn.yidi.<family>.<name>.v<major>", "ce_type"
        )
    return match.group(1), int(match.group(2))


@lru_cache(maxsize=4096)
def _valid_source(source: str) -> bool:
    return source.startswith(SENDER_PREFIX) and bool(_SENDER.match(source[len(SENDER_PREFIX) :]))


SenderKind = Literal["institution", "agency", "processor"]


def sender_kind(sender: str) -> SenderKind:
    """What a (well-formed) sender id names: a designated institution (hospital or pharmacy,
    ``H31010400001``), a home-region agency (``AG330900``) or a yidi processor."""
    if sender.startswith("AG"):
        return "agency"
    if sender.startswith("yidi-"):
        return "processor"
    return "institution"


def source_for(sender: str) -> str:
    if not _SENDER.match(sender):
        raise ValueError(f"not a sender id: {sender!r}")
    return SENDER_PREFIX + sender


ENVELOPE_HEADERS = frozenset(
    {"ce_specversion", "ce_id", "ce_type", "ce_source", "ce_time", DATASCHEMA, "content-type",
     "traceparent", SIG_KID, SIG_MAC, SIG_SIGNATURE}
)  # fmt: skip
"""The headers yidi reads. Any other header (a broker's, a tracer's, ``yidi_redrive``) is ignored
whatever its value: it changes nothing the processors decide."""


def envelope_headers(raw: Iterable[tuple[str, bytes | None]]) -> dict[str, str]:
    """The envelope's headers by name, read once: the one reading the processors and the DLQ
    tooling share (``yidi dlq list|show|redrive`` show what the processors read).

    Why refuse a repeated header: Kafka keeps every header a producer adds, and readers
    differ (a dict keeps the last, a scan finds the first); two ``ce_id`` or ``ce_source``
    would make the de-duplication key or the sender depend on who reads. Unknown headers
    are ignored, repeated or not; a known one must be ASCII, non-empty and at most
    ``MAX_HEADER`` bytes."""
    found: dict[str, str] = {}
    for name, value in raw:
        if name not in ENVELOPE_HEADERS:
            continue
        if name in found:
            raise EnvelopeError(f"header {name} appears more than once", name, "E_DUPLICATE_HEADER")
        if not value:
            raise EnvelopeError(f"header {name} is empty", name)
        if len(value) > MAX_HEADER:
            raise EnvelopeError(f"header {name} is longer than {MAX_HEADER} bytes", name)
        try:
            found[name] = value.decode("ascii")
        except (UnicodeDecodeError, AttributeError):
            raise EnvelopeError(f"header {name} is not ASCII", name) from None
    return found


_SIGNED = ("ce_specversion", "ce_id", "ce_type", "ce_source", "ce_time", "content-type", SIG_KID,
           SIG_MAC)  # fmt: skip
"""The headers of a sender's message as every yidi signer writes them, in their order."""
_SPECVERSION_BYTES = SPECVERSION.encode()
_CONTENT_TYPE_BYTES = CONTENT_TYPE.encode()
_ASCII_TEXT: Callable[[Any], str] = bytes.decode  # a TypeError for anything but ``bytes``


def signed_envelope(raw: Iterable[tuple[str, bytes | None]]) -> Envelope | None:
    """``parse_headers``' envelope for the one shape nearly every record has (``_SIGNED``'s
    eight headers in that order, nothing else), or ``None`` for any other shape or any value
    the general reading would have to look at (then it reads them, with its refusals).

    Why: the general reading checks each header by name in a loop and looks each attribute
    up again (2 µs a record); here the names are one tuple comparison, the two constant
    values two byte comparisons, and the six others one ASCII test and one length test.
    Exact: with these names there is no repeated, unknown or missing header, and every value
    is ``bytes``, ASCII, 1..``MAX_HEADER`` bytes long, so ``envelope_headers`` would read
    the same texts; the checks after it are the same ones."""
    if (type(raw) is not list and type(raw) is not tuple) or len(raw) != 8:
        return None
    try:
        (n0, spec), (n1, v1), (n2, v2), (n3, v3), (n4, v4), (n5, ctype), (n6, v6), (n7, v7) = raw
    except (TypeError, ValueError):
        return None
    if (n0, n1, n2, n3, n4, n5, n6, n7) != _SIGNED:
        return None
    if type(spec) is not bytes or spec != _SPECVERSION_BYTES:  # a memoryview compares equal
        return None
    if type(ctype) is not bytes or ctype != _CONTENT_TYPE_BYTES:
        return None
    try:
        ce_id, ce_type, ce_source, ce_time, kid, mac = texts = tuple(
            map(_ASCII_TEXT, (v1, v2, v3, v4, v6, v7))
        )
    except (TypeError, UnicodeDecodeError):
        return None
    if not "".join(texts).isascii() or "" in texts or max(map(len, texts)) > MAX_HEADER:
        return None
    if not _valid_source(ce_source):
        return None
    split_type(ce_type)
    # what ``Envelope(ce_id, ce_type, ce_source, ce_time, None, kid, mac)`` does (a named
    # tuple's ``__new__`` is a Python function around this call), one call less
    return tuple.__new__(Envelope, (ce_id, ce_type, ce_source, ce_time, None, kid, mac, 0, None))


def parse_headers(raw: Iterable[tuple[str, bytes | None]]) -> Envelope:
    """Headers -> Envelope, or ``EnvelopeError`` naming the header."""
    if (env := signed_envelope(raw)) is not None:
        return env
    return read_envelope(raw)


def read_envelope(raw: Iterable[tuple[str, bytes | None]]) -> Envelope:
    """``parse_headers`` for any shape: every header read by ``envelope_headers``."""
    h = envelope_headers(raw)
    get = h.get
    ce_id, ce_type = get("ce_id"), get("ce_type")
    ce_source, ce_time = get("ce_source"), get("ce_time")
    if get("ce_specversion") != SPECVERSION or not (ce_id and ce_type and ce_source and ce_time):
        for required in ("ce_specversion", "ce_id", "ce_type", "ce_source", "ce_time"):
            if not get(required):
                raise EnvelopeError(f"missing header {required}", required)
        raise EnvelopeError(f"ce_specversion must be {SPECVERSION}", "ce_specversion")
    if get("content-type", CONTENT_TYPE) != CONTENT_TYPE:
        raise EnvelopeError(f"content-type must be {CONTENT_TYPE}", "content-type")
    if not _valid_source(ce_source):
        raise EnvelopeError(
            "ce_source must be urn:yidi:sender:<institution or agency id>", "ce_source"
        )
    trace = get("traceparent")
    if trace is not None and not _TRACEPARENT.match(trace):
        raise EnvelopeError("traceparent is not W3C trace context", "traceparent")
    split_type(ce_type)
    minor = 0
    schema = get(DATASCHEMA)
    if schema is not None:
        try:
            minor = int(schema.rsplit(".", 1)[1])
        except (IndexError, ValueError):
            raise EnvelopeError("ce_dataschema must end in .<minor>", DATASCHEMA) from None
    return Envelope(
        ce_id, ce_type, ce_source, ce_time, trace, get(SIG_KID), get(SIG_MAC), minor,
        get(SIG_SIGNATURE),
    )  # fmt: skip


_SPECVERSION_HEADER = ("ce_specversion", SPECVERSION.encode())
_CONTENT_TYPE_HEADER = ("content-type", CONTENT_TYPE.encode())


def build_headers(env: Envelope) -> list[tuple[str, bytes]]:
    """The binding's headers in a fixed order (every output carries them: the constant
    pairs are built once; the tuples are immutable, so sharing them is safe)."""
    headers = [
        _SPECVERSION_HEADER,
        ("ce_id", env.ce_id.encode()),
        ("ce_type", env.ce_type.encode()),
        ("ce_source", env.ce_source.encode()),
        ("ce_time", env.ce_time.encode()),
        _CONTENT_TYPE_HEADER,
    ]
    if env.traceparent:
        headers.append(("traceparent", env.traceparent.encode()))
    if env.kid and env.mac:
        headers += [(SIG_KID, env.kid.encode()), (SIG_MAC, env.mac.encode())]
    elif env.kid and env.sig:
        headers += [(SIG_KID, env.kid.encode()), (SIG_SIGNATURE, env.sig.encode())]
    return headers


@lru_cache(maxsize=1024)
def _pair(name: str, value: str) -> tuple[str, bytes]:
    return (name, value.encode())


def plain_headers(
    ce_id: str, ce_type: str, ce_source: str, ce_time: str
) -> list[tuple[str, bytes]]:
    """``build_headers`` of an envelope with only these four attributes (no trace, no MAC:
    what a processor's outputs carry), with the pairs of its few types and one source
    encoded once (``test_envelope.py`` holds it to ``build_headers``)."""
    return [
        _SPECVERSION_HEADER,
        ("ce_id", ce_id.encode()),
        _pair("ce_type", ce_type),
        _pair("ce_source", ce_source),
        ("ce_time", ce_time.encode()),
        _CONTENT_TYPE_HEADER,
    ]
