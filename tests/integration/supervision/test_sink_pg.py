"""The alerts sink on the real PostgreSQL: an alert is inserted once however often it is sent,
and a reversal of a settlement it cites is noted on it once (the alert is kept)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import asyncpg

from contracts.supervision import RuleKind, Severity, SupervisionAlert
from services.runtime.settings import Settings
from services.supervision.adapters import sink
from services.testing.scratch_db import fresh_database

PERSON = "330900:330900000000000001"


def _alert(alert_id: str, subject: str, setl_ids: tuple[str, ...]) -> SupervisionAlert:
    return SupervisionAlert(
        alert_id=alert_id, rule_id="SUP-FREQ-7D", rule_kind=RuleKind.FREQUENCY,
        rule_version="supervision-000000-0123456789abcdef", severity=Severity.SUSPICIOUS,
        subject_kind="person", subject=subject, admdvs="330900",
        window_start=dt.date(2026, 10, 6), window_end=dt.date(2026, 10, 12),
        setl_ids=setl_ids, mdtrt_ids=("M1", "M2", "M3"), fixmedins_codes=("H33090200001",),
        amount=Decimal("300.00"), detail="4 settlements in 7 days > 3",
    )  # fmt: skip


async def test_a_reversal_is_noted_once_on_the_alerts_that_cite_it(settings: Settings) -> None:
    async with fresh_database(settings) as url:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        try:
            cites = _alert("A" + "1" * 32, PERSON, ("S1", "S2", "S3", "S4"))
            other = _alert("A" + "2" * 32, PERSON, ("S5", "S6", "S7", "S8"))
            stranger = _alert("A" + "3" * 32, "330900:330900000000000002", ("S1",))
            await sink.insert(pool, [cites, other, stranger])
            await sink.insert(pool, [cites])  # a resend after a crash: nothing new
            assert await sink.note_reversal(pool, PERSON, "S2") == 1
            assert await sink.note_reversal(pool, PERSON, "S2") == 0  # redelivered: once
            assert await sink.note_reversal(pool, PERSON, "S9") == 0  # cited by no alert
            rows = await pool.fetch("SELECT alert_id, reversed_setl_ids FROM alerts ORDER BY 1")
        finally:
            await pool.close()
    assert [(r["alert_id"], r["reversed_setl_ids"]) for r in rows] == [
        (cites.alert_id, ["S2"]), (other.alert_id, []), (stranger.alert_id, []),
    ]  # fmt: skip
