"""The core's edge: contract messages map to the right commands, and settlements
become valid ``Settled`` / ``Reversed`` contracts that survive the codec."""

from __future__ import annotations

import datetime as dt

from contracts.filing import FilingCreated, FilingRevoked
from contracts.settlement import Reversed, Settled
from events.wire.codec import Codec
from services.adjudication.core import PersonState, reverse
from services.adjudication.core.adjudicator import SHANGHAI
from services.adjudication.core.commands import RecordFiling, RevokeFiling, Settle, apply
from services.adjudication.core.messages import command_for, registration_command
from services.adjudication.core.settlement_json import reversed_message, settled_message
from services.adjudication.core.tables import ReferenceData
from services.testing.builders import line, person
from services.testing.sample_events import CERT, T0, settlement_request
from tests.unit.adjudication.test_cases import REFERRAL_SH, SH3, ref, run

__all__ = ["ref"]


def _filing(kind: str) -> FilingCreated:
    return FilingCreated.model_validate(
        {"psn_no": "P0001", "insuplc_admdvs": "330900", "inf_time": T0, "filing_id": "F1",
         "certno": CERT, "filing_type": kind, "mdtrtarea_admvs": "310000",
         "begndate": "2026-01-01", "channel": "hospital"}
    )  # fmt: skip


def test_filing_types_map_to_policy_kinds() -> None:
    cmd = registration_command(_filing("resettled_retiree"))
    assert isinstance(cmd, RecordFiling) and cmd.filing.kind == "long_term"
    cmd = registration_command(
        _filing("referral").model_copy(update={"enddate": dt.date(2026, 12, 31)})
    )
    assert isinstance(cmd, RecordFiling) and cmd.filing.kind == "referral"


def test_revocation_takes_effect_on_its_date(ref: ReferenceData) -> None:
    state, _ = apply(PersonState(), registration_command(_filing("posted_worker")), None, ref)  # type: ignore[arg-type]
    revoke = FilingRevoked(psn_no="P0001", insuplc_admdvs="330900", inf_time=T0, filing_id="F1",
                           revoked_on=dt.date(2026, 3, 5))  # fmt: skip
    cmd = registration_command(revoke)
    assert isinstance(cmd, RevokeFiling)
    state, _ = apply(state, cmd, None, ref)
    filing = state.filings["F1"]
    assert filing.covers("310104", dt.date(2026, 3, 4)) and not filing.covers(
        "310104", dt.date(2026, 3, 5)
    )


def test_settlement_request_maps_to_settle() -> None:
    msg = settlement_request("P0001", "330900", "M1", SH3, "100.00", "HS1", T0, insutype="390")
    cmd = command_for(msg)
    assert isinstance(cmd, Settle) and not cmd.pre
    assert (cmd.request.medfee_sumamt_fen, cmd.request.acct_used_flag) == (10000, True)
    assert cmd.request.setl_time == T0


def test_settled_and_reversed_messages_round_trip_the_codec(ref: ReferenceData) -> None:
    state, s = run(ref, person(), SH3, "310104", "21", [line("1", "210300001", "400", "2"),
                   line("2", "330100001", "30000")], filings=(REFERRAL_SH,))  # fmt: skip
    settled = settled_message(s)
    codec = Codec()
    key, value, headers = codec.encode(settled, ce_id="c1", sender="yidi-adjudication",
                                       ce_time=T0, sign=False)  # fmt: skip
    decoded = codec.decode(key, value, headers, authenticate=False).message
    assert isinstance(decoded, Settled) and decoded == settled
    assert decoded.setlinfo.hifp_pay == s.breakdown.hifp_pay / 100
    _, rev = reverse(state, s.setl_id, dt.datetime(2026, 3, 6, tzinfo=SHANGHAI))
    reversed_ = reversed_message(rev)
    assert isinstance(reversed_, Reversed) and reversed_.orig_setl_id == s.setl_id
    assert reversed_.setlinfo.fund_pay_sumamt == settled.setlinfo.fund_pay_sumamt


def test_local_settlement_is_a_valid_message(ref: ReferenceData) -> None:
    # Xinjiang's region-level pool: a 650000 resident in Urumqi (650102) is local
    from tests.unit.adjudication.test_cases import URUMQI

    _, s = run(ref, person(home="650000"), URUMQI, "650102", "21", [line("1", "330100001", "100")])
    assert settled_message(s).route == "local"


def test_each_visit_type_takes_exactly_one_branch_of_command_for() -> None:
    """``command_for`` tests the commonest types first: exact only because no message type
    is an instance of two of its branches' classes (a subclass of one, as a pre-settlement
    of a settlement request, takes that one's branch wherever it stands)."""
    from contracts.registry import MESSAGE_TYPES
    from contracts.visit import (
        Discharged,
        FeesUploaded,
        FeesWithdrawn,
        ReversalRequested,
        SettlementRequested,
        VisitCancelled,
        VisitMessage,
        VisitRegistered,
    )

    branches = (
        SettlementRequested, VisitRegistered, Discharged, ReversalRequested, FeesWithdrawn,
        VisitCancelled, FeesUploaded,
    )  # fmt: skip
    visit_types = [t for t in MESSAGE_TYPES.values() if issubclass(t, VisitMessage)]
    assert len(visit_types) >= 8
    for t in visit_types:
        assert sum(issubclass(t, b) for b in branches) == 1, t.__name__
