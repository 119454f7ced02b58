"""Property: whatever a record holds, the engine's per-record step ends it in exactly one
outcome, never raises, and the next valid record on the partition is processed (issue 15).

Records start as valid signed messages of a simulated run (services/tools/simulator via
``simulated_records``) and are mutated — bytes, headers (names, values, duplicates, order,
encodings), keys, JSON field names and lengths, dates, numbers, sizes — then often signed
again by their sender with a fresh ``ce_id``, so the mutations reach validation, identity,
the adjudicator's rules and the outcome builders, not only the MAC check. They run through
the real adjudication and registration tasks over the real reference data, from a state
in which the run's registrations and the first half of its visits were applied.

Cases: ``YIDI_FUZZ_CASES`` (3,000 in ``make test``; ``make fuzz-engine`` runs 1,000,000).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from events.stream.guard import E_INTERNAL, RecordGuard
from events.stream.memory import MemoryEngine
from events.stream.types import InputRecord, Output
from events.wire.envelope import parse_headers
from events.wire.errors import DecodeError
from events.wire.signing import compute_mac
from tests.engine_support import (
    REGISTRATION,
    VISIT,
    World,
    adjudication_task,
    flush_into,
    guards,
    outcome,
    registration_task,
    run,
    world,
)

CASES = int(os.environ.get("YIDI_FUZZ_CASES", "3000"))
AT = 1_000_000  # offsets past anything the warmed-up state has applied

EDGE_TIMES = [
    "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59+14:00",
    "2026-02-30T10:00:00+08:00", "2026-10-12T25:00:00+08:00", "2026-10-12T10:00:00",
    "2026-10-12T10:00:00+24:00", "1899-12-31T23:59:59Z", "2199-12-31T23:59:59Z",
    "2200-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "2026-10-12", "", "now",
]  # fmt: skip
EDGE_NUMBERS = [
    "NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e-400", "0.001", "-0.00", "1.005",
    "99999999999999.99", "999999999999999999999999.99", "1E2", "0x10", " 1.00", "1,000.00",
]  # fmt: skip
TIME_FIELDS = ("begntime", "endtime", "setl_time", "inf_time", "fee_ocur_time", "begndate",
               "enddate", "revoked_on")  # fmt: skip
HEADER_NAMES = ("ce_specversion", "ce_id", "ce_type", "ce_source", "ce_time", "content-type",
                "ce_dataschema", "traceparent", "yidi_kid", "yidi_mac", "yidi_redrive")  # fmt: skip


@dataclass(frozen=True)
class Setup:
    w: World
    adj_stores: dict[int, dict[bytes, bytes]]
    reg_stores: dict[int, dict[bytes, bytes]]
    bases: tuple[InputRecord, ...]
    guards: dict[str, RecordGuard]


def _decodes(w: World, record: InputRecord) -> bool:
    try:
        w.codec.decode(record.key, record.value, record.headers, topic=record.topic)
    except DecodeError:
        return False
    return True


@cache
def setup() -> Setup:
    w = world()
    regs = [r for r in w.records if r.topic == REGISTRATION]
    visits = [r for r in w.records if r.topic == VISIT]
    applied = regs + visits[: len(visits) // 2]
    g = guards(w)
    adjudicator = MemoryEngine(lambda p, r: adjudication_task(w, p, r), g["adjudication"])
    adjudicator.batch(applied)
    registrar = MemoryEngine(lambda p, r: registration_task(w, p, r), g["registration"])
    registrar.batch(regs)
    adj_stores, reg_stores = adjudicator.stores, registrar.stores
    # mutations start from (and "the next valid record" is) a record the workers accept: the
    # simulator's own planted bad messages (a forged MAC, a truncated body) are no base
    bases = tuple(r for r in regs + visits[len(visits) // 2 :] if _decodes(w, r))
    return Setup(w, adj_stores, reg_stores, bases, g)


# --- mutations ----------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.text(max_size=40), st.sampled_from(EDGE_NUMBERS), st.sampled_from(EDGE_TIMES),
    st.text(alphabet="0123456789.", max_size=30),
)  # fmt: skip
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.one_of(
    st.text(min_size=1, max_size=30),
    st.integers(min_value=150, max_value=700).map(lambda n: "f" * n),
    st.sampled_from(["certno", "psn_no", "110101199003077777", "fixmedins_code", "", " "]),
)


def _body_op(draw: st.DrawFn, data: Any) -> Any:
    if not isinstance(data, dict) or not data:
        return draw(json_values)
    keys = sorted(data)
    op = draw(st.sampled_from(["add", "drop", "set", "time", "number", "nest", "long", "list"]))
    if op == "add":
        data[draw(field_names)] = draw(json_values)
    elif op == "drop":
        data.pop(draw(st.sampled_from(keys)))
    elif op == "set":
        data[draw(st.sampled_from(keys))] = draw(json_values)
    elif op == "time":
        data[draw(st.sampled_from(TIME_FIELDS))] = draw(st.sampled_from(EDGE_TIMES))
    elif op == "number":
        data[draw(st.sampled_from(keys))] = draw(st.sampled_from(EDGE_NUMBERS))
    elif op == "nest":
        key = draw(st.sampled_from(keys))
        if isinstance(data[key], (dict, list)) and data[key]:
            inner = data[key]
            if isinstance(inner, list):
                i = draw(st.integers(0, len(inner) - 1))
                inner[i] = _body_op(draw, inner[i])
            else:
                data[key] = _body_op(draw, inner)
    elif op == "long":
        data[draw(st.sampled_from(keys))] = "x" * draw(st.integers(0, 3000))
    elif op == "list":
        key = draw(st.sampled_from(keys))
        if isinstance(data[key], list) and data[key]:
            data[key] = data[key] * draw(st.integers(0, 40))
    return data


def _raw_op(draw: st.DrawFn, value: bytes) -> bytes:
    op = draw(st.sampled_from(
        ["truncate", "flip", "insert", "binary", "bare_number", "dup_key", "bom", "huge", "empty"]
    ))  # fmt: skip
    if op == "truncate":
        return value[: draw(st.integers(0, max(len(value) - 1, 0)))]
    if op == "flip" and value:
        i = draw(st.integers(0, len(value) - 1))
        return value[:i] + bytes([value[i] ^ draw(st.integers(1, 255))]) + value[i + 1 :]
    if op == "insert":
        i = draw(st.integers(0, len(value)))
        return value[:i] + draw(st.binary(max_size=8)) + value[i:]
    if op == "binary":
        return draw(st.binary(max_size=200))
    if op == "bare_number" and value.endswith(b"}"):
        token = draw(st.sampled_from(EDGE_NUMBERS)).encode()
        return value[:-1] + b',"x_extra":' + token + b"}"
    if op == "dup_key" and value.endswith(b"}"):
        key = draw(st.sampled_from(["fixmedins_code", "psn_no", "insuplc_admdvs", "msgid"]))
        return value[:-1] + f',"{key}":"H99999999999"'.encode() + b"}"
    if op == "bom":
        return b"\xef\xbb\xbf" + value
    if op == "huge":
        size = draw(st.sampled_from([2_000, 100_000, 1_000_001, 1_300_000]))
        return b'{"x":"' + b"a" * size + b'"}'
    if op == "empty":
        return b""
    return value


def _header_op(draw: st.DrawFn, headers: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    op = draw(st.sampled_from(
        ["drop", "dup", "value", "add", "rename", "none", "shuffle", "long", "schema", "nonascii"]
    ))  # fmt: skip
    h = list(headers)
    i = draw(st.integers(0, max(len(h) - 1, 0)))
    if op == "drop" and h:
        del h[i]
    elif op == "dup" and h:
        h.insert(draw(st.integers(0, len(h))), (h[i][0], draw(st.binary(max_size=30))))
    elif op == "value" and h:
        h[i] = (h[i][0], draw(st.binary(max_size=40)))
    elif op == "add":
        name = draw(st.one_of(st.sampled_from(HEADER_NAMES), st.text(max_size=20)))
        h.append((name, draw(st.binary(max_size=40))))
    elif op == "rename" and h:
        h[i] = (draw(st.text(max_size=20)), h[i][1])
    elif op == "none" and h:
        h[i] = (h[i][0], None)  # type: ignore[arg-type]  # a null header value, as Kafka allows
    elif op == "shuffle":
        h = draw(st.permutations(h))
    elif op == "long" and h:
        h[i] = (h[i][0], b"L" * draw(st.integers(190, 300)))
    elif op == "schema":
        minor = draw(st.sampled_from(["1", "5", "x", "999999999999999999999"]))
        h.append(("ce_dataschema", f"urn:yidi:schema:any:1.{minor}".encode()))
    elif op == "nonascii" and h:
        h[i] = (h[i][0], "身份证".encode() + draw(st.binary(max_size=5)))
    return h


def _resign(
    w: World, headers: list[tuple[str, bytes]], value: bytes, ce_id: str | None
) -> list[tuple[str, bytes]]:
    """Sign again as the sender named in ``headers`` (kept as they are, mutations included)."""
    try:
        if ce_id is not None:
            headers = [(k, ce_id.encode() if k == "ce_id" else v) for k, v in headers]
        env = parse_headers(headers)
        when = dt.datetime.fromisoformat(env.ce_time)
        key = w.codec.keys.current(env.sender, when)
        mac = compute_mac(key.secret, env, value)
    except Exception:
        return headers  # not signable as it stands: it stays as mutated
    signed = [
        (k, key.kid.encode() if k == "yidi_kid" else mac.encode() if k == "yidi_mac" else v)
        for k, v in headers
    ]
    if not any(k == "yidi_mac" for k, _ in signed):
        signed += [("yidi_kid", key.kid.encode()), ("yidi_mac", mac.encode())]
    return signed


def _dumps(data: Any) -> bytes:
    """Sorted compact JSON like the codec's, but any integer and any string (lone surrogates
    become bytes that are not UTF-8: one more kind of bad input)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "surrogatepass")


