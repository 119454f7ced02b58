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
from typing import Any

import orjson

from events.wire.errors import DecodeError, MalformedMessage

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
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise _refusal(value, exc) from None
    few_brackets = value.count(b"{") + value.count(b"[") <= MAX_DEPTH  # then depth <= MAX_DEPTH
    keys = -1 if few_brackets else _count_keys(doc, 1)
    if orjson.dumps(doc) == value:
        return doc
    if keys < 0:
        keys = _count_keys(doc, 1)
    if keys and (value.count(b'":') != keys or _WS_COLON.search(value) is not None):
        _find_duplicate(value)
    return doc


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
