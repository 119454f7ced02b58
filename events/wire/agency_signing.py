"""Agency-signed commands: Ed25519 signatures that only the agency can make.

Why not the MAC: a MAC key is a shared secret, so the platform (the hub) holds every
agency's MAC key and could make a confirmation that no agency sent; a province could
then deny its sign-off. Clearing confirmations, period commands (and, later, audit
deductions) are signed with the agency's private key; the platform holds only public
keys, so a valid signature proves the agency made the message (non-repudiation).

Wire: ``yidi_kid`` names the public key, ``yidi_sig`` is base64url(Ed25519 signature)
over the same bytes the MAC covers (``ce_id``, ``ce_type``, ``ce_source``, ``ce_time``,
the canonical body). Keys rotate as MAC keys do: an agency may register several public
keys, each valid in a window; the verifier accepts any key of that agency valid at
``ce_time``; the signer uses its newest.

Refusals (``AuthenticationError``, stable codes; a DLQ record, no ack: the sender is not
authentic): ``E_AUTH_SIGNATURE_REQUIRED`` (no ``yidi_sig``: a MAC, the hub's own material,
is not accepted on these types), ``E_AUTH`` (unknown key id, key not valid at ``ce_time``),
``E_AUTH_FOREIGN`` (the key belongs to another agency), ``E_AUTH_SIGNATURE`` (the
signature does not verify: altered after signing, or made with another key).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from events.wire.envelope import Envelope
from events.wire.errors import AuthenticationError
from events.wire.signing import mac_input


@dataclass(frozen=True, slots=True)
class PublicKey:
    """One registered agency public key (what the platform holds)."""

    kid: str
    sender: str
    public: bytes
    not_before: dt.datetime
    not_after: dt.datetime | None = None

    def valid_at(self, when: dt.datetime) -> bool:
        return self.not_before <= when and (self.not_after is None or when < self.not_after)


@dataclass(frozen=True, slots=True)
class SigningKey:
    """An agency's private key (what only the agency holds): the 32-byte Ed25519 seed."""

    kid: str
    sender: str
    seed: bytes
    not_before: dt.datetime
    not_after: dt.datetime | None = None

    def valid_at(self, when: dt.datetime) -> bool:
        return self.not_before <= when and (self.not_after is None or when < self.not_after)

    def public_key(self) -> PublicKey:
        raw = Ed25519PrivateKey.from_private_bytes(self.seed).public_key().public_bytes_raw()
        return PublicKey(self.kid, self.sender, raw, self.not_before, self.not_after)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: SigningKey, env: Envelope, value: bytes) -> str:
    """The ``yidi_sig`` header of a message (Ed25519 is deterministic: same input, same sig)."""
    return _b64url(Ed25519PrivateKey.from_private_bytes(key.seed).sign(mac_input(env, value)))


class AgencyKeys:
    """Agencies' public keys by id: what the platform verifies sign-offs with (a JSON file)."""

    def __init__(self, keys: list[PublicKey]) -> None:
        self._by_kid = {k.kid: k for k in keys}
        for k in keys:
            Ed25519PublicKey.from_public_bytes(k.public)  # a malformed key fails at load

    @classmethod
    def load(cls, path: Path) -> AgencyKeys:
        if not path.exists():
            return cls([])
        data = json.loads(path.read_text("utf-8"))
        return cls([_public_from_json(k) for k in data.get("keys", [])])

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        keys = sorted(self._by_kid.values(), key=lambda k: k.kid)
        path.write_text(json.dumps({"keys": [_public_to_json(k) for k in keys]}, indent=2) + "\n")

    def add(self, key: PublicKey) -> None:
        if key.kid in self._by_kid:
            raise ValueError(f"key id {key.kid} exists")
        Ed25519PublicKey.from_public_bytes(key.public)
        self._by_kid[key.kid] = key

    def get(self, kid: str) -> PublicKey | None:
        return self._by_kid.get(kid)

    def verify(self, env: Envelope, value: bytes, when: dt.datetime) -> PublicKey:
        """The agency key that signed this message, or ``AuthenticationError``."""
        if not env.sig:
            raise AuthenticationError(
                f"{env.ce_type} must be signed by the agency (yidi_sig); a MAC is not accepted",
                "yidi_sig", code="E_AUTH_SIGNATURE_REQUIRED",
            )  # fmt: skip
        if not env.kid:
            raise AuthenticationError("signed message without yidi_kid", "yidi_kid")
        key = self._by_kid.get(env.kid)
        if key is None:
            raise AuthenticationError(f"unknown agency key id {env.kid}", "yidi_kid")
        if key.sender != env.sender:
            raise AuthenticationError(
                f"key {env.kid} belongs to another sender than ce_source", "yidi_kid",
                code="E_AUTH_FOREIGN",
            )  # fmt: skip
        if not key.valid_at(when):
            raise AuthenticationError(f"key {env.kid} is not valid at ce_time", "yidi_kid")
        try:
            # built per call (a few µs): the registry stays plain data, so a codec holding it
            # pickles into the rebuild worker processes (services/ops/trusted_rebuild.py)
            public = Ed25519PublicKey.from_public_bytes(key.public)
            public.verify(_unb64url(env.sig), mac_input(env, value))
        except (InvalidSignature, binascii.Error, ValueError):
            raise AuthenticationError(
                "signature does not match the message", "yidi_sig", code="E_AUTH_SIGNATURE"
            ) from None
        return key


