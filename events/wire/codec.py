"""bytes <-> contracts: decode (key, value, headers) into a typed message or a typed error;
encode a message into canonical bytes with its envelope and MAC.

Canonical encoding: JSON with sorted keys, no insignificant whitespace, money
as two-place strings, times as ISO 8601 with offset. The same message always
gives the same bytes; MACs and replay hashes depend on it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from contracts.common import Contract, plausible
from contracts.registry import AGENCY_SIGNED, MESSAGE_TYPES, SENDER_SIGNED
from events.catalog import INPUT_TOPICS
from events.wire import agency_signing
from events.wire.agency_signing import AgencyKeys, SigningKeys
from events.wire.envelope import (
    SENDER_PREFIX,
    Envelope,
    build_headers,
    read_envelope,
    sender_kind,
    signed_envelope,
    source_for,
    split_type,
)
from events.wire.errors import (
    DecodeError,
    EnvelopeError,
    IdentityMismatch,
    KeyMismatch,
    KeyMissing,
    MalformedMessage,
    UnknownType,
    UnsupportedVersion,
    WrongTopic,
)
from events.wire.masking import mask_text
from events.wire.refusals import translate as _translate
from events.wire.signing import KeyRegistry, compute_mac
from events.wire.strict_json import read_json, read_prepared

MAX_MESSAGE_BYTES = 1_000_000
KNOWN_MINOR = 0
_BASE_MAJORS: dict[str, set[int]] = {}
for _t in MESSAGE_TYPES:
    _base, _major = split_type(_t)
    _BASE_MAJORS.setdefault(_base, set()).add(_major)

Prepare = Callable[[type[Contract], Any], Contract | None]
"""A consumer's own reading of a body the contract would accept: ``(model, parsed body)`` ->
a message, or ``None`` to validate with ``model`` as usual. It may only accept what the
contract accepts, with the same values, and must refuse nothing (``None`` instead): the
refusals stay the contract's. ``events/wire/fee_lines.py`` builds the ones in use."""


@dataclass(slots=True)  # a value: never mutated (not frozen: 0.74 -> 0.19 µs to build)
class Decoded:
    envelope: Envelope
    message: Contract
    sender_verified: bool
    when: dt.datetime | None = None
    """``envelope.ce_time`` as read (``datetime.fromisoformat``), kept so that what answers
    the message (an ack's ``acked_at``) does not parse it again."""
    key: bytes | None = None
    """``expected_key(message)``, which ``decode`` computed to check the record's key: a
    person-keyed task's row key, not built again."""


def canonical_bytes(message: Contract) -> bytes:
    return orjson.dumps(message.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)


_PROBED = ("psn_no", "insuplc_admdvs", "setlinfo", "fixmedins_code", "participant", "channel")
_ATTRS: dict[type[Contract], frozenset[str]] = {}


def _attrs(cls: type[Contract]) -> frozenset[str]:
    """Which of the probed names a contract class has. Why: ``getattr(message, name, None)``
    on a pydantic model that lacks ``name`` raises inside ``__getattr__`` first, several µs
    per miss, and the codec probes a few names on every message."""
    found = _ATTRS.get(cls)
    if found is None:
        found = _ATTRS[cls] = frozenset(
            n for n in _PROBED if n in cls.model_fields or hasattr(cls, n)
        )
    return found


def _field(message: Contract, name: str, has: frozenset[str]) -> Any:
    return getattr(message, name) if name in has else None


def expected_key(message: Contract) -> bytes | None:
    """The record key a message must travel under (person key on person-keyed topics)."""
    cls = type(message)
    if (field := cls.key_field) is not None:
        return str(getattr(message, field)).encode()
    has = _ATTRS.get(cls) or _attrs(cls)
    # ``_field`` written out (one call less per name, on every message)
    probed: Any = message
    psn_no = probed.psn_no if "psn_no" in has else None
    home = probed.insuplc_admdvs if "insuplc_admdvs" in has else None
    if psn_no is not None and home is not None:
        return f"{home}:{psn_no}".encode()
    setlinfo = _field(message, "setlinfo", has)
    if setlinfo is not None:
        return f"{message.insuplc_admdvs}:{setlinfo.psn_no}".encode()  # type: ignore[attr-defined]
    return None


