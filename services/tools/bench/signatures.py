"""Per-message cost of authenticating a message: HMAC-SHA256 (visit traffic) against an
Ed25519 signature (agency sign-offs), over the same canonical bytes: ``yidi bench signatures``.

Why: visit traffic keeps the MAC unless an asymmetric scheme keeps the pipeline's throughput
within 10 %; this gives the per-message cost to set against the pipeline's per-message budget
(docs/performance.md)."""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from contracts.samples import samples
from events.wire.agency_signing import AgencyKeys, sign
from events.wire.codec import canonical_bytes
from events.wire.demo_keys import demo_key, demo_signing_key
from events.wire.envelope import Envelope
from events.wire.signing import KeyRegistry, compute_mac


@dataclass(frozen=True, slots=True)
class SignatureCost:
    bytes_per_message: int
    hmac_sign_us: float
    hmac_verify_us: float
    ed25519_sign_us: float
    ed25519_verify_us: float


def _median_us(fn: Callable[[], object], n: int, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - t0) / n * 1e6)
    return round(statistics.median(times), 2)


def run(n: int = 2000, runs: int = 5) -> SignatureCost:
    message = samples()["cn.yidi.visit.fees_uploaded.v1"]
    value = canonical_bytes(message)
    when = dt.datetime(2026, 10, 12, tzinfo=dt.UTC)
    env = Envelope("bench-1", message.ce_type, "urn:yidi:sender:AG330000", when.isoformat())
    mac_key = demo_key("AG330000")
    registry = KeyRegistry([mac_key])
    mac_env = env._replace(kid=mac_key.kid, mac=compute_mac(mac_key.secret, env, value))
    ed = demo_signing_key("AG330000")
    public = AgencyKeys([ed.public_key()])
    sig_env = env._replace(kid=ed.kid, sig=sign(ed, env, value))
    return SignatureCost(
        bytes_per_message=len(value),
        hmac_sign_us=_median_us(lambda: compute_mac(mac_key.secret, env, value), n, runs),
        hmac_verify_us=_median_us(lambda: registry.verify(mac_env, value, when), n, runs),
        ed25519_sign_us=_median_us(lambda: sign(ed, env, value), n, runs),
        ed25519_verify_us=_median_us(lambda: public.verify(sig_env, value, when), n, runs),
    )
