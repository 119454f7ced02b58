"""Code tables of the national interface (DOMAIN.md section 4) as string enums.

Why enums: an unknown code must be rejected at the edge naming the field and
the code, never carried into the adjudicator as a plain string.
"""

from __future__ import annotations

from enum import StrEnum


class Insutype(StrEnum):
    EMPLOYEE_BASIC = "310"
    CIVIL_SERVANT = "320"
    LARGE_AMOUNT = "330"
    RETIRED_CADRE = "340"
    ENTERPRISE_SUPPLEMENTARY = "370"
    RESIDENT_BASIC = "390"
    RESIDENT_CRITICAL_ILLNESS = "392"
    MATERNITY = "510"


class MedType(StrEnum):
    ORDINARY_OUTPATIENT = "11"
    EMERGENCY = "13"
    CHRONIC_OUTPATIENT = "14"
    ORDINARY_INPATIENT = "21"
    TRAUMA_INPATIENT = "22"
    EMERGENCY_TO_INPATIENT = "24"
    DAY_SURGERY = "28"
    PHARMACY = "41"
    MATERNITY_OUTPATIENT = "51"
    MATERNITY_INPATIENT = "52"


class ClrType(StrEnum):
    OUTPATIENT = "11"
    INPATIENT = "21"
    PHARMACY = "41"
    OTHER = "99"


class ClrWay(StrEnum):
    BY_ITEM = "01"
    SINGLE_DISEASE = "02"
    PER_BED_DAY = "03"
    CAPITATION = "04"
    DRG_POINTS = "05"
    OTHER = "99"


class FundPayType(StrEnum):
    EMPLOYEE_POOLED = "310100"
    PERSONAL_ACCOUNT = "310200"
    CIVIL_SERVANT = "320100"
    LARGE_AMOUNT = "330100"
    RESIDENT_BASIC = "390100"
    RESIDENT_CRITICAL_ILLNESS = "390200"
    MATERNITY = "510100"
    MEDICAL_ASSISTANCE = "610100"
    HOSPITAL_ADVANCE = "999996"


class PayLoc(StrEnum):
    CENTER = "1"
    INSTITUTION = "2"
    INTRA_PROVINCE = "3"
    CROSS_PROVINCE = "4"
    INTERNET_HOSPITAL = "5"


class MdtrtCertType(StrEnum):
    E_VOUCHER = "01"
    ID_CARD = "02"
    SOCIAL_SECURITY_CARD = "03"


class PsnSetlway(StrEnum):
    BY_ITEM = "01"
    FIXED_AMOUNT = "02"


class FilingType(StrEnum):
    """Filing (备案) types of DOMAIN.md section 2. The first three are long-term."""

    RESETTLED_RETIREE = "resettled_retiree"
    LONG_TERM_RESIDENT = "long_term_resident"
    POSTED_WORKER = "posted_worker"
    REFERRAL = "referral"
    EMERGENCY = "emergency"
    OTHER_TEMPORARY = "other_temporary"

    @property
    def policy_kind(self) -> str:
        """The cross-region cut this filing gets (the policy pack's ``FilingKind``)."""
        if self in (
            FilingType.RESETTLED_RETIREE,
            FilingType.LONG_TERM_RESIDENT,
            FilingType.POSTED_WORKER,
        ):
            return "long_term"
        return self.value


class RefdSetlFlag(StrEnum):
    NORMAL = "0"
    REFUND = "1"


class StmtRslt(StrEnum):
    BALANCED = "0"
    UNBALANCED = "1"


class ClearingStatus(StrEnum):
    APPLIED = "10"
    ACCEPTED = "20"
    CLEARED = "50"


class AckStatus(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


class CatalogClass(StrEnum):
    A = "A"
    B = "B"
    C = "C"