class Codec:
    """Decode and encode with one key registry. Cheap to share; holds no connection.

    ``keys``: the senders' MAC keys. ``agency_keys``: the agencies' public keys that verify
    ``AGENCY_SIGNED`` types (sign-offs); ``signing_keys``: private keys to sign those, held
    only where an agency's own tools run (the CLI), never by a worker."""

    def __init__(
        self,
        keys: KeyRegistry | None = None,
        agency_keys: AgencyKeys | None = None,
        signing_keys: SigningKeys | None = None,
    ) -> None:
        self.keys = keys or KeyRegistry([])
        self.agency_keys = agency_keys or AgencyKeys([])
        self.signing_keys = signing_keys or SigningKeys([])

    def decode(
        self,
        key: bytes | None,
        value: bytes | None,
        headers: Any,
        *,
        authenticate: bool = True,
        topic: str | None = None,
        prepare: Prepare | None = None,
    ) -> Decoded:
        """A record as read from ``topic`` (its catalog entry's ``accepts``: ``E_WRONG_TOPIC``;
        a keyed message without a record key: ``E_KEY_MISSING``). Without ``topic`` (a body
        from a file, offline tools) neither rule applies and a missing key is not checked.
        ``prepare``: see ``Prepare`` (the envelope, MAC, topic, identity and key checks are
        the same either way)."""
        # ``parse_headers`` without its call: the signed shape first, else the general reading
        env = signed_envelope(headers) or read_envelope(headers or ())
        model = MESSAGE_TYPES.get(env.ce_type)
        if model is None:
            base, major = split_type(env.ce_type)
            if base in _BASE_MAJORS:
                raise UnsupportedVersion(
                    f"{base} v{major} is not supported (known: v{sorted(_BASE_MAJORS[base])})",
                    "ce_type",
                )
            raise UnknownType(f"unknown ce_type {env.ce_type}", "ce_type")
        if value is None or not value:
            raise MalformedMessage("empty body")
        if len(value) > MAX_MESSAGE_BYTES:
            raise MalformedMessage(f"body larger than {MAX_MESSAGE_BYTES} bytes")
        if not value.isascii():  # ASCII is UTF-8: no text object built for the check
            try:
                value.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise MalformedMessage(
                    f"body is not UTF-8 (byte {exc.start})", code="E_ENCODING"
                ) from None
        when = _parse_time(env.ce_time)
        verified = False
        if authenticate and env.ce_type in SENDER_SIGNED:
            if env.ce_type in AGENCY_SIGNED:
                self.agency_keys.verify(env, value, when)
            else:
                self.keys.verify(env, value, when)
            verified = True
        try:
            if topic is not None and (topic, env.ce_type, env.ce_source) not in _TOPIC_PASSED:
                _check_topic(topic, env)  # only what it has not let through yet
            doc, message = read_prepared(value, prepare, model)
            if message is None:
                try:  # ``_validate``'s first line, without its call
                    message = model.__pydantic_validator__.validate_json(value)
                except ValidationError:
                    message = self._validate(model, value, env, doc)
            if verified:
                _check_identity(env, message)
            if (want := expected_key(message)) is not None:
                if not key:
                    if topic is not None:
                        raise KeyMissing(f"a {topic} record needs its key", "key")
                elif key != want:
                    raise KeyMismatch("record key differs from the body's person key", "key")
        except DecodeError as err:
            err.authentic_sender = env.sender if verified else None
            _mask(err)
            raise
        return Decoded(env, message, verified, when, want)

    def validate_body(self, ce_type: str, value: bytes) -> Contract:
        """Body-only validation (no envelope): what ``yidi contracts check`` does for a bare body."""
        model = MESSAGE_TYPES.get(ce_type)
        if model is None:
            raise UnknownType(f"unknown type {ce_type}", "type")
        doc = read_json(value)
        return self._validate(model, value, Envelope("-", ce_type, "-", "-"), doc)

    def _validate(self, model: type[Contract], value: bytes, env: Envelope, data: Any) -> Contract:
        """``value`` as ``model``; ``data`` is the same body already read by ``read_json``
        (so the validator never sees a body the strict reading refuses)."""
        try:
            # ``model_validate_json`` without its Python wrapper (argument checks): the same call
            validated: Contract = model.__pydantic_validator__.validate_json(value)
            return validated
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_input=False)
            newer = env.minor > KNOWN_MINOR
            if (
                newer
                and isinstance(data, dict)
                and all(e["type"] == "extra_forbidden" and len(e["loc"]) == 1 for e in errors)
            ):
                known = {k: v for k, v in data.items() if k in model.model_fields}
                try:
                    return model.model_validate(known)
                except ValidationError as inner:
                    raise _translate(inner) from None
            raise _translate(exc) from None

    def encode(
        self,
        message: Contract,
        *,
        ce_id: str,
        sender: str,
        ce_time: dt.datetime,
        traceparent: str | None = None,
        sign: bool = True,
    ) -> tuple[bytes | None, bytes, list[tuple[str, bytes]]]:
        """Key, canonical value and headers (with the sender's current MAC when ``sign``, or
        for an ``AGENCY_SIGNED`` type the agency's Ed25519 signature)."""
        value = canonical_bytes(message)
        env = Envelope(
            ce_id=ce_id,
            ce_type=message.ce_type,
            ce_source=source_for(sender),
            ce_time=ce_time.isoformat(),
            traceparent=traceparent,
        )
        if sign and env.ce_type in AGENCY_SIGNED:
            sk = self.signing_keys.current(sender, ce_time)
            env = env._replace(kid=sk.kid, sig=agency_signing.sign(sk, env, value))
        elif sign:
            k = self.keys.current(sender, ce_time)
            env = Envelope(
                env.ce_id, env.ce_type, env.ce_source, env.ce_time, traceparent,
                kid=k.kid, mac=compute_mac(k.secret, env, value),
            )  # fmt: skip
        return expected_key(message), value, build_headers(env)


