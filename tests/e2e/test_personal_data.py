"""Personal data stays out of logs and dead-letter reasons (issue 17, docs/security.md).

A simulated day (filings with ID numbers, visits with ``mdtrt_cert_no``, 3 % bad input of
every class, among them an ID number used as a field *name*) goes through the live workers
(``yidi worker all``, JSON logs at info, the level the workers run at). Then every log line
the workers wrote and every DLQ record of the run are scanned for: each ID number the
simulator generated, any 18-digit resident ID number (GB 11643 shape), and any mainland
mobile number. All must be zero. The simulator generates no names or phone numbers (no
contract carries either), so for those the scan is the mobile-number pattern and the
personal field names of ``events.wire.masking.PERSONAL_KEYS`` with a value beside them.

What a DLQ record keeps on purpose: the original bytes (``value_b64``), so that ops can
re-drive it once fixed; those hold the ID numbers of a filing. They are base64 in the
record and readable only by ops (docs/security.md, "Personal data"); the test decodes them
to prove the scan would see an ID number there, so a zero elsewhere is not a blind scan.
"""

from __future__ import annotations

import base64
import json
import os
import re
import uuid
from pathlib import Path

from contracts.dlq import DlqRecord
from events.dlq import DLQ_TOPIC
from events.wire.masking import PERSONAL_KEYS
from services.entry.bootstrap import build_runtime
from services.runtime.settings import Settings
from services.tools.simulator.bad import ID_NUMBER, kinds_named
from services.tools.simulator.plan import Mix
from services.tools.simulator.run import plan_messages, publish, wait_consumed
from tests.e2e.conftest import Workers
from tests.e2e.test_bad_input import _dlq_since, _ends

REFERENCE = Path(__file__).resolve().parents[2] / "deploy" / "reference"
VISITS = int(os.environ.get("YIDI_PERSONAL_DATA_VISITS", "300"))
RESIDENT_ID = re.compile(rb"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
MOBILE = re.compile(rb"(?<!\d)1[3-9]\d{9}(?!\d)")
PERSONAL_VALUE = re.compile(
    rb'"(' + b"|".join(k.encode() for k in sorted(PERSONAL_KEYS)) + rb')"\s*:\s*"([^"*]{3,})"'
)
"""A personal field name with an unmasked value beside it (a masked one has ``*``)."""


def _leaks(blob: bytes, ids: set[bytes]) -> list[str]:
    found = [f"ID {m.group()[:6].decode()}…" for m in RESIDENT_ID.finditer(blob)]
    found += [f"mobile {m.group()[:3].decode()}…" for m in MOBILE.finditer(blob)]
    found += [f"{m.group(1).decode()}=<value>" for m in PERSONAL_VALUE.finditer(blob)]
    found += [f"generated ID {i[:6].decode()}…" for i in ids if i in blob]
    return found


def _reasons(record: DlqRecord) -> bytes:
    """Everything of a DLQ record except the original bytes kept for re-drive (key, value,
    header values): reason, field, stage, source, header names."""
    kept = record.model_dump(mode="json", exclude={"key_b64", "value_b64", "header_names_b64"})
    kept["headers"] = [name for name, _value in record.headers]
    return json.dumps(kept, ensure_ascii=False).encode()


def _read_logs(log_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(log_dir.glob("all-*.log")))


def _original(record: DlqRecord) -> bytes:
    return base64.b64decode(record.value_b64 or "")


async def test_no_id_number_or_phone_in_logs_or_dlq_reasons(
    workers: Workers, tmp_path: Path
) -> None:
    settings = Settings()
    runtime = build_runtime(settings)
    run_id = f"pii-{uuid.uuid4().hex[:8]}"
    mix = Mix(bad_share=0.03, bad_kinds=kinds_named("all"))
    messages = plan_messages(REFERENCE, runtime.codec, VISITS, seed=41, run_id=run_id, mix=mix)
    ids = {b.step.person.certno.encode() for b in messages} | {ID_NUMBER.encode()}
    assert len(ids) > 50, "the day carries ID numbers to leak"
    assert any(b.bad == "id_field_name" for b in messages), "an ID number as a field name"

    dlq_start = await _ends(settings.kafka(), DLQ_TOPIC)
    workers.start("all", "all", {"YIDI_LOG_LEVEL": "info"})
    report = await publish(settings.kafka(), messages, 0, "yidi-adjudication", ack_timeout_s=300)
    assert report.missing == []
    for topic in ("yidi.registration.v1", "yidi.visit.v1"):
        await wait_consumed(settings.kafka(), "yidi-adjudication", topic, timeout_s=300)
    await wait_consumed(settings.kafka(), "yidi-registration", "yidi.registration.v1")
    dead = await _dlq_since(settings.kafka(), dlq_start)
    workers.stop_all()

    logs = _read_logs(tmp_path)
    assert b"worker_started" in logs, "the workers' log was captured"
    assert _leaks(logs, ids) == []

    bad_sent = sum(1 for b in messages if b.bad is not None)
    assert len(dead) >= bad_sent // 2, f"the bad input was dead-lettered: {len(dead)}/{bad_sent}"
    leaks = [(d.reason.code, _leaks(_reasons(d), ids)) for d in dead]
    assert [(code, found) for code, found in leaks if found] == []
    originals = b"".join(_original(d) for d in dead)
    assert _leaks(originals, ids), "the scan sees an ID number where one is (the original bytes)"
    lines = logs.count(b"\n")
    print(  # what was scanned (make test -s shows it)
        f"\npersonal-data scan: {len(messages)} messages ({bad_sent} bad), {len(ids)} ID numbers, "
        f"{lines} log lines, {len(dead)} DLQ records: 0 found"
    )
