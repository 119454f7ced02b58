"""The pure adjudication core: no asyncio, no Kafka, no SQL, no structlog.

The stream processor and the offline runner call only what is listed here.
Where each rule lives: ``pricing`` (catalog classes, price limits), ``deductible``,
``basic_fund`` (ratio after the filing cut, yearly cap), ``critical_illness``,
``large_amount``, ``assistance``, ``personal_account``, ``eligibility`` (insured,
filing / zone / emergency, networking), ``calculate`` (the layers in order),
``visit`` and ``person`` (state and transitions), ``adjudicator`` (settle,
pre-settle, reverse), ``breakdown`` (identities), ``errors`` (rejection codes).

Every state and result type is a value: no function mutates one after
construction; transitions build new ones. The per-settlement types are plain
``slots`` dataclasses rather than ``frozen`` ones because a frozen dataclass's
``__init__`` costs about ten times as much per field, which on the hot path
halved throughput (``yidi bench adjudication``). Reference tables, built once,
stay frozen.
"""

from services.adjudication.core.accumulators import Accumulators
from services.adjudication.core.adjudicator import (
    SettleRequest,
    accumulators_of,
    business_date,
    pre_settle,
    reverse,
    settle,
)
from services.adjudication.core.breakdown import Breakdown, DetailRow, IdentityViolation
from services.adjudication.core.errors import ALL_REJECTIONS, Rejection
from services.adjudication.core.person import (
    PersonState,
    SettledRecord,
    cancel_visit,
    discharge,
    record_filing,
    register_visit,
    state_from_json,
    state_to_json,
    upload_fees,
    withdraw_fees,
)
from services.adjudication.core.pricing import FeeLine
from services.adjudication.core.setl_id import derive_reversal_id, derive_setl_id
from services.adjudication.core.settlement import Reversal, Settlement
from services.adjudication.core.tables import ReferenceData
from services.adjudication.core.visit import VisitState

__all__ = [
    "ALL_REJECTIONS",
    "Accumulators",
    "Breakdown",
    "DetailRow",
    "FeeLine",
    "IdentityViolation",
    "PersonState",
    "ReferenceData",
    "Rejection",
    "Reversal",
    "SettleRequest",
    "SettledRecord",
    "Settlement",
    "VisitState",
    "accumulators_of",
    "business_date",
    "cancel_visit",
    "derive_reversal_id",
    "derive_setl_id",
    "discharge",
    "pre_settle",
    "record_filing",
    "register_visit",
    "reverse",
    "settle",
    "state_from_json",
    "state_to_json",
    "upload_fees",
    "withdraw_fees",
]
