"""A person's ``seen`` (``SeenLog``, issue 21) reads, writes and restores exactly as the plain
dict it replaced, copied on every note and its oldest entry dropped past ``SEEN_LIMIT``:
whatever sequence of notes, on the newest version or on older ones (a record that raised
leaves the stored row's version behind; a test may hold any), writes, restores from JSON,
forgotten memos and re-noted keys. Every version is checked after every step, so a note that
changed an older version, or JSON that missed an entry or kept a dropped one, fails it."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.codes import AckStatus
from services.adjudication import handler
from services.adjudication.handler import PersonRow, _note
from services.adjudication.seen import Seen, SeenLog


def _noted_dict(seen: dict[str, Seen], key: str, value: Seen, limit: int) -> dict[str, Seen]:
    """The rule before ``SeenLog`` (``_note`` at stop 23), the reference."""
    noted = dict(seen)
    noted[key] = value
    if len(noted) > limit:
        del noted[next(iter(noted))]
    return noted


def _rows(seen: dict[str, Seen]) -> list[list[object]]:
    return [[k, s.offset, s.status, s.code, s.text, s.setl_id] for k, s in seen.items()]


def _check(log: SeenLog, model: dict[str, Seen], probes: list[str]) -> None:
    assert log.items() == list(model.items())
    assert list(log) == list(model)
    assert len(log) == len(model)
    for key in probes:
        assert log.get(key) is model.get(key)
        assert (key in log) == (key in model)
    assert log.to_json() == orjson.dumps(_rows(model))


STEPS = st.lists(
    st.tuples(
        st.sampled_from(["note", "note", "note", "write", "restore", "forget", "renote"]),
        st.integers(min_value=0, max_value=30),  # which version to act on (modulo)
        st.integers(min_value=0, max_value=40),  # which earlier key, for "renote"
    ),
    max_size=60,
)


@settings(max_examples=400, deadline=None)
@given(steps=STEPS, limit=st.integers(min_value=1, max_value=6))
def test_every_version_reads_and_writes_as_the_copied_dict(
    steps: list[tuple[str, int, int]], limit: int
) -> None:
    versions: list[tuple[SeenLog, dict[str, Seen]]] = [(SeenLog(), {})]
    keys: list[str] = []
    counter = 0
    for action, which, earlier in steps:
        log, model = versions[which % len(versions)]
        if action in ("note", "renote"):
            counter += 1
            if action == "renote" and keys:
                key = keys[earlier % len(keys)]
                if key in model:
                    continue  # the handler never notes a key the version holds
            else:
                key = f"id-{counter}"
                keys.append(key)
            status = AckStatus.REJECTED if counter % 3 else AckStatus.ACCEPTED
            value = Seen(counter, status, "E_X" if counter % 3 else None, 't\n"é', None)
            versions.append((log.noted(key, value, limit), _noted_dict(model, key, value, limit)))
        elif action == "write":
            log.to_json()
        elif action == "restore":
            raw = log.to_json()
            restored = SeenLog.of(
                (k, Seen(o, s, c, t, i)) for k, o, s, c, t, i in orjson.loads(raw)
            )
            assert restored.to_json() == raw
            assert restored == log
        else:
            log.forget_json()
        order = versions[::-1] if which % 2 else versions  # newest first: a later front
        for version, expected in order:  # written before an older one on the same log
            _check(version, expected, keys)


@settings(max_examples=150, deadline=None)
@given(
    count=st.integers(min_value=0, max_value=40),
    limit=st.integers(min_value=1, max_value=8),
    writes=st.sets(st.integers(min_value=0, max_value=40)),
)
def test_a_row_writes_and_restores_its_seen_as_before(
    count: int, limit: int, writes: set[int]
) -> None:
    """Through ``PersonRow``: ``_note``, ``to_json``, ``from_json`` and ``forget_json``."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(handler, "SEEN_LIMIT", limit)
        row = PersonRow()
        model: dict[str, Seen] = {}
        for n in range(count):
            value = Seen(n, AckStatus.ACCEPTED, None, None, f"S{n}")
            _note(row, f"id-{n}", value)
            model = _noted_dict(model, f"id-{n}", value, limit)
            if n in writes:
                written = orjson.loads(row.to_json())
                assert written["seen"] == _rows(model)
                if n % 3 == 0:
                    row.forget_json()
                if n % 2 == 0:
                    row = PersonRow.from_json(row.to_json())
        assert orjson.loads(row.to_json())["seen"] == _rows(model)
        assert row.seen.items() == list(model.items())


def test_a_full_memory_notes_without_copying_it() -> None:
    """A long-lived person at the limit: each note appends to the shared log (its list is
    the same object) except once per ``limit`` notes, when the log is compacted."""
    limit = 256
    log = SeenLog()
    for n in range(limit):
        log = log.noted(f"id-{n}", Seen(n, AckStatus.ACCEPTED), limit)
    copies = 0
    for n in range(limit, 4 * limit):
        before = log._log  # the sharing is what is under test
        log = log.noted(f"id-{n}", Seen(n, AckStatus.ACCEPTED), limit)
        copies += log._log is not before
        assert len(log) == limit
    assert copies == 2  # 768 notes: a copy of 256 entries once the log holds 512
    assert next(iter(log)) == f"id-{3 * limit}"
