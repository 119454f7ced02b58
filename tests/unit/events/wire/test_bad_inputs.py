"""The bad-input corpus: every way a message can be wrong yields its typed error code.

Each case mutates a valid, signed message (bytes, JSON or headers) and names
the code (and field) the codec must report. Nothing may raise anything but a
``DecodeError``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from contracts.samples import SHANGHAI_HOSPITAL, samples, sender_of
from events.wire.codec import Codec
from events.wire.demo_keys import demo_registry
from events.wire.envelope import parse_headers
from events.wire.errors import DecodeError
from events.wire.signing import compute_mac

Record = tuple[bytes | None, bytes, list[tuple[str, bytes]]]
FOREIGN = "H33090200001"
CODEC = Codec(demo_registry([SHANGHAI_HOSPITAL, FOREIGN, "AG330900", "AG320500"]))
SETTLE = "cn.yidi.visit.settlement_requested.v1"
FEES = "cn.yidi.visit.fees_uploaded.v1"
FILING = "cn.yidi.filing.created.v1"


def _encoded(ce_type: str) -> Record:
    m = samples()[ce_type]
    return CODEC.encode(m, ce_id=f"{ce_type}-1", sender=sender_of(m), ce_time=m.inf_time)  # type: ignore[attr-defined]


def _resign(rec: Record, value: bytes, sender: str | None = None) -> Record:
    """Replace the body and sign it properly (so only the body's content is wrong)."""
    key, _, headers = rec
    env = parse_headers(headers)
    k = CODEC.keys.get(f"demo-{sender or env.sender}")
    assert k is not None
    src = f"urn:yidi:sender:{k.sender}".encode()
    heads = [
        (n, src if n == "ce_source" else v) for n, v in headers if n not in ("yidi_kid", "yidi_mac")
    ]
    env2 = parse_headers(heads)
    return (
        key,
        value,
        [
            *heads,
            ("yidi_kid", k.kid.encode()),
            ("yidi_mac", compute_mac(k.secret, env2, value).encode()),
        ],
    )


def body(ce_type: str, change: Callable[[dict[str, Any]], None]) -> Callable[[], Record]:
    def make() -> Record:
        rec = _encoded(ce_type)
        data = orjson.loads(rec[1])
        change(data)
        return _resign(rec, orjson.dumps(data, option=orjson.OPT_SORT_KEYS))

    return make


def raw(
    ce_type: str, change: Callable[[bytes], bytes], resign: bool = True
) -> Callable[[], Record]:
    def make() -> Record:
        rec = _encoded(ce_type)
        value = change(rec[1])
        return _resign(rec, value) if resign else (rec[0], value, rec[2])

    return make


def header(ce_type: str, name: str, value: bytes | None) -> Callable[[], Record]:
    def make() -> Record:
        key, v, headers = _encoded(ce_type)
        kept = [(n, x) for n, x in headers if n != name]
        return key, v, kept if value is None else [*kept, (name, value)]

    return make


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for p in parents:
            node = node[int(p)] if p.isdigit() else node[p]
        if value is _DELETE:
            del node[int(last) if last.isdigit() else last]
        else:
            node[int(last) if last.isdigit() else last] = value

    return change


_DELETE = object()


def _foreign_signed() -> Record:
    rec = _encoded(SETTLE)
    return _resign(rec, rec[1], sender=FOREIGN)


def _wrong_key() -> Record:
    _, value, headers = _encoded(SETTLE)
    return b"330900:99999999999999999999", value, headers


def _tampered_after_signing() -> Record:
    key, value, headers = _encoded(SETTLE)
    return key, value.replace(b'"medfee_sumamt":"', b'"medfee_sumamt":"1'), headers


def _mac_of_other_key() -> Record:
    key, value, headers = _encoded(SETTLE)
    return (
        key,
        value,
        [(n, b"demo-" + FOREIGN.encode() if n == "yidi_kid" else v) for n, v in headers],
    )


CASES: list[tuple[str, Callable[[], Record], str, str | None]] = [
    # bytes and JSON
    ("truncated", raw(SETTLE, lambda v: v[: len(v) // 2]), "E_MALFORMED", None),
    (
        "non_utf8",
        raw(SETTLE, lambda v: v.replace(b"H31010400001", b"\xff\xfe", 1)),
        "E_ENCODING",
        None,
    ),
    ("empty_body", raw(SETTLE, lambda v: b"", resign=False), "E_MALFORMED", None),
    ("json_array", raw(SETTLE, lambda v: b"[1,2,3]"), "E_TYPE", None),
    ("json_null", raw(SETTLE, lambda v: b"null"), "E_TYPE", None),
    ("trailing_garbage", raw(SETTLE, lambda v: v + b"}}"), "E_MALFORMED", None),
    (
        "oversized_body",
        raw(SETTLE, lambda v: v[:-1] + b',"pad":"' + b"x" * 1_100_000 + b'"}'),
        "E_MALFORMED",
        None,
    ),
    # wrong types
    ("amount_as_number", body(SETTLE, _set("medfee_sumamt", 123.4)), "E_TYPE", "medfee_sumamt"),
    ("psn_no_as_number", body(SETTLE, _set("psn_no", 1234)), "E_TYPE", "psn_no"),
    ("lines_as_object", body(FEES, _set("feedetail", {"a": 1})), "E_TYPE", "feedetail"),
    ("time_not_time", body(SETTLE, _set("inf_time", "yesterday")), "E_TYPE", "inf_time"),
    ("naive_time", body(SETTLE, _set("inf_time", "2026-10-12T09:30:00")), "E_RULE", "inf_time"),
    # missing and extra fields
    ("missing_psn_no", body(SETTLE, _set("psn_no", _DELETE)), "E_MISSING_FIELD", "psn_no"),
    (
        "missing_medfee",
        body(SETTLE, _set("medfee_sumamt", _DELETE)),
        "E_MISSING_FIELD",
        "medfee_sumamt",
    ),
    (
        "missing_line_price",
        body(FEES, _set("feedetail.0.pric", _DELETE)),
        "E_MISSING_FIELD",
        "feedetail.0.pric",
    ),
    ("extra_field", body(SETTLE, _set("surprise", "x")), "E_EXTRA_FIELD", "surprise"),
    (
        "extra_line_field",
        body(FEES, _set("feedetail.0.color", "red")),
        "E_EXTRA_FIELD",
        "feedetail.0.color",
    ),
    # unknown codes and formats
    ("unknown_insutype", body(SETTLE, _set("insutype", "999")), "E_UNKNOWN_CODE", "insutype"),
    (
        "unknown_cert_type",
        body(SETTLE, _set("mdtrt_cert_type", "09")),
        "E_UNKNOWN_CODE",
        "mdtrt_cert_type",
    ),
    ("unknown_setlway", body(SETTLE, _set("psn_setlway", "07")), "E_UNKNOWN_CODE", "psn_setlway"),
    (
        "unknown_filing_type",
        body(FILING, _set("filing_type", "holiday")),
        "E_UNKNOWN_CODE",
        "filing_type",
    ),
    ("wrong_infno_for_type", body(SETTLE, _set("infno", "2201")), "E_RULE", "infno"),
    (
        "admdvs_5_digits",
        body(SETTLE, _set("mdtrtarea_admvs", "31010")),
        "E_FORMAT",
        "mdtrtarea_admvs",
    ),
    (
        "admdvs_letters",
        body(SETTLE, _set("insuplc_admdvs", "33O900")),
        "E_FORMAT",
        "insuplc_admdvs",
    ),
    ("bad_msgid", body(SETTLE, _set("msgid", "H31010400001-1")), "E_FORMAT", "msgid"),
    # amounts
    ("negative_amount", body(SETTLE, _set("medfee_sumamt", "-5.00")), "E_AMOUNT", "medfee_sumamt"),
    ("three_decimals", body(SETTLE, _set("medfee_sumamt", "5.001")), "E_AMOUNT", "medfee_sumamt"),
    (
        "seventeen_digits",
        body(SETTLE, _set("medfee_sumamt", "123456789012345.00")),
        "E_AMOUNT",
        "medfee_sumamt",
    ),
    ("exponent_amount", body(SETTLE, _set("medfee_sumamt", "1e5")), "E_AMOUNT", "medfee_sumamt"),
    (
        "negative_price",
        body(FEES, _set("feedetail.0.pric", "-1.00")),
        "E_AMOUNT",
        "feedetail.0.pric",
    ),
    ("zero_quantity", body(FEES, _set("feedetail.0.cnt", "0")), "E_RULE", "feedetail.0.cnt"),
    # sums that do not add up
    (
        "line_amount_not_cnt_x_pric",
        body(FEES, _set("feedetail.0.det_item_fee_sumamt", "241.00")),
        "E_RULE",
        None,
    ),
    (
        "duplicate_line_numbers",
        body(FEES, lambda d: d["feedetail"].__setitem__(1, d["feedetail"][0])),
        "E_RULE",
        None,
    ),
    (
        "temporary_filing_too_short",
        body(FILING, lambda d: d.update(filing_type="referral", enddate="2026-02-01")),
        "E_RULE",
        None,
    ),
    (
        "reversal_names_nothing",
        body("cn.yidi.visit.reversal_requested.v1", _set("setl_id", None)),
        "E_RULE",
        None,
    ),
    # bounds
    (
        "too_many_lines",
        body(
            FEES,
            lambda d: d.update(
                feedetail=[{**d["feedetail"][0], "feedetl_sn": f"L{i}"} for i in range(2001)]
            ),
        ),
        "E_BOUNDS",
        "feedetail",
    ),
    ("no_lines", body(FEES, _set("feedetail", [])), "E_BOUNDS", "feedetail"),
    ("long_mdtrt_id", body(SETTLE, _set("mdtrt_id", "M" * 31)), "E_BOUNDS", "mdtrt_id"),
    (
        "too_many_diagnoses",
        body("cn.yidi.visit.registered.v1", _set("dise_codg", ["I10"] * 21)),
        "E_BOUNDS",
        "dise_codg",
    ),
    # envelope and versions
    (
        "unknown_major_version",
        header(SETTLE, "ce_type", b"cn.yidi.visit.settlement_requested.v2"),
        "E_VERSION",
        "ce_type",
    ),
    (
        "unknown_type",
        header(SETTLE, "ce_type", b"cn.yidi.visit.teleported.v1"),
        "E_UNKNOWN_TYPE",
        "ce_type",
    ),
    ("bad_type_shape", header(SETTLE, "ce_type", b"settlement"), "E_HEADER", "ce_type"),
    ("missing_ce_id", header(SETTLE, "ce_id", None), "E_HEADER", "ce_id"),
    ("wrong_specversion", header(SETTLE, "ce_specversion", b"0.3"), "E_HEADER", "ce_specversion"),
    ("bad_source", header(SETTLE, "ce_source", b"hospital-1"), "E_HEADER", "ce_source"),
    ("bad_content_type", header(SETTLE, "content-type", b"text/xml"), "E_HEADER", "content-type"),
    ("bad_traceparent", header(SETTLE, "traceparent", b"00-xyz"), "E_HEADER", "traceparent"),
    ("naive_ce_time", header(SETTLE, "ce_time", b"2026-10-12T09:30:00"), "E_HEADER", "ce_time"),
    # signatures and identity
    ("unsigned", header(SETTLE, "yidi_mac", None), "E_AUTH", "yidi_mac"),
    ("unknown_key", header(SETTLE, "yidi_kid", b"demo-H99999999999"), "E_AUTH", "yidi_kid"),
    ("wrong_mac", header(SETTLE, "yidi_mac", b"AAAA"), "E_AUTH_MAC", "yidi_mac"),
    ("tampered_after_signing", _tampered_after_signing, "E_AUTH_MAC", "yidi_mac"),
    ("key_of_other_sender", _mac_of_other_key, "E_AUTH_FOREIGN", "yidi_kid"),
    ("foreign_signed", _foreign_signed, "E_IDENTITY", "fixmedins_code"),
    (
        "agency_for_other_region",
        lambda: _resign(_encoded(FILING), _encoded(FILING)[1], sender="AG320500"),
        "E_IDENTITY",
        "insuplc_admdvs",
    ),
    ("wrong_record_key", _wrong_key, "E_KEY", "key"),
]


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert len({name for name, *_ in CASES}) == len(CASES)


@pytest.mark.parametrize(("name", "make", "code", "field"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_gives_its_typed_error(
    name: str, make: Callable[[], Record], code: str, field: str | None
) -> None:
    key, value, headers = make()
    with pytest.raises(DecodeError) as caught:
        CODEC.decode(key, value, headers)
    err = caught.value
    assert err.code == code, f"{name}: {err!r}"
    if field is not None:
        assert err.field == field, f"{name}: {err!r}"
    assert "330902195803120013" not in err.message, "personal data in an error message"