def _parse_time(raw: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise EnvelopeError("ce_time is not an ISO 8601 timestamp", "ce_time") from None
    if when.tzinfo is None:
        raise EnvelopeError("ce_time must carry its UTC offset", "ce_time")
    if 1900 < when.year < 2199:  # ``plausible``'s own fast path (aware: checked above)
        return when
    try:
        plausible(when)
    except ValueError:
        raise EnvelopeError("ce_time is outside 1900-01-01 .. 2199-12-31", "ce_time") from None
    return when


def _mask(err: DecodeError) -> None:
    """A refusal's text and field path quote what the sender chose (an unknown field's name,
    a duplicated key): both reach the ack and the DLQ record, so both are masked."""
    err.message = mask_text(err.message)
    if err.field is not None:
        err.field = mask_text(err.field)


_TOPIC_PASSED: set[tuple[str, str, str]] = set()  # (topic, ce_type, ce_source) let through
_TOPIC_PASSED_MAX = 65_536


def _check_topic(topic: str, env: Envelope) -> None:
    """This type from this kind of sender on this topic, or ``WrongTopic`` (passes kept)."""
    if (passed := (topic, env.ce_type, env.ce_source)) in _TOPIC_PASSED:
        return
    spec = INPUT_TOPICS.get(topic)
    if spec is None:
        return
    senders = spec.accepted_senders(env.ce_type)
    if senders is None:
        raise WrongTopic(f"{env.ce_type} is not carried by {topic}", "ce_type")
    sender = env.sender
    if sender not in senders and sender_kind(sender) not in senders:
        raise WrongTopic(
            f"{env.ce_type} on {topic} is not taken from a {sender_kind(sender)} sender",
            "ce_source",
        )
    if len(_TOPIC_PASSED) >= _TOPIC_PASSED_MAX:
        _TOPIC_PASSED.clear()
    _TOPIC_PASSED.add(passed)


def _check_identity(env: Envelope, message: Contract) -> None:
    """An authentic sender may only speak for itself."""
    sender = env.ce_source.removeprefix(SENDER_PREFIX)  # ``env.sender``, without its call
    has = _ATTRS.get(type(message)) or _attrs(type(message))
    probed: Any = message
    code = probed.fixmedins_code if "fixmedins_code" in has else None
    if code is not None and code != sender:
        raise IdentityMismatch(
            f"sender {sender} signed a message for institution {code}", "fixmedins_code"
        )
    if code is None and sender.startswith("AG"):
        field = "insuplc_admdvs" if "insuplc_admdvs" in has else "participant"
        home = _field(message, field, has)
        if home is not None and sender != f"AG{home}":
            raise IdentityMismatch(f"agency {sender} sent a message for region {home}", field)
    if code is None and not sender.startswith("AG"):
        channel = _field(message, "channel", has)
        if channel != "hospital":
            raise IdentityMismatch(
                f"institution {sender} may only register filings through the hospital channel",
                "channel",
            )
