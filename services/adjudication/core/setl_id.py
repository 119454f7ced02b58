"""Deterministic settlement ids.

Why derived and not random: reprocessing the same request (a redelivery, a
replay after a crash) must yield the same ``setl_id`` so the ledger's primary
key turns it into a no-op. A hospital's own id (``medins_setl_id``) is unique
per institution, so (institution, hospital id) identifies the settlement.
"""

from __future__ import annotations

import hashlib


def derive_setl_id(fixmedins_code: str, medins_setl_id: str) -> str:
    """``S`` + 24 hex of SHA-256 over the institution and its settlement id."""
    digest = hashlib.sha256(f"{fixmedins_code}|{medins_setl_id}".encode()).hexdigest()
    return "S" + digest[:24].upper()


def derive_reversal_id(setl_id: str) -> str:
    """A settlement is reversed at most once, so its reversal id derives from it."""
    return "R" + hashlib.sha256(f"reversal|{setl_id}".encode()).hexdigest()[:24].upper()