class SigningKeys:
    """An agency's private keys (only on the agency's side: the CLI that sends sign-offs)."""

    def __init__(self, keys: list[SigningKey]) -> None:
        self._keys = list(keys)

    @classmethod
    def load(cls, path: Path) -> SigningKeys:
        data = json.loads(path.read_text("utf-8"))
        return cls([_signing_from_json(k) for k in data.get("keys", [])])

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {"keys": [_signing_to_json(k) for k in sorted(self._keys, key=lambda k: k.kid)]}
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_text(json.dumps(body, indent=2) + "\n", "utf-8")

    def add(self, key: SigningKey) -> None:
        self._keys.append(key)

    def current(self, sender: str, when: dt.datetime) -> SigningKey:
        """The newest key of ``sender`` valid at ``when``."""
        valid = [k for k in self._keys if k.sender == sender and k.valid_at(when)]
        if not valid:
            raise LookupError(f"no signing key for {sender} (agency private keys)")
        return max(valid, key=lambda k: (k.not_before, k.kid))


def generate_signing_key(
    sender: str, not_before: dt.datetime, kid: str | None = None
) -> SigningKey:
    seed = Ed25519PrivateKey.generate().private_bytes_raw()
    kid = kid or f"{sender}-ed25519-{not_before:%Y%m%d}-{secrets.token_hex(3)}"
    return SigningKey(kid, sender, seed, not_before)


def _window(raw: dict[str, str | None]) -> tuple[dt.datetime, dt.datetime | None]:
    after = raw.get("not_after")
    return (
        dt.datetime.fromisoformat(str(raw["not_before"])),
        dt.datetime.fromisoformat(after) if after else None,
    )


def _public_from_json(raw: dict[str, str | None]) -> PublicKey:
    nb, na = _window(raw)
    return PublicKey(str(raw["kid"]), str(raw["sender"]), _unb64url(str(raw["public_key"])), nb, na)


def _public_to_json(key: PublicKey) -> dict[str, str | None]:
    return {
        "kid": key.kid, "sender": key.sender, "algorithm": "Ed25519",
        "public_key": _b64url(key.public), "not_before": key.not_before.isoformat(),
        "not_after": key.not_after.isoformat() if key.not_after else None,
    }  # fmt: skip


def _signing_from_json(raw: dict[str, str | None]) -> SigningKey:
    nb, na = _window(raw)
    return SigningKey(str(raw["kid"]), str(raw["sender"]), _unb64url(str(raw["seed"])), nb, na)


def _signing_to_json(key: SigningKey) -> dict[str, str | None]:
    return {
        "kid": key.kid, "sender": key.sender, "algorithm": "Ed25519", "seed": _b64url(key.seed),
        "not_before": key.not_before.isoformat(),
        "not_after": key.not_after.isoformat() if key.not_after else None,
    }  # fmt: skip
