"""The person agents take events in batches (faust's ``Stream.take_events``), and each table
write of a batch names the event it comes from.

Why batches: an alert is written to PostgreSQL and acknowledged by the broker before the
state that remembers it is written (app.py says why). Per event that was two round trips
per alert on the agent's only path: during the pipeline bench (2,000 visits, whose traffic
raised ~785 duplicate-billing alerts) they took 60 of the visits agent's 69 busy seconds,
~95 ms an alert, and the visit backlog drained at ~100 records/s (docs/supervision.md,
"Throughput"). Per batch the order of effects is the same — every alert of the batch
stored and acknowledged, then the batch's states written — with one insert and one wait
for the broker per batch. ``take_events`` acks the batch's events only after the agent's
body for the batch returns, so a crash mid-batch redelivers all of it (the ``seen`` ids
make that harmless).

Why ``as_current``: a faust table write takes its changelog partition from the event being
processed (``Collection.partition_for_key`` reads faust's ``current_event`` context
variable), which a batch's body does not have; each write therefore runs with its own
event set as current — the same partition the per-event path used.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from faust import streams

BATCH_MAX = 2000
"""Events per batch at most (faust's stream buffer holds 8,192). A person written once per
batch: at 500 a backlog's batches averaged ~340 visit events and wrote a state for ~0.39 of
them; at 2,000 (~620 a batch, the rest being what the fetch had delivered within
``BATCH_WITHIN_S``) ~0.33, and one alert insert and broker wait per batch for fewer batches."""
BATCH_WITHIN_S = 0.2
"""How long a batch waits to fill: the latency a quiet stream adds to an alert."""


@contextmanager
def as_current(event: Any) -> Iterator[None]:
    """``event`` is faust's current event inside the block (for table writes)."""
    token = streams._current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        streams._current_event.reset(token)


def write_as(event: Any, table: Any, key: Any, value: Any) -> None:
    """``table[key] = value`` with ``event`` as faust's current event: ``as_current`` without
    a context manager's generator, for the one write per changed state of every batch."""
    token = streams._current_event.set(weakref.ref(event))
    try:
        table[key] = value
    finally:
        streams._current_event.reset(token)
