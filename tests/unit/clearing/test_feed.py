"""The trusted clearing mapper (facts straight from the published JSON) equals the validating
one (the contract decoded) on every record of a simulated feed, and really takes its own
path for them: it sits beside ``ClearingMapper`` in ``services/clearing/feed.py``."""

from __future__ import annotations

from pathlib import Path

from aiokafka.structs import ConsumerRecord

from events import catalog
from events.stream.clients import to_input
from events.wire.codec import Codec
from events.wire.demo_keys import demo_registry
from services.adjudication.reference import load_reference
from services.clearing.feed import ClearingMapper, Fact, TrustedClearingMapper
from services.entry.bootstrap import sender_ids
from tests.settlement_feed import settlement_feed


def test_trusted_clearing_facts_equal_the_validating_ones(tmp_path: Path) -> None:
    ref = load_reference()
    codec = Codec(demo_registry(sender_ids(ref)))
    feed = settlement_feed(codec, tmp_path, 300, 11, "feed-eq")
    trusted = TrustedClearingMapper(codec, ref.pooling)
    fallbacks = 0
    validating = trusted.validating

    def counting(record: object) -> object:
        nonlocal fallbacks
        fallbacks += 1
        return validating(record)  # type: ignore[arg-type]

    trusted.validating = counting  # type: ignore[assignment]
    reference = ClearingMapper(codec, ref.pooling)
    facts = 0
    for offset, (key, value, headers) in enumerate(feed):
        record = ConsumerRecord(
            catalog.SETTLEMENT, offset % 12, offset, 0, 0, key, value, None, 0, len(value),
            tuple(headers),
        )  # fmt: skip
        expected = reference(to_input(record))
        assert trusted(record) == expected
        facts += isinstance(expected, Fact)
    assert len(feed) > 100 and facts > 20, (len(feed), facts)
    assert fallbacks == 0


def test_a_trusted_rebuild_worker_starts_without_the_contract_models() -> None:
    """``copy_line`` sits beside ``ledger_row`` without costing the rebuild worker's start-up
    the contract models (they load only when a batch is refused)."""
    import subprocess
    import sys

    code = (
        "import sys, services.ops.rebuild_worker, services.ledger.rows; "
        "print(sorted(m for m in sys.modules if m.startswith('contracts')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
