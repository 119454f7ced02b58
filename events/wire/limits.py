"""Values taken from an input and written into an outcome (an ack, a DLQ record) must fit the
outcome's contract whatever the input held: an outcome that fails its own validation is no
outcome at all, and the record it answers would be read again and again.

``fit`` keeps a value that fits unchanged and otherwise cuts it, ending it in a digest of the
whole value, so two long values that differ only at the end still read differently and the
same input always gives the same bytes (outputs must be deterministic).
"""

from __future__ import annotations

import hashlib

MAX_SHORT_TEXT = 200
"""``contracts.common.ShortText``: an ack's ``ack_for``, ``ack_for_type``, error ``field``."""
MAX_LONG_TEXT = 2000
"""``contracts.common.LongText``: an ack's error message."""
DIGEST_CHARS = 16
_MARK = "~#"


def fit(text: str, limit: int) -> str:
    """``text`` when it has at most ``limit`` characters, else a prefix + ``~#`` + 16 hex digits
    of the SHA-256 of the whole (exactly ``limit`` characters)."""
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:DIGEST_CHARS]
    keep = max(limit - len(_MARK) - DIGEST_CHARS, 0)
    return (text[:keep] + _MARK + digest)[:limit]


def ack_ref(ce_id: str) -> str:
    """The ``ack_for`` an ack of the message ``ce_id`` carries: every ack builder writes it and
    every ack reader (the SDK, the simulator) looks it up this way, so a ``ce_id`` longer than
    the ack contract allows is still matched to its ack."""
    return fit(ce_id, MAX_SHORT_TEXT)


def fit_optional(text: str | None, limit: int) -> str | None:
    return None if text is None else fit(text, limit)
