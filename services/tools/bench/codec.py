"""Codec throughput: decode + validate + authenticate a visit message with 10 fee lines.

The baseline is plain ``model_validate_json`` of the same bytes, measured in
the same process, interleaved with the full path, so machine noise hits both.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from contracts.samples import SHANGHAI_HOSPITAL, fee_lines, samples
from contracts.visit import FeesUploaded, SettlementRequested
from events.wire.codec import Codec
from events.wire.demo_keys import demo_registry
from services.runtime.stats import median


@dataclass(frozen=True, slots=True)
class CodecBench:
    messages: int
    runs: int
    full_per_s: float
    baseline_per_s: float
    bytes_per_message: int

    @property
    def ratio(self) -> float:
        return self.full_per_s / self.baseline_per_s if self.baseline_per_s else 0.0


def _rate(fn: Callable[[], object], n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - started)


def run(messages: int = 5000, runs: int = 7) -> CodecBench:
    """The fees upload of a settlement with 10 fee lines (about 2 KB), HMAC-signed.

    Why that message: a settlement request (2207/2304) carries no lines in the
    national interface — they arrive in the fees upload (2204/2301) before it —
    so the upload is the settlement's heaviest message: 10 lines whose amounts
    are re-checked (cnt x pric, half-up) and twice the bytes to MAC."""
    base = SettlementRequested.model_validate(samples()[SettlementRequested.ce_type].model_dump())
    fees = FeesUploaded.model_validate(
        {**samples()[FeesUploaded.ce_type].model_dump(), "feedetail": fee_lines(10)}
    )
    codec = Codec(demo_registry([SHANGHAI_HOSPITAL]))
    key, value, headers = codec.encode(
        fees, ce_id="bench-1", sender=SHANGHAI_HOSPITAL, ce_time=base.inf_time
    )
    full, plain = [], []
    for _ in range(runs):
        full.append(_rate(lambda: codec.decode(key, value, headers), messages))
        plain.append(_rate(lambda: FeesUploaded.model_validate_json(value), messages))
    return CodecBench(messages, runs, median(full), median(plain), len(value))
