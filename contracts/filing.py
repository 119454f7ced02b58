"""Registration-topic messages from home-region agencies: insured status and filings (备案).

Filings arrive from many channels (agency window, phone, app, mini-program,
hospital); the sender is the registrant and gets the ack. Temporary filings
are valid at least six months (DOMAIN.md section 2), long-term ones until
revoked.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from contracts.codes import FilingType
from contracts.common import Admdvs, AwareDatetime, CertNo, Code, Contract, PsnNo, ShortText
from contracts.reference import InsuredPerson

REGISTRATION_TOPIC = "yidi.registration.v1"
Channel = Literal["agency_window", "phone", "app", "mini_program", "hospital"]
MIN_TEMPORARY_DAYS = 183


class RegistrationMessage(Contract):
    topic: ClassVar[str] = REGISTRATION_TOPIC

    psn_no: PsnNo
    insuplc_admdvs: Admdvs
    inf_time: AwareDatetime


class PersonStatus(RegistrationMessage):
    """The home region's view of an insured person (1101): insurance rows, status, flags."""

    ce_type: ClassVar[str] = "cn.yidi.person.status.v1"

    person: InsuredPerson

    @model_validator(mode="after")
    def _same_person(self) -> PersonStatus:
        if self.person.psn_no != self.psn_no:
            raise ValueError("person.psn_no differs from psn_no")
        return self


class FilingCreated(RegistrationMessage):
    """A filing: where the person may be treated, from when, until when."""

    ce_type: ClassVar[str] = "cn.yidi.filing.created.v1"

    filing_id: Code = Field(max_length=64)
    psn_cert_type: Code = "01"
    certno: CertNo = Field(repr=False)
    filing_type: FilingType
    mdtrtarea_admvs: Admdvs = Field(
        description="a district, a city (xxxx00) or a province (xx0000)"
    )
    begndate: dt.date
    enddate: dt.date | None = None
    channel: Channel
    reason: ShortText = ""

    @model_validator(mode="after")
    def _dates(self) -> FilingCreated:
        if self.enddate is not None:
            if self.enddate < self.begndate:
                raise ValueError("enddate is before begndate")
            if self.filing_type.policy_kind != "long_term" and (
                (self.enddate - self.begndate).days < MIN_TEMPORARY_DAYS
            ):
                raise ValueError(f"a temporary filing is valid at least {MIN_TEMPORARY_DAYS} days")
        return self


class FilingRevoked(RegistrationMessage):
    ce_type: ClassVar[str] = "cn.yidi.filing.revoked.v1"

    filing_id: Code = Field(max_length=64)
    revoked_on: dt.date
    reason: ShortText = ""


REGISTRATION_MESSAGES: tuple[type[RegistrationMessage], ...] = (
    PersonStatus,
    FilingCreated,
    FilingRevoked,
)
