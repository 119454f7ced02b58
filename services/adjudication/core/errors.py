"""Why a request was refused: a small tree of typed rejections with stable codes.

The ``code`` reaches the hospital's ack and the DLQ record unchanged, so it is
a contract: never rename one. ``detail`` is for operators and must never hold
personal data (no certno, no names) — only codes, ids and amounts.
"""

from __future__ import annotations

from typing import ClassVar


class Rejection(Exception):
    """Root of every adjudication refusal; the request changes no state."""

    code: ClassVar[str] = "E_REJECTED"

    def __init__(self, detail: str = "") -> None:
        super().__init__(f"{self.code}: {detail}" if detail else self.code)
        self.detail = detail


class EligibilityRejection(Rejection):
    """The person may not settle this visit here; the hospital bills them directly."""


class NotInsured(EligibilityRejection):
    """The person holds no such insutype (1101 has no matching ``insuinfo`` row)."""

    code = "E_NOT_INSURED"


class InsuranceSuspended(EligibilityRejection):
    """Insurance exists but is suspended (暂停参保): the home region pays nothing."""

    code = "E_INSURANCE_SUSPENDED"


class NoValidFiling(EligibilityRejection):
    """Cross-region, no filing covers the date and region, not emergency, not a zone,
    and the home region's rule for unfiled treatment is to reject."""

    code = "E_NO_VALID_FILING"


class InstitutionNotNetworked(EligibilityRejection):
    """The institution is not networked for cross-region settlement of this category."""

    code = "E_INSTITUTION_NOT_NETWORKED"


class UnknownInstitution(EligibilityRejection):
    """No reference row for the ``fixmedins_code``."""

    code = "E_UNKNOWN_INSTITUTION"


class ReferenceRejection(Rejection):
    """Reference data cannot price or adjudicate the request."""


class NoPolicy(ReferenceRejection):
    """No policy pack or benefit rule for the home region, year, insutype and category."""

    code = "E_NO_POLICY"


class NoCatalog(ReferenceRejection):
    """No catalog for the treatment region."""

    code = "E_NO_CATALOG"


class UnknownItem(ReferenceRejection):
    """A fee line's item code is not in the catalog and the catalog says reject."""

    code = "E_UNKNOWN_ITEM"


class VisitRejection(Rejection):
    """The request does not fit the visit's lifecycle."""


class VisitUnknown(VisitRejection):
    """No open visit with this ``mdtrt_id`` for this person."""

    code = "E_VISIT_UNKNOWN"


class VisitExists(VisitRejection):
    """Registration for an ``mdtrt_id`` that is already registered."""

    code = "E_VISIT_EXISTS"


class VisitClosed(VisitRejection):
    """The visit is cancelled or settled, so it takes no more fees or settlements."""

    code = "E_VISIT_CLOSED"


class AlreadySettled(VisitRejection):
    """The derived ``setl_id`` exists: the request is a duplicate or reuses a hospital id."""

    code = "E_ALREADY_SETTLED"


class FeeLineConflict(VisitRejection):
    """A fee line number was uploaded twice with different content, or withdrawn unknown."""

    code = "E_FEE_LINE_CONFLICT"


class FeeTotalMismatch(VisitRejection):
    """``medfee_sumamt`` in the request differs from the sum of the visit's fee lines."""

    code = "E_FEE_TOTAL_MISMATCH"


class SettlementUnknown(VisitRejection):
    """Reversal of a ``setl_id`` this person never had."""

    code = "E_SETTLEMENT_UNKNOWN"


class AlreadyReversed(VisitRejection):
    """Reversal of a settlement that is already reversed."""

    code = "E_ALREADY_REVERSED"


ALL_REJECTIONS: tuple[type[Rejection], ...] = (
    NotInsured,
    InsuranceSuspended,
    NoValidFiling,
    InstitutionNotNetworked,
    UnknownInstitution,
    NoPolicy,
    NoCatalog,
    UnknownItem,
    VisitUnknown,
    VisitExists,
    VisitClosed,
    AlreadySettled,
    FeeLineConflict,
    FeeTotalMismatch,
    SettlementUnknown,
    AlreadyReversed,
)
