"""The broker principals yidi's own processes log in as (SCRAM users on the secured broker).

Why here: a worker, the CLI and ``yidi security apply`` must agree on the names, and a service's
principal is its processor id from the topic catalog (``yidi-ledger``), so the name that signs
its messages, owns its topics and names its consumer group also names its login.
Institutions log in as their ``fixmedins_code``, agencies as ``AG<admdvs>``.
"""

from __future__ import annotations

from events import catalog
from services.runtime.settings import ADMIN_PRINCIPAL

ADMIN = ADMIN_PRINCIPAL
"""The super user: admin tooling only (``topics apply``, ``security apply``, tests' set-up)."""
OPS = "ops"
"""Operations: reads the DLQ, redrives, replays, rebuilds."""
CLEARING_CENTER = "clearing-center"
"""The national clearing centre's desk: period commands and prepayment settings, reports."""
SIMULATOR = "simulator"
"""The load simulator and benchmarks (local / test only): every hospital and agency at once."""

REGISTRATION = catalog.REGISTRATION_ID
ADJUDICATION = catalog.ADJUDICATION_ID
LEDGER = catalog.LEDGER_ID
CLEARING = catalog.CLEARING_ID
RECON = catalog.RECON_ID
SUPERVISION = catalog.SUPERVISION_ID
SERVICES = (REGISTRATION, ADJUDICATION, LEDGER, CLEARING, RECON, SUPERVISION)