@st.composite
def cases(draw: st.DrawFn) -> tuple[InputRecord, InputRecord]:
    """(the mutated record, the unmutated record it came from)."""
    s = setup()
    base = draw(st.sampled_from(s.bases))
    value: bytes = base.value or b""
    headers = list(base.headers)
    key = base.key
    for _ in range(draw(st.integers(1, 3))):
        target = draw(
            st.sampled_from(["body", "body", "body", "raw", "header", "header", "key", "ce"])
        )
        if target == "body":
            try:
                data = orjson.loads(value)
            except orjson.JSONDecodeError:
                continue
            value = _dumps(_body_op(draw, data))
        elif target == "raw":
            value = _raw_op(draw, value)
        elif target == "header":
            headers = _header_op(draw, headers)
        elif target == "key":
            key = draw(
                st.one_of(
                    st.none(), st.binary(max_size=40), st.sampled_from([r.key for r in s.bases])
                )
            )
        else:
            name = draw(st.sampled_from(["ce_id", "ce_time"]))
            text = draw(st.one_of(
                st.sampled_from(EDGE_TIMES), st.text(max_size=10),
                st.integers(190, 300).map(lambda n: "C" * n),
            ))  # fmt: skip
            headers = [
                (k, text.encode("utf-8", "surrogatepass") if k == name else v) for k, v in headers
            ]
    if draw(st.integers(0, 9)) < 6:
        fresh = f"{parse_headers(base.headers).ce_id}-m{draw(st.integers(0, 10**6))}"
        headers = _resign(s.w, headers, value, fresh if draw(st.integers(0, 3)) else None)
    mutated = InputRecord(base.topic, base.partition, AT, key, value, headers, base.timestamp_ms)
    if draw(st.integers(0, 49)) == 37:  # what the salvage adapter hands over for a bad header name
        names = (*tuple(k.encode("utf-8", "surrogatepass") for k, _ in headers), b"\xff\xfe")
        mutated = replace(
            mutated, headers=[*headers, ("\\xff\\xfe", b"v")], damaged="a record header name is not UTF-8",
            raw_header_names=names,
        )  # fmt: skip
    return mutated, replace(base, offset=AT + 1)


