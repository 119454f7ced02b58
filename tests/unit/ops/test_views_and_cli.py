"""What ops tooling shows of a dead letter, and the CLI's promises on any input (issue 15,
findings 6, 7 and 8).

- every string of ``yidi dlq list|show`` is masked, field names included (finding 6);
- the tooling reads headers and bodies with the processors' functions: a record they refuse
  as ambiguous shows no ``ce_id`` and no body values (finding 7);
- ``yidi contracts check`` exits 2 with one JSON line on any file, however deep or large
  (finding 8).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import orjson
import pytest

from contracts.samples import SHANGHAI_HOSPITAL, ZHOUSHAN_CERT, samples, sender_of
from events.dlq import DLQ_TOPIC, dlq_output, parse_dlq
from events.stream.types import InputRecord
from events.wire.codec import Codec
from events.wire.demo_keys import demo_registry
from events.wire.errors import DecodeError
from services.ops.core.dlq import DlqEntry, DlqPosition, detail, summary
from services.tools.simulator.bad import resign
from tests.cli_zygote import run_yidi

CODEC = Codec(demo_registry([SHANGHAI_HOSPITAL, "H33090200001", "AG330900"]))
SETTLE = "cn.yidi.visit.settlement_requested.v1"


def _signed() -> tuple[bytes | None, bytes, list[tuple[str, bytes]]]:
    m = samples()[SETTLE]
    return CODEC.encode(m, ce_id="ce-1", sender=sender_of(m), ce_time=m.inf_time)  # type: ignore[attr-defined]


def _dead(rec: tuple[bytes | None, bytes, list[tuple[str, bytes]]]) -> DlqEntry:
    """What the adjudicator dead-letters for ``rec``, as ``yidi dlq`` reads it back."""
    with pytest.raises(DecodeError) as caught:
        CODEC.decode(*rec)
    err = caught.value
    record = InputRecord("yidi.visit.v1", 2, 41, *rec, 1_790_000_000_000)
    out = dlq_output(
        record, stage="adjudication", code=err.code, message=err.message, field=err.field
    )
    return DlqEntry(DLQ_TOPIC, DlqPosition(1, 9), 1_790_000_000_100, parse_dlq(out.value))


def test_an_id_number_field_name_is_masked_in_list_json_and_show() -> None:
    rec = _signed()
    data = orjson.loads(rec[1])
    data[ZHOUSHAN_CERT] = {ZHOUSHAN_CERT: ZHOUSHAN_CERT}
    entry = _dead(resign(CODEC, rec, orjson.dumps(data, option=orjson.OPT_SORT_KEYS)))
    assert entry.reason == "E_EXTRA_FIELD"
    assert ZHOUSHAN_CERT not in entry.record.reason.model_dump_json(), "masked in the record"
    listed, shown = json.dumps(summary(entry)), json.dumps(detail(entry), ensure_ascii=False)
    assert ZHOUSHAN_CERT not in listed and ZHOUSHAN_CERT not in shown
    assert "330902" in shown, "masked, not dropped: the prefix still correlates"
    assert entry.record.original_value() and ZHOUSHAN_CERT.encode() in entry.record.original_value()  # type: ignore[operator]


def test_a_record_with_two_ce_ids_shows_none_the_processors_did_not_read() -> None:
    key, value, headers = _signed()
    entry = _dead((key, value, [("ce_id", b"someone-elses"), *headers]))
    assert entry.reason == "E_DUPLICATE_HEADER"
    assert entry.ce_id is None and summary(entry)["ce_id"] is None
    names = [h[0] for h in detail(entry)["headers"]]
    assert names.count("ce_id") == 2, "show lists every header as it came"


def test_a_body_with_a_repeated_key_is_shown_as_refused_not_as_a_reading() -> None:
    rec = _signed()
    own = f'"fixmedins_code":"{SHANGHAI_HOSPITAL}"'.encode()
    value = rec[1].replace(own, b'"fixmedins_code":"H33090200001",' + own)
    body = detail(_dead(resign(CODEC, rec, value)))["body"]
    assert body["code"] == "E_DUPLICATE_KEY" and body["bytes"] == len(value)


def test_an_unknown_header_does_not_hide_the_ce_id() -> None:
    key, value, headers = _signed()
    record = InputRecord(
        "yidi.visit.v1", 0, 1, key, value, [*headers, ("x-note", "中文".encode())], 0
    )
    out = dlq_output(record, stage="adjudication", code="E_NO_POLICY", message="x")
    entry = DlqEntry(DLQ_TOPIC, DlqPosition(0, 1), 0, parse_dlq(out.value))
    assert entry.ce_id == "ce-1"


def _check(path: Path) -> subprocess.CompletedProcess[str]:
    return run_yidi(["contracts", "check", str(path), "--type", SETTLE], timeout_s=120)


@pytest.mark.parametrize(
    "content",
    [b"[" * 100_000, b"{\"a\":" * 50_000, b"[" * 900 + b"]" * 900, b'{"a":NaN}', b'{"a":1,"a":1}',
     b"\xff\xfe", b"", b'{"headers":[1],"body":{}}', b'{"headers":{"ce_id":"x"},"key":5,"body":{}}',
     b'{"type":7,"body":{}}'],
    ids=["deep-100k", "deep-objects", "deep-900", "nan", "dup", "bytes", "empty", "headers-list",
         "key-int", "type-int"],
)  # fmt: skip
def test_contracts_check_gives_exit_2_and_one_json_line_on_any_file(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "m.json"
    path.write_bytes(content)
    done = _check(path)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    error = json.loads(lines[0])
    assert set(error) == {"code", "field", "message"} and error["code"].startswith("E_")


def test_contracts_check_refuses_a_large_file_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    with path.open("wb") as f:
        f.write(b'{"a":"')
        f.write(b"x" * 50_000_000)
        f.write(b'"}')
    done = _check(path)
    assert done.returncode == 2 and json.loads(done.stdout)["code"] == "E_BOUNDS"
