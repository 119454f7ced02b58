"""One PostgreSQL role per service, with only the grants it needs.

Why: a shared role lets any worker rewrite any table; the ledger is the system of record,
so nothing but its sink may add settlements and nothing at all may change or delete one
(a correction is a reversal, never an UPDATE). The owner role (the one in
``YIDI_DATABASE_URL``, ``yidi`` locally) owns every table, runs the migrations and is the
ops role: rebuilds, replays and DLQ re-drives truncate and rewrite projections.

``apply_roles`` runs after every ``migrate`` (``yidi db migrate``, ``make up``, each test's
scratch database): it creates the login roles that are missing and grants exactly
``GRANTS`` on the tables of this database, so a table added by a later migration gets its
grants the next time migrations run. A table the matrix does not name is a test failure
(``tests/integration/security/test_db_roles.py``), never a silent "no access".

Local authentication is ``trust`` on 127.0.0.1 (initdb ``--auth=trust``, the private
cluster of ``make up``): the roles carry no password. On a real server, give each service
its own URL with its password (``YIDI_DATABASE_URL_<SERVICE>``): ``yidi db migrate`` sets
that password on the role (docs/security.md).
"""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

ROLE_PREFIX = "yidi_"

READ = ("SELECT",)
WRITE = ("SELECT", "INSERT", "UPDATE", "DELETE")
APPEND = ("SELECT", "INSERT")

CLEARING_TABLES = (
    "clearing_periods", "clearing_entries", "clearing_positions", "prepayments",
    "prepayment_levels", "clearing_statements", "clearing_statement_pairs",
    "clearing_statement_nets", "clearing_confirmations", "clearing_outbox",
    "clearing_corrections", "clearing_deductions", "audit_queries",
)  # fmt: skip
RECON_TABLES = (
    "recon_requests", "recon_batches", "recon_stage_rows", "recon_answers", "recon_answer_rows",
)  # fmt: skip

GRANTS: dict[str, dict[str, tuple[str, ...]]] = {
    "registration": {"filings": WRITE, "insured_persons": WRITE, "sink_offsets": WRITE},
    "ledger": {
        "settlements": APPEND,  # insert once, never UPDATE or DELETE
        "settlement_conflicts": APPEND,
        "sink_offsets": WRITE,
    },
    "clearing": {
        "settlements": READ,
        "sink_offsets": WRITE,
        **dict.fromkeys(CLEARING_TABLES, WRITE),
    },
    "recon": {
        "settlements": READ,
        "clearing_deductions": READ,  # a hospital's totals include the deductions from its fund pay
        "sink_offsets": WRITE,  # its own positions; reads the ledger's
        **dict.fromkeys(RECON_TABLES, WRITE),
    },
    "supervision": {"alerts": WRITE, "settlements": READ, "sink_offsets": WRITE},
    "dashboard": {  # read only: the web dashboard (docs/dashboard.md)
        "settlements": READ,
        "sink_offsets": READ,
        "alerts": READ,
        "replay_runs": READ,
        "dlq_redrives": READ,
        **dict.fromkeys(CLEARING_TABLES, READ),
    },
}
"""service -> table -> privileges. The adjudicator keeps its state in Kafka and has no
role; ops is the owner role."""

OWNER_ONLY = frozenset({"schema_migrations", "dlq_redrives", "replay_runs"})
"""Tables only the owner (ops) writes (the dashboard reads the last two)."""


def role_of(service: str) -> str:
    return ROLE_PREFIX + service


async def apply_roles(
    conn: asyncpg.Connection, passwords: Mapping[str, str] | None = None
) -> list[str]:
    """Create missing service roles (LOGIN; no password under local trust, or the one in
    ``passwords`` by service) and set the grants on this database's tables to exactly
    ``GRANTS``; return the roles created."""
    created: list[str] = []
    passwords = passwords or {}
    tables = {
        r["tablename"]
        for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    }
    for service, grants in GRANTS.items():
        role = role_of(service)
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
        if not exists:
            try:
                await conn.execute(f'CREATE ROLE "{role}" LOGIN')
                created.append(role)
            except (asyncpg.DuplicateObjectError, asyncpg.UniqueViolationError):
                pass  # created concurrently by another migrating database of this cluster
        quoted = f'"{role}"'
        if service in passwords:  # a literal: ALTER ROLE takes no bind parameters
            secret = passwords[service].replace("'", "''")
            await conn.execute(f"ALTER ROLE {quoted} PASSWORD '{secret}'")
        member = await conn.fetchval("SELECT pg_has_role(current_user, $1, 'MEMBER')", role)
        if not member:  # the owner may end the role's sessions (DROP DATABASE ... WITH (FORCE))
            await conn.execute(f"GRANT {quoted} TO CURRENT_USER")
        await conn.execute(f"GRANT USAGE ON SCHEMA public TO {quoted}")
        for table in sorted(tables):
            await conn.execute(f'REVOKE ALL ON TABLE "{table}" FROM {quoted}')
            privileges = grants.get(table)
            if privileges:
                await conn.execute(f'GRANT {", ".join(privileges)} ON TABLE "{table}" TO {quoted}')
        await conn.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {quoted}")
    return created