def _code(outputs: list[Output]) -> str:
    """The outcome's code, for ``--hypothesis-show-statistics``: how deep the cases reach."""
    for o in outputs:
        data = orjson.loads(o.value)
        if o.topic == "yidi.dlq.v1":
            return str(data["reason"]["code"])
        if "status" in data:
            error = data.get("error") or {}
            return f"{data['status']}:{error.get('code', '')}"
    return "-"


ALLOWED = {
    ("adjudication", VISIT): {"ack", "dlq", "dlq+ack"},
    ("adjudication", REGISTRATION): {"silent", "dlq"},
    ("registration", REGISTRATION): {"ack", "dlq", "dlq+ack"},
}


@pytest.mark.timeout(max(300, CASES // 20))  # about 10 ms a case on the 2-core box
@settings(
    max_examples=CASES, deadline=None, suppress_health_check=list(HealthCheck), print_blob=True
)
@given(cases())
def test_every_record_ends_in_one_outcome_and_the_partition_goes_on(
    case: tuple[InputRecord, InputRecord],
) -> None:
    mutated, valid = case
    with capture_logs() as logs:
        _check(mutated, valid)
    for line in logs:  # what the guard logs names positions and types, never content
        assert set(line) <= {"event", "log_level", "stage", "topic", "partition", "offset", "error"}


def _check(mutated: InputRecord, valid: InputRecord) -> None:
    s = setup()
    processors = [("adjudication", adjudication_task, s.adj_stores)]
    if mutated.topic == REGISTRATION:
        processors.append(("registration", registration_task, s.reg_stores))
    for stage, make, stores in processors:
        store = stores.get(mutated.partition, {})
        guard = s.guards[stage]
        task = make(s.w, mutated.partition, store)
        result = run(task, mutated, guard)  # must not raise, whatever the record holds
        kind = outcome(mutated, result.outputs, stage)
        assert kind in ALLOWED[(stage, mutated.topic)], (stage, kind)
        event(f"{stage} {kind} {_code(result.outputs)}")
        after: dict[bytes, bytes] = dict(store)
        changed = flush_into(task, after)
        if kind == "dlq" or (kind == "dlq+ack" and b'"E_INTERNAL"' in result.outputs[0].value):
            assert changed == 0, "a dead-lettered record changed the task's state"
        # the next valid record on the partition is processed, as if the bad one never came
        following = run(task, valid, guard)
        next_kind = outcome(valid, following.outputs, stage)
        assert next_kind in ALLOWED[(stage, valid.topic)] - {"dlq"}, (stage, next_kind)
        if changed == 0:
            control = run(make(s.w, valid.partition, store), valid, guard)
            assert following.outputs == control.outputs
        assert not any(
            o.topic == "yidi.dlq.v1" and E_INTERNAL.encode() in o.value for o in following.outputs
        )
        flush_into(task, after)
