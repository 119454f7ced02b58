"""The one reading of a JSON body: the codec's first parse, and what the DLQ tooling shows.

Why a strict first parse: the validator (pydantic's JSON parser) and orjson disagree at
the edges. The validator takes ``NaN``, ``Infinity`` and ``1e400`` (as floats) and keeps
the *last* of two equal keys; a later ``orjson.loads`` of the same bytes raised (an extra
field allowed by a newer minor version), and a duplicate key let a body say one thing to
one reader and another to the next (another hospital's ``fixmedins_code`` first, the
sender's own last). Here the body is parsed once, by orjson's strict RFC 8259 parser:
whatever it refuses, or any object with a repeated key, is refused with a typed code
before anything else reads the body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

import orjson

from events.wire.errors import DecodeError, MalformedMessage

M = TypeVar("M")
R = TypeVar("R")
MAX_DEPTH = 32
"""Nesting levels a body may have (the deepest contract has 4): deeper is refused up front."""
_WS_COLON = re.compile(rb'"[ \t\r\n]+:')
_NOT_NUMBERS = (b"NaN", b"Infinity", b"-Infinity", b"-NaN")


def read_json(value: bytes) -> Any:
    """``value`` parsed, or a ``DecodeError``: ``E_NUMBER`` (``NaN``, ``Infinity``, a number
    out of the double range), ``E_DUPLICATE_KEY``, ``E_BOUNDS`` (nested deeper than
    ``MAX_DEPTH``), ``E_MALFORMED`` (anything else that is not JSON).

    Cost on the hot path (a canonical body, as every yidi encoder writes): one orjson parse
    and one orjson dump compared with the input — a dump of the parsed objects reproduces
    the text only if no object lost a repeated key. Other layouts count keys instead."""
    doc, canonical = parse_json(value)
    check_json(value, doc, canonical)
    return doc


def parse_json(value: bytes) -> tuple[Any, bool]:
    """The first half of ``read_json``: ``value`` parsed (or the parser's refusal), and
    whether it is canonical (orjson's dump of the parsed objects gives ``value`` back: no
    repeated key was lost). ``check_json`` must follow before anything else reads the
    document, unless the reader accepts only what ``check_json`` could not refuse (a
    canonical document no deeper than ``MAX_DEPTH``: the codec's ``prepare``, whose fee
    uploads are three levels deep).

    Why split: ``check_json``'s depth bound counts the body's brackets, two passes over
    the bytes (2.8 µs for a 4 KB fee upload, more than the dump); a document a reader
    accepts as flat needs no count."""
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise _refusal(value, exc) from None
    try:
        canonical = orjson.dumps(doc) == value
    except (
        orjson.JSONEncodeError
    ):  # nested past orjson's writer (255 levels): check_json refuses it
        canonical = False
    return doc, canonical


def check_json(value: bytes, doc: Any, canonical: bool) -> None:
    """The second half of ``read_json`` (see ``parse_json``): nesting deeper than
    ``MAX_DEPTH`` refused first, then a repeated key in a body that is not canonical."""
    few_brackets = value.count(b"{") + value.count(b"[") <= MAX_DEPTH  # then depth <= MAX_DEPTH
    keys = -1 if few_brackets else _count_keys(doc, 1)
    if canonical:
        return
    if keys < 0:
        keys = _count_keys(doc, 1)
    if keys and (value.count(b'":') != keys or _WS_COLON.search(value) is not None):
        _find_duplicate(value)


def read_prepared(
    value: bytes, reader: Callable[[M, Any], R | None] | None, model: M
) -> tuple[Any, R | None]:
    """``read_json``'s document, and what ``reader(model, document)`` makes of it (``None``:
    nothing, or no ``reader``). ``reader`` must accept only canonical documents no deeper than ``MAX_DEPTH``
    (the codec's ``prepare``: flat fee uploads), which ``check_json`` could not refuse: it
    sees a canonical document before the check, and the check runs only if it declines.
    Any other body is checked first, so every refusal is ``read_json``'s."""
    if reader is None:
        return read_json(value), None
    doc, canonical = parse_json(value)
    if canonical and (read := reader(model, doc)) is not None:
        return doc, read
    if canonical and value.count(b"{") + value.count(b"[") <= MAX_DEPTH:
        return doc, None  # ``check_json``'s first case (nothing it refuses), without its call
    check_json(value, doc, canonical)
    return doc, (None if canonical else reader(model, doc))


def _refusal(value: bytes, exc: orjson.JSONDecodeError) -> DecodeError:
    at = value[exc.pos : exc.pos + 9]
    if "number" in exc.msg or at.startswith(_NOT_NUMBERS):
        return MalformedMessage(
            f"a number JSON cannot carry (NaN, Infinity or out of range) at byte {exc.pos}",
            code="E_NUMBER",
        )
    if "depth" in exc.msg or "recursion" in exc.msg:
        return MalformedMessage(f"nested deeper than {MAX_DEPTH} levels", code="E_BOUNDS")
    return MalformedMessage(f"not valid JSON: {exc.msg} at byte {exc.pos}")


_CONTAINERS = (dict, list)


def _count_keys(node: Any, depth: int) -> int:
    """Keys of every object in ``node``; refuses nesting deeper than ``MAX_DEPTH`` (checked on
    entry, so the recursion itself never goes deeper than that)."""
    if depth > MAX_DEPTH:
        raise MalformedMessage(f"nested deeper than {MAX_DEPTH} levels", code="E_BOUNDS")
    if type(node) is dict:
        count = len(node)
        children: Any = node.values()
    elif type(node) is list:
        count, children = 0, node
    else:  # a scalar document (``-9223372036854775809``, ``"\u0041"``): no keys to count
        return 0
    for child in children:
        if type(child) in _CONTAINERS:
            count += _count_keys(child, depth + 1)
    return count


class _Duplicate(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise _Duplicate(k)
            seen.add(k)
    return found


def _find_duplicate(value: bytes) -> None:
    """The exact check, when the cheap count cannot rule a repeated key out: each key of a
    compact body is followed by ``":``, so a count of those equal to the parsed keys (and no
    space before a colon) proves every key distinct; anything else is parsed again here."""
    try:
        json.loads(value, object_pairs_hook=_pairs)
    except _Duplicate as dup:
        raise MalformedMessage(
            f"key {dup.key} appears twice in one object", dup.key, code="E_DUPLICATE_KEY"
        ) from None
