"""Deterministic demo keys for golden examples, tests and the local simulator.

Derived from the sender id, so anyone can recompute them: never use them
outside a local or test environment (real keys come from ``yidi keys gen``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable

from events.signing import Key, KeyRegistry

DEMO_NOT_BEFORE = dt.datetime(2020, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def demo_key(sender: str) -> Key:
    secret = hashlib.sha256(b"yidi-demo-key:" + sender.encode()).digest()
    return Key(f"demo-{sender}", sender, secret, DEMO_NOT_BEFORE)


def demo_registry(senders: Iterable[str]) -> KeyRegistry:
    return KeyRegistry([demo_key(s) for s in sorted(set(senders))])
