"""Masking of personal data before anything reaches a log line.

Why a processor and not discipline: a log call far from the contract code
(an error path, a debug dump of a message) is exactly where an ID number
leaks. The processor walks the whole event dict, masks values of personal
keys, and also scans free text for resident ID and mobile numbers. The rules
themselves live in ``events/wire/masking.py`` (DLQ records are built there too).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from events.wire.masking import PERSONAL_KEYS, mask_any, mask_text, mask_value

__all__ = ["PERSONAL_KEYS", "mask_any", "mask_personal_data", "mask_text", "mask_value"]


def mask_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask every personal value anywhere in the event dict."""
    for key in list(event_dict):
        event_dict[key] = mask_any(event_dict[key], key)
    return event_dict
