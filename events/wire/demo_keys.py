"""Deterministic demo keys for golden examples, tests and the local simulator.

Derived from the sender id, so anyone can recompute them: never use them
outside a local or test environment (real keys come from ``yidi keys gen`` and
``yidi keys gen-agency``). The same holds for the agencies' Ed25519 demo keys: their
private half is public knowledge here, so a demo sign-off proves nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable

from events.wire.agency_signing import AgencyKeys, SigningKey, SigningKeys
from events.wire.codec import Codec
from events.wire.signing import Key, KeyRegistry

DEMO_NOT_BEFORE = dt.datetime(2020, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def demo_key(sender: str) -> Key:
    secret = hashlib.sha256(b"yidi-demo-key:" + sender.encode()).digest()
    return Key(f"demo-{sender}", sender, secret, DEMO_NOT_BEFORE)


def demo_registry(senders: Iterable[str]) -> KeyRegistry:
    return KeyRegistry([demo_key(s) for s in sorted(set(senders))])


def demo_signing_key(agency: str) -> SigningKey:
    """An agency's Ed25519 demo key; its seed differs from the MAC demo secret's derivation."""
    seed = hashlib.sha256(b"yidi-demo-ed25519:" + agency.encode()).digest()
    return SigningKey(f"demo-ed25519-{agency}", agency, seed, DEMO_NOT_BEFORE)


def _agencies(senders: Iterable[str]) -> list[str]:
    return sorted({s for s in senders if s.startswith("AG")})


def demo_signing_keys(senders: Iterable[str]) -> SigningKeys:
    return SigningKeys([demo_signing_key(a) for a in _agencies(senders)])


def demo_agency_keys(senders: Iterable[str]) -> AgencyKeys:
    """The public halves: what the platform holds."""
    return AgencyKeys([demo_signing_key(a).public_key() for a in _agencies(senders)])


def demo_codec(senders: Iterable[str]) -> Codec:
    """A codec with every demo key of ``senders``: MACs, agencies' public and private keys."""
    senders = sorted(set(senders))
    return Codec(demo_registry(senders), demo_agency_keys(senders), demo_signing_keys(senders))
