"""The settlement feed of a simulated day as the adjudicator publishes it (for ledger tests)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson

from contracts.settlement import Reversed, Settled
from events.wire.codec import Codec
from services.adjudication.offline import run as offline_run
from services.adjudication.reference import load_reference
from services.tools.simulator.run import plan_messages, write_jsonl

REFERENCE = Path(__file__).resolve().parents[1] / "deploy" / "reference"
TYPES = {Settled.ce_type: Settled, Reversed.ce_type: Reversed}
Encoded = tuple[bytes | None, bytes, list[tuple[str, bytes]]]


def settlement_feed(codec: Codec, tmp: Path, visits: int, seed: int, run_id: str) -> list[Encoded]:
    """What the offline runner settles for ``visits`` simulated visits, encoded as published
    (key, value, headers), pre-settlements left out as the adjudicator leaves them."""
    events = tmp / "events.jsonl"
    write_jsonl(plan_messages(REFERENCE, codec, visits, seed=seed, run_id=run_id), events)
    out = []
    with events.open("rb") as lines:
        outputs, _runner = offline_run(lines, load_reference())
        for line in outputs:
            doc = orjson.loads(line)
            model = TYPES.get(doc["headers"]["ce_type"])
            if model is None or doc["body"].get("pre_settlement"):
                continue
            message = model.model_validate(doc["body"])
            out.append(
                codec.encode(
                    message,
                    ce_id=doc["headers"]["ce_id"],
                    sender="yidi-adjudication",
                    ce_time=dt.datetime.fromisoformat(doc["headers"]["ce_time"]),
                    sign=False,
                )
            )
    return out
