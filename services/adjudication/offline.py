"""Offline adjudication: a JSONL file of messages through the same core, in order.

Why: agencies replay a month of traffic against a changed policy pack to see
what it would cost, and tests check determinism end to end. The runner keeps
every person's state in memory, decodes each line with the codec, applies its
command with ``core.commands.apply``, and writes one line per settlement,
pre-settlement, reversal or rejection ack (accepted lifecycle events produce
no line). Output is canonical and every output id derives from its input's
``ce_id``, so the same input gives byte-identical output.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from contracts.reference import InsuredPerson
from contracts.settlement import Reversed, Settled
from services.adjudication.core.breakdown import Breakdown
from services.adjudication.core.commands import Outcome, apply
from services.adjudication.core.errors import Rejection
from services.adjudication.core.money import fen_to_yuan
from services.adjudication.core.person import PersonState
from services.adjudication.core.settlement_json import reversed_message, settled_message
from services.adjudication.core.tables import ReferenceData
from services.adjudication.wire import (
    Incoming,
    InvalidLine,
    UnhandledMessage,
    command_of,
    derived_id,
    encode_line,
    read_line,
    rejection_ack,
)

__all__ = ["InvalidLine", "OfflineRunner", "Summary", "run"]


@dataclass
class PairTotals:
    """Fund totals for one home -> treatment pair (fen); reversals subtract."""

    settlements: int = 0
    medfee: int = 0
    fund: int = 0
    acct: int = 0


@dataclass
class Summary:
    """Counts by outcome (rejections by code) and totals by pair."""

    outcomes: Counter[str] = field(default_factory=Counter)
    pairs: dict[tuple[str, str], PairTotals] = field(default_factory=dict)

    def add(self, home: str, treatment: str, b: Breakdown, sign: int) -> None:
        """Count a settlement (+1) or a reversal (-1) for its pair."""
        t = self.pairs.setdefault((home, treatment), PairTotals())
        t.settlements += sign
        t.medfee += sign * b.medfee_sumamt
        t.fund += sign * b.fund_pay_sumamt
        t.acct += sign * b.acct_pay

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, sorted, amounts as yuan strings."""
        return {
            "outcomes": dict(sorted(self.outcomes.items())),
            "pairs": [
                {
                    "home": home,
                    "treatment": treatment,
                    "settlements": t.settlements,
                    "medfee_sumamt": str(fen_to_yuan(t.medfee)),
                    "fund_pay_sumamt": str(fen_to_yuan(t.fund)),
                    "acct_pay": str(fen_to_yuan(t.acct)),
                }
                for (home, treatment), t in sorted(self.pairs.items())
            ],
        }


class OfflineRunner:
    """Per-person state in memory; one ``feed`` call per input line."""

    def __init__(self, ref: ReferenceData) -> None:
        self.ref = ref
        self.states: dict[str, PersonState] = {}
        self.persons: dict[str, InsuredPerson] = {}
        self.summary = Summary()

    def feed(self, raw: bytes | str) -> list[bytes]:
        """Process one JSONL line; return the output lines it produced."""
        incoming = read_line(raw)
        if incoming.error is not None or incoming.message is None:
            err = incoming.error
            code, text = (err.code, err.message) if err else ("E_DECODE", "no message")
            return [self._reject(incoming, code, text, err.field if err else None)]
        try:
            key, command = command_of(incoming.message)
        except UnhandledMessage as exc:
            return [self._reject(incoming, "E_UNHANDLED", f"not consumed here: {exc}")]
        if isinstance(command, InsuredPerson):
            self.persons[key] = command
            self.summary.outcomes["person"] += 1
            return []
        state = self.states.get(key) or PersonState()
        try:
            new_state, outcome = apply(state, command, self.persons.get(key), self.ref)
        except Rejection as exc:
            return [self._reject(incoming, exc.code, exc.detail)]
        self.states[key] = new_state
        self.summary.outcomes[outcome.kind] += 1
        return self._outputs(incoming, outcome)

    def _reject(self, incoming: Incoming, code: str, text: str, at: str | None = None) -> bytes:
        self.summary.outcomes[f"rejected:{code}"] += 1
        ack = rejection_ack(incoming, code, text, at)
        return encode_line(ack, derived_id(incoming.ce_id, "ack"), incoming.ce_time)

    def _outputs(self, incoming: Incoming, outcome: Outcome) -> list[bytes]:
        message: Settled | Reversed
        if outcome.settlement is not None:
            s = outcome.settlement
            if outcome.kind == "settled":
                self.summary.add(s.insuplc_admdvs, s.mdtrtarea_admvs, s.breakdown, 1)
            message = settled_message(s)
        elif outcome.reversal is not None:
            o = outcome.reversal.original
            self.summary.add(o.insuplc_admdvs, o.mdtrtarea_admvs, o.breakdown, -1)
            message = reversed_message(outcome.reversal)
        else:
            return []
        return [encode_line(message, derived_id(incoming.ce_id, outcome.kind), incoming.ce_time)]


def run(lines: Iterable[bytes | str], ref: ReferenceData) -> tuple[Iterator[bytes], OfflineRunner]:
    """Lazily adjudicate ``lines``; the runner's summary is complete once consumed."""
    runner = OfflineRunner(ref)

    def outputs() -> Iterator[bytes]:
        for number, raw in enumerate(lines, 1):
            if raw.strip():
                try:
                    yield from runner.feed(raw)
                except InvalidLine as exc:
                    raise InvalidLine(f"line {number}: {exc}") from exc

    return outputs(), runner
