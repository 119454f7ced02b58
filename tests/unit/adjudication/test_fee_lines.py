"""The fee upload's fast reading (``services/adjudication/fee_lines.py`` over
``events/wire/fee_lines.py``) against the contract.

``prepare`` may only accept what ``FeesUploaded`` accepts, with the same values (the header
fields, and core lines equal to what ``command_for`` makes of the contract's lines), and
refuses nothing itself: every body is decoded twice, with and without ``prepare``, and the
two outcomes must be the same (the same refusal code, field and text; or the same envelope,
header values and command, compared by ``repr`` so a ``Decimal``'s digits count). Corpora:
the simulator's records, the decoder's bad-input corpus, the engine fuzz cases, and
hypothesis bodies built around the contract's edges. Each corpus also counts the bodies the
fast reading took: a ``prepare`` that deferred everything would be exact and useless.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from contracts.common import MAX_FEE_LINES, AwareDatetime
from contracts.money import MONEY_PATTERN
from contracts.samples import samples
from contracts.visit import QUANTITY_PATTERN, FeeLine, FeesUploaded
from events.stream.types import InputRecord
from events.wire import fee_lines
from events.wire.codec import Codec
from events.wire.demo_keys import demo_registry
from events.wire.fee_lines import FIELDS
from events.wire.strict_json import MAX_DEPTH
from services.adjudication.fee_lines import PreparedFees, prepare
from services.adjudication.reference import load_reference
from services.adjudication.wire import command_of
from services.entry.bootstrap import sender_ids
from tests.fee_lines_check import BODIES, assert_the_simulators_uploads_are_all_taken, compared
from tests.unit.events.stream.test_fuzz import cases, setup
from tests.unit.events.wire.test_bad_inputs import CASES, FEES, Record, _encoded, _resign
from tests.unit.events.wire.test_bad_inputs import CODEC as SAMPLE_CODEC

REF = load_reference()
CODEC = Codec(demo_registry(sender_ids(REF)))


def _command(message: Any) -> tuple[Any, ...]:
    try:
        person, command = command_of(message)
    except Exception as exc:  # the outcome compared: its type
        person, command = "", type(exc).__name__
    return person, repr(command)


def _same(codec: Codec, record: Record, topic: str | None = None) -> bool:
    """Both readings agree; True when the fast one took the body."""
    return compared(codec, record, topic, prepare, _command)[0]


def test_the_simulators_uploads_are_all_taken_and_equal() -> None:
    assert_the_simulators_uploads_are_all_taken(CODEC, _same, 11, "fee-lines")


@pytest.mark.parametrize(("name", "make", "code", "field"), CASES, ids=[c[0] for c in CASES])
def test_the_bad_input_corpus_gets_the_same_refusals(
    name: str, make: Callable[[], Record], code: str, field: str | None
) -> None:
    assert not _same(SAMPLE_CODEC, make()), name  # refused either way, and the same refusal


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(cases())
def test_the_engine_fuzz_cases_read_the_same(case: tuple[InputRecord, InputRecord]) -> None:
    record, _ = case
    if _same(
        setup().w.codec, (record.key, record.value or b"", list(record.headers)), record.topic
    ):
        event("prepared")


# --- hypothesis bodies around the contract's edges -------------------------------------------

_CODE_CHARS = "0123456789AZaz.-_ /é١\n+"
_ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 2**63 - 1),
    st.floats(allow_nan=False),
    st.just([]),
    st.just({}),
    st.just(["1"]),
)
_DECIMALS = st.from_regex(r"-?[0-9]{1,17}(\.[0-9]{0,6})?", fullmatch=True)
_NUMBERS = st.one_of(
    _DECIMALS,
    st.sampled_from(
        [
            "0",
            "0.0",
            "0.0000",
            "0.00001",
            "00.5",
            "01",
            "1.",
            ".5",
            "1e2",
            " 1",
            "1 ",
            "١",
            "+1",
            "2.00",
            "99999999.9999",
            "100000000",
            "1.23456",
            "99999999999999.99",
            "100000000000000",
            "0.01",
            "0.005",
        ]
    ),
    _ODD,
)
_TIMES = st.one_of(
    st.builds(
        lambda y, mo, d, h, mi, s, frac, off: (
            f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}{frac}{off}"
        ),
        st.sampled_from([1899, 1900, 1901, 2026, 2198, 2199, 2200, 9999, 1]),
        st.integers(0, 13),
        st.integers(0, 32),
        st.integers(0, 24),
        st.integers(0, 60),
        st.integers(0, 61),
        st.sampled_from(["", ".5", ".123456", ".1234567", ".", ",5"]),
        st.sampled_from(
            [
                "+08:00",
                "Z",
                "+00:00",
                "-05:00",
                "+08",
                "+0800",
                "",
                "+23:59",
                "+24:00",
                "-14:00",
                "+08:00:00",
                "z",
            ]
        ),
    ),
    st.sampled_from(
        [
            "2026-02-29T10:00:00+08:00",
            "2028-02-29T10:00:00+08:00",
            "2026-10-12 08:06:00+08:00",
            "2026-10-12t08:06:00+08:00",
            "20261012T080600+08:00",
            "2026-W41-1T08:06:00+08:00",
            "2026-10-12T08:06+08:00",
            "2026-10-12",
            "1791763200",
            "2026-10-12T08:06:00.000+08:00",
            "2026-10-12T8:06:00+08:00",
            "2026-10-12T08:06:00+08:00\n",
            "２026-10-12T08:06:00+08:00",
        ]
    ),
    _ODD,
)


def _mostly(valid: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> Any:
    """Valid by the contract's own pattern 9 times in 10 (so that whole uploads are accepted
    and their values compared), an edge or a wrong type otherwise."""
    return st.sampled_from([True] * 9 + [False]).flatmap(lambda ok: valid if ok else odd)


_QUANTITIES = st.from_regex(QUANTITY_PATTERN, fullmatch=True)
_MONIES = st.from_regex(MONEY_PATTERN, fullmatch=True)
_CODES = st.from_regex(r"[0-9A-Za-z.\-_]{1,32}", fullmatch=True)
_GOOD_TIMES = st.builds(
    lambda y, mo, d, h, mi, s, frac, off: (
        f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}{frac}{off}"
    ),
    st.one_of(st.integers(2000, 2100), st.sampled_from([1900, 1901, 2198, 2199])),
    st.integers(1, 12),
    st.integers(1, 31),
    st.integers(0, 24),
    st.integers(0, 60),
    st.integers(0, 60),
    st.sampled_from(["", ".5", ".123456", ".000"]),
    st.sampled_from(["+08:00"] * 6 + ["Z", "-05:00"]),
)


@st.composite
def _line(draw: st.DrawFn, n: int) -> dict[str, Any]:
    cnt = draw(_mostly(_QUANTITIES, _NUMBERS))
    pric = draw(_mostly(_MONIES, _NUMBERS))
    try:  # usually the consistent amount, so that acceptance is reached and compared
        right = (Decimal(str(cnt)) * Decimal(str(pric))).quantize(Decimal("0.01"), ROUND_HALF_UP)
        amount = draw(
            _mostly(st.sampled_from([format(right, "f"), str(right.normalize())]), _NUMBERS)
        )
    except ArithmeticError:
        amount = draw(_NUMBERS)
    line: dict[str, Any] = {
        "cnt": cnt,
        "det_item_fee_sumamt": amount,
        "fee_ocur_time": draw(_mostly(_GOOD_TIMES, _TIMES)),
        "feedetl_sn": draw(
            _mostly(st.one_of(st.just(f"SN-{n}"), _CODES), st.text(_CODE_CHARS, max_size=32) | _ODD)
        ),
        "med_list_codg": draw(_mostly(_CODES, st.text(_CODE_CHARS, max_size=52))),
        "pric": pric,
    }
    change = draw(st.sampled_from(["none"] * 20 + ["drop", "extra", "list"]))
    if change == "drop":
        del line[draw(st.sampled_from(FIELDS))]
    elif change == "extra":
        line[draw(st.sampled_from(["color", "cnt ", "Cnt"]))] = "1"
    elif change == "list":
        return list(line.values())  # type: ignore[return-value]
    return line


@st.composite
def _body(draw: st.DrawFn) -> bytes:
    doc = orjson.loads(_encoded(FEES)[1])
    n = draw(st.sampled_from([1, 1, 1, 2, 2, 3, 0]))
    doc["feedetail"] = [draw(_line(i)) for i in range(n)]
    lines = doc["feedetail"]
    if n > 1 and type(lines[0]) is type(lines[-1]) is dict and draw(st.booleans()):
        lines[-1]["feedetl_sn"] = lines[0].get("feedetl_sn")
    header = draw(st.sampled_from(["none"] * 12 + ["inf_time", "infno", "extra", "missing"]))
    if header == "inf_time":
        doc["inf_time"] = draw(_TIMES)
    elif header == "infno":
        doc["infno"] = draw(st.sampled_from(["2207", "2301", "2204", "x"]))
    elif header == "extra":
        doc["colour"] = "red"
    elif header == "missing":
        del doc[draw(st.sampled_from(sorted(doc)))]
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


@settings(max_examples=BODIES, deadline=None, suppress_health_check=list(HealthCheck))
@given(_body())
def test_hypothesis_bodies_read_the_same(value: bytes) -> None:
    if _same(SAMPLE_CODEC, _resign(_encoded(FEES), value)):
        event("prepared")


def _valid_upload(lines: list[dict[str, Any]]) -> Record:
    """The sample upload with ``lines``, signed again (so only the lines decide)."""
    doc = orjson.loads(_encoded(FEES)[1])
    doc["feedetail"] = lines
    return _resign(_encoded(FEES), orjson.dumps(doc))


def test_edges_the_fast_path_takes_or_leaves() -> None:
    """Known edges, each decided the same way and each on the side expected of it."""
    line = {
        "cnt": "0.0001",
        "det_item_fee_sumamt": "0.00",
        "fee_ocur_time": "2198-12-31T23:59:59.999999+08:00",
        "feedetl_sn": "a" * 30,
        "med_list_codg": "Z" * 50,
        "pric": "0.01",
    }
    assert _same(SAMPLE_CODEC, _valid_upload([line]))  # every bound at its edge: taken
    many = [{**line, "feedetl_sn": str(i)} for i in range(MAX_FEE_LINES)]
    assert _same(SAMPLE_CODEC, _valid_upload(many))
    too_many = [*many, {**line, "feedetl_sn": "x"}]
    assert not _same(SAMPLE_CODEC, _valid_upload(too_many))
    for change in (
        {"feedetl_sn": "a" * 31},
        {"med_list_codg": "Z" * 51},
        {"cnt": "0.0000"},
        {"pric": "0.001"},
        {"det_item_fee_sumamt": "0.01"},
        {"fee_ocur_time": "2199-01-01T00:00:00+08:00"},  # inside the range, outside the form
        {"fee_ocur_time": "2026-10-12T08:06:00Z"},
        {"fee_ocur_time": "2026-10-12T24:00:00+08:00"},
        {"fee_ocur_time": "2026-10-12T23:60:00+08:00"},
        {"fee_ocur_time": "2026-10-12T23:59:60+08:00"},
        {"fee_ocur_time": "2026-02-29T10:00:00+08:00"},
        {"fee_ocur_time": "2026-10-12T08:06:00.1234567+08:00"},
    ):
        assert not _same(SAMPLE_CODEC, _valid_upload([{**line, **change}])), change


def test_a_canonical_upload_nested_too_deep_is_refused_the_same() -> None:
    """``prepare`` sees a canonical body before its depth is checked (``read_prepared``): one
    nested past ``MAX_DEPTH`` (in a line, in an extra field, in the header) is left to the
    checks and refused ``E_BOUNDS``, as without ``prepare``."""
    deep: Any = "1"
    for _ in range(MAX_DEPTH + 1):
        deep = [deep]
    doc = orjson.loads(_encoded(FEES)[1])
    line = doc["feedetail"][0]
    for body in (
        {**doc, "feedetail": [{**line, "cnt": deep}]},
        {**doc, "x_deep": deep},
        {**doc, "msgid": deep},
        {**doc, "feedetail": [{**line, "x": {"y": deep}}]},
    ):
        record = _resign(_encoded(FEES), orjson.dumps(body))
        assert not _same(SAMPLE_CODEC, record)
        assert compared(SAMPLE_CODEC, record, None, prepare, _command)[1][2] == "E_BOUNDS"


def test_the_fast_path_reads_the_contracts_constraints() -> None:
    """What ``prepare`` checks is read from the contract, not restated."""
    assert set(FIELDS) == set(FeeLine.model_fields)
    assert (fee_lines.MIN_LINES, fee_lines.MAX_LINES) == (1, MAX_FEE_LINES)
    assert set(PreparedFees.model_fields) == set(FeesUploaded.model_fields)
    assert PreparedFees.infnos == FeesUploaded.infnos
    assert PreparedFees.ce_type == FeesUploaded.ce_type
    assert fee_lines.LINE_NO == "(?:[0-9A-Za-z.\\-_]){1,30}"
    assert fee_lines.ITEM.pattern == "(?:[0-9A-Za-z.\\-_]){1,50}"
    assert fee_lines.MONEY.pattern == "(0|[1-9][0-9]{0,13})(\\.[0-9]{1,2})?"
    assert fee_lines.QUANTITY.pattern == "(0|[1-9][0-9]{0,7})(\\.[0-9]{1,4})?"


def test_other_types_and_samples_are_left_to_the_contract() -> None:
    for ce_type, message in samples().items():
        doc = orjson.loads(message.model_dump_json())
        taken = prepare(type(message), doc)
        assert (taken is not None) == (ce_type == FEES), ce_type


@pytest.mark.parametrize(
    "value",
    [True, False, None, 0, -1, 1791763200, 1791763200.5, 1791763200000, 1e20, 2**62, [], {}],
)
def test_the_header_time_reads_alike_in_both_modes(value: Any) -> None:
    """``prepare`` validates the header in Python mode from the parsed body; for non-string
    ``inf_time`` values it defers anyway, and these (the types JSON can carry) read alike."""
    adapter = TypeAdapter(AwareDatetime)

    def read(mode: str) -> object:
        try:
            if mode == "json":
                return adapter.validate_json(orjson.dumps(value))
            return adapter.validate_python(value)
        except ValidationError as exc:
            return exc.errors(include_url=False, include_input=False)[0]["type"]

    assert read("json") == read("python")
