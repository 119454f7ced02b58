"""Every message type by its CloudEvents type: the one list the codec, the schema export
and ``yidi contracts check`` share."""

from __future__ import annotations

from contracts.ack import Ack
from contracts.clearing import CLEARING_MESSAGES, CLEARING_SIGNED
from contracts.common import Contract
from contracts.filing import REGISTRATION_MESSAGES
from contracts.recon import RECON_MESSAGES, RECON_SIGNED
from contracts.settlement import Reversed, Settled
from contracts.supervision import SUPERVISION_MESSAGES
from contracts.visit import VISIT_MESSAGES

_ALL: tuple[type[Contract], ...] = (
    *REGISTRATION_MESSAGES, *VISIT_MESSAGES, Settled, Reversed, Ack,
    *RECON_MESSAGES, *CLEARING_MESSAGES, *SUPERVISION_MESSAGES,
)  # fmt: skip
MESSAGE_TYPES: dict[str, type[Contract]] = {m.ce_type: m for m in _ALL}

SENDER_SIGNED: frozenset[str] = frozenset(
    m.ce_type for m in (*REGISTRATION_MESSAGES, *VISIT_MESSAGES, *RECON_SIGNED, *CLEARING_SIGNED)
)
"""Types that arrive from outside and must be authenticated: the sender's MAC, or for
``AGENCY_SIGNED`` types the agency's Ed25519 signature."""

AGENCY_SIGNED: frozenset[str] = frozenset(m.ce_type for m in CLEARING_SIGNED)
"""Sign-offs nobody but the agency can make (events/wire/agency_signing.py): the platform holds
only the agencies' public keys, so a MAC (a secret the hub shares) is refused on them. A new
agency-signed kind joins by adding its type here."""
