"""Which PostgreSQL URL each worker connects with (docs/security.md, "Database roles")."""

from __future__ import annotations

from pydantic import SecretStr

from services.runtime.settings import Settings

OWNER = "postgresql://yidi@127.0.0.1:55432/yidi"


def test_each_service_gets_its_own_role_on_the_same_server_and_database() -> None:
    s = Settings(database_url=SecretStr(OWNER))
    assert s.service_database_url("ledger") == "postgresql://yidi_ledger@127.0.0.1:55432/yidi"
    secret = Settings(database_url=SecretStr("postgresql://yidi:owner-pw@db:5432/prod"))
    assert secret.service_database_url("clearing") == "postgresql://yidi_clearing@db:5432/prod", (
        "the owner's password is never handed to a service"
    )


def test_a_service_url_of_its_own_wins_and_roles_can_be_switched_off() -> None:
    own = "postgresql://yidi_recon:p%40ss@db:5432/yidi"
    s = Settings(database_url=SecretStr(OWNER), database_url_recon=SecretStr(own))
    assert s.service_database_url("recon") == own
    assert s.role_passwords() == {"recon": "p@ss"}
    off = Settings(database_url=SecretStr(OWNER), database_roles=False)
    assert off.service_database_url("ledger") == OWNER
