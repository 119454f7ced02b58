"""The short retry after ``CONCURRENT_TRANSACTIONS`` (events/stream/txn_backoff.py): that one
error waits 3 ms, every other keeps the producer's own back-off (an outage is not polled
faster), and building a transactional producer installs it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from aiokafka.errors import (
    ConcurrentTransactions,
    CoordinatorLoadInProgressError,
    NotCoordinatorError,
)
from aiokafka.producer import sender

from events.stream import txn_backoff
from events.stream.clients import KafkaConnection, transactional_producer

DEFAULT_BACKOFF_S = 0.1


class _Sender:
    _retry_backoff = DEFAULT_BACKOFF_S

    def __init__(self) -> None:
        self._txn_manager = SimpleNamespace(transactional_id="t")
        self.dead: list[object] = []

    def _coordinator_dead(self, kind: object) -> None:
        self.dead.append(kind)


def _handlers() -> list[sender.BaseHandler]:
    s = _Sender()
    return [sender.AddOffsetsToTxnHandler(s, "g"), sender.EndTxnHandler(s, True)]


@pytest.fixture(autouse=True)
def _installed() -> None:
    txn_backoff.install()


def test_concurrent_transactions_is_retried_after_3_ms() -> None:
    for handler in _handlers():
        resp = SimpleNamespace(error_code=ConcurrentTransactions.errno)
        assert handler.handle_response(resp) == txn_backoff.CONCURRENT_TRANSACTIONS_BACKOFF_S


@pytest.mark.parametrize("error", [CoordinatorLoadInProgressError, NotCoordinatorError])
def test_other_errors_keep_the_producers_back_off(error: type[Exception]) -> None:
    for handler in _handlers():
        resp = SimpleNamespace(error_code=error.errno)  # type: ignore[attr-defined]
        assert handler.handle_response(resp) == DEFAULT_BACKOFF_S


async def test_install_is_idempotent_and_a_transactional_producer_installs_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = sender.AddOffsetsToTxnHandler.handle_response
    txn_backoff.install()
    assert sender.AddOffsetsToTxnHandler.handle_response is original  # not wrapped twice
    assert txn_backoff.installed()
    calls: list[bool] = []
    monkeypatch.setattr(txn_backoff, "install", lambda: calls.append(True))
    conn = KafkaConnection("127.0.0.1:1", "PLAINTEXT")
    transactional_producer(conn, client_id="c", transactional_id="c-p0")
    assert calls == [True]
