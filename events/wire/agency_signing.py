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
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from events.wire.envelope import Envelope
from events.wire.errors import AuthenticationError
from events.wire.keyring import Json, KeyFile, window, window_json
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


def _public_from_json(raw: Json) -> PublicKey:
    nb, na = window(raw)
    return PublicKey(str(raw["kid"]), str(raw["sender"]), _unb64url(str(raw["public_key"])), nb, na)


def _public_to_json(key: PublicKey) -> Json:
    return {
        "kid": key.kid, "sender": key.sender, "algorithm": "Ed25519",
        "public_key": _b64url(key.public), **window_json(key),
    }  # fmt: skip


def _signing_from_json(raw: Json) -> SigningKey:
    nb, na = window(raw)
    return SigningKey(str(raw["kid"]), str(raw["sender"]), _unb64url(str(raw["seed"])), nb, na)


def _signing_to_json(key: SigningKey) -> Json:
    return {
        "kid": key.kid, "sender": key.sender, "algorithm": "Ed25519", "seed": _b64url(key.seed),
        **window_json(key),
    }  # fmt: skip


class AgencyKeys(KeyFile[PublicKey]):
    """Agencies' public keys by id: what the platform verifies sign-offs with (a JSON file).
    Rotation, the file and the checks before the signature: ``keyring.KeyFile``."""

    from_json = staticmethod(_public_from_json)
    to_json = staticmethod(_public_to_json)
    secret = False
    what = "agency key"

    def check(self, key: PublicKey) -> None:
        Ed25519PublicKey.from_public_bytes(key.public)  # a malformed key fails at load

    def verify(self, env: Envelope, value: bytes, when: dt.datetime) -> PublicKey:
        """The agency key that signed this message, or ``AuthenticationError``."""
        if not env.sig:
            raise AuthenticationError(
                f"{env.ce_type} must be signed by the agency (yidi_sig); a MAC is not accepted",
                "yidi_sig", code="E_AUTH_SIGNATURE_REQUIRED",
            )  # fmt: skip
        if not env.kid:
            raise AuthenticationError("signed message without yidi_kid", "yidi_kid")
        key = self.sender_key(env, when)
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


class SigningKeys(KeyFile[SigningKey]):
    """An agency's private keys (only on the agency's side: the CLI that sends sign-offs)."""

    from_json = staticmethod(_signing_from_json)
    to_json = staticmethod(_signing_to_json)
    what = "signing key (agency private keys)"

    @classmethod
    def load(cls, path: Path) -> Self:
        """A configured file that is missing is an error: the keys are the agency's own."""
        if not path.exists():
            raise FileNotFoundError(f"agency private keys: {path}")
        return super().load(path)


def generate_signing_key(
    sender: str, not_before: dt.datetime, kid: str | None = None
) -> SigningKey:
    seed = Ed25519PrivateKey.generate().private_bytes_raw()
    kid = kid or f"{sender}-ed25519-{not_before:%Y%m%d}-{secrets.token_hex(3)}"
    return SigningKey(kid, sender, seed, not_before)
