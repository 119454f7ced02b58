"""Masking of personal data: what reaches a log line, a DLQ record or an ops view.

Why here (the events layer) and not only in the logging set-up: dead-letter records are
built in ``events/`` (``events/dlq.py``) and their reasons quote what a sender chose —
field names included — so the same rules must apply where they are made; the structlog
processor (``services/runtime/masking.py``) uses these functions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PERSONAL_KEYS = frozenset(
    {
        "certno",
        "mdtrt_cert_no",
        "psn_name",
        "name",
        "tel",
        "phone",
        "mob",
        "mobile",
        "emp_name",
        "addr",
        "card_sn",
        "cert_no",
        "id_number",
    }
)

_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_MAX_DEPTH = 8


def mask_value(value: str) -> str:
    """Keep just enough to correlate (first and last characters), hide the rest."""
    if len(value) <= 2:
        return "*" * len(value)
    if len(value) <= 6:
        return value[0] + "*" * (len(value) - 1)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_text(text: str) -> str:
    """Mask resident ID numbers and mainland mobile numbers inside free text."""
    text = _RESIDENT_ID.sub(lambda m: m.group(1) + "********" + "*" * 3 + m.group(2)[-1], text)
    return _MOBILE.sub(lambda m: m.group(1) + "****" + m.group(2), text)


def mask_any(value: Any, key: str | None = None, depth: int = 0) -> Any:
    """Return ``value`` with personal data masked; containers are copied, never mutated.
    Keys are masked too: a sender chooses field names, and an ID number can be one."""
    if depth > _MAX_DEPTH:
        return "<nested too deep>"
    if key is not None and key.lower() in PERSONAL_KEYS and value is not None:
        return mask_value(str(value))
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {mask_text(str(k)): mask_any(v, str(k), depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_any(v, None, depth + 1) for v in value]
    return value
