"""The alert id: a hash of rule id and version, subject and window.

Why derived, not random: the same log replayed, or re-read after a crash,
yields the same ids, so the topic's consumers and the ``alerts`` table
(``ON CONFLICT DO NOTHING``) see each alert once.
"""

from __future__ import annotations

import datetime as dt
import hashlib


def alert_id(
    rule_id: str, rule_version: str, subject: str, window_start: dt.date, window_end: dt.date
) -> str:
    text = "|".join(
        (rule_id, rule_version, subject, window_start.isoformat(), window_end.isoformat())
    )
    return "A" + hashlib.sha256(text.encode()).hexdigest()[:32]
