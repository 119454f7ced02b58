"""A short retry for the one error every back-to-back transaction meets, instead of 100 ms.

Why: the coordinator answers ``EndTxn`` once the commit is *prepared*; it writes the commit
markers to the partitions afterwards. A producer that starts its next transaction meanwhile
gets ``CONCURRENT_TRANSACTIONS`` for its first request of it and must ask again (KAFKA-5477).
The engine's first request of a transaction is ``AddOffsetsToTxn`` (the consumed offsets go
first: aiokafka #1004), and aiokafka 0.14 retries that after ``retry_backoff_ms`` (100 ms):
every batch of a partition paid ~100 ms, which was most of the ack latency with transactions
on (measured: 114-124 ms per back-to-back transaction on the local broker, 10-13 ms with a
2-5 ms retry; docs/performance.md). aiokafka already shortens the same retry for
``AddPartitionsToTxn`` (its ``BACKOFF_OVERRIDE``, 20 ms; Java's producer does the same);
this extends it to ``AddOffsetsToTxn`` and ``EndTxn`` with a shorter wait, because the
markers of a local cluster take a few milliseconds, not tens.

Only that error's wait changes: a lost coordinator, a load in progress or a dead broker keep
the producer's own back-off, so an outage is not polled any faster. ``install`` is idempotent
and checked at import by a unit test (an aiokafka upgrade that renames the handlers fails it).
"""

from __future__ import annotations

from typing import Any

from aiokafka.errors import ConcurrentTransactions, for_code
from aiokafka.producer import sender

CONCURRENT_TRANSACTIONS_BACKOFF_S = 0.003
"""Retry after 3 ms: the markers of the transaction just committed are being written."""

_HANDLERS = (sender.AddOffsetsToTxnHandler, sender.EndTxnHandler)
_MARK = "_yidi_short_concurrent_backoff"


def _shortened(original: Any) -> Any:
    def handle_response(self: Any, resp: Any) -> float | None:
        backoff: float | None = original(self, resp)
        if backoff is not None and for_code(resp.error_code) is ConcurrentTransactions:
            return CONCURRENT_TRANSACTIONS_BACKOFF_S
        return backoff

    setattr(handle_response, _MARK, True)
    return handle_response


def install() -> None:
    """Shorten the ``CONCURRENT_TRANSACTIONS`` retry of aiokafka's transaction handlers."""
    for handler in _HANDLERS:
        if not getattr(handler.handle_response, _MARK, False):
            handler.handle_response = _shortened(handler.handle_response)


def installed() -> bool:
    return all(getattr(h.handle_response, _MARK, False) for h in _HANDLERS)
