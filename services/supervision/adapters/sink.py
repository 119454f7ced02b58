"""Alerts out: the ``alerts`` table (idempotent by ``alert_id``) and their record on
``yidi.supervision.v1`` (encoded once, by the codec, with a ce_id equal to the alert id).

Why the ce_id is the alert id: a re-sent alert after a crash carries the same ce_id,
so a consumer deduplicates it the way every yidi consumer does.
"""

from __future__ import annotations

import datetime as dt

import asyncpg

from contracts.supervision import SupervisionAlert
from events import catalog
from events.wire.codec import Codec

SENDER = catalog.SUPERVISION_ID

INSERT = """
INSERT INTO alerts (alert_id, rule_id, rule_kind, rule_version, severity, subject_kind, subject,
                    admdvs, window_start, window_end, setl_ids, mdtrt_ids, fixmedins_codes,
                    amount, detail)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
ON CONFLICT (alert_id) DO NOTHING
"""


REVERSED = """
UPDATE alerts SET reversed_setl_ids = array_append(reversed_setl_ids, $2)
WHERE subject = $1 AND $2 = ANY(setl_ids) AND NOT ($2 = ANY(reversed_setl_ids))
"""


async def note_reversal(pool: asyncpg.Pool, subject: str, setl_id: str) -> int:
    """Mark the reversed settlement on every alert of ``subject`` that cites it (once each:
    a redelivered or replayed reversal changes nothing); how many alerts it marked.
    Alerts are kept (migration 0012 says why)."""
    status = await pool.execute(REVERSED, subject, setl_id)
    return int(status.rsplit(" ", 1)[-1])


def row(a: SupervisionAlert) -> tuple[object, ...]:
    return (
        a.alert_id, a.rule_id, str(a.rule_kind), a.rule_version, str(a.severity), a.subject_kind,
        a.subject, a.admdvs, a.window_start, a.window_end, list(a.setl_ids), list(a.mdtrt_ids),
        list(a.fixmedins_codes), a.amount, a.detail,
    )  # fmt: skip


async def insert(pool: asyncpg.Pool, alerts: list[SupervisionAlert]) -> None:
    if alerts:
        await pool.executemany(INSERT, [row(a) for a in alerts])


def encode(
    codec: Codec, alert: SupervisionAlert
) -> tuple[bytes | None, bytes, list[tuple[str, bytes]]]:
    """Key (the subject), canonical value and headers; ce_time is the window's end (business
    time, so a replay encodes the same bytes)."""
    when = dt.datetime.combine(
        alert.window_end, dt.time(0), tzinfo=dt.timezone(dt.timedelta(hours=8))
    )
    return codec.encode(alert, ce_id=alert.alert_id, sender=SENDER, ce_time=when, sign=False)
