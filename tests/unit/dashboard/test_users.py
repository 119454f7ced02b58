"""Dashboard logins (services/dashboard/users.py): derived from the principals, hashed,
idempotent."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from services.dashboard.core.access import Role
from services.dashboard.users import (
    DashboardFiles,
    UserStore,
    ensure_users,
    hash_password,
    logins,
    verify_password,
)

AGENCIES = ["AG000000", "AG310000", "AG330000", "AG330900"]


def test_logins_are_the_center_ops_and_the_provinces_agencies() -> None:
    found = logins(AGENCIES)
    assert set(found) == {"clearing-center", "ops", "AG310000", "AG330000"}
    assert found["AG330000"].role is Role.PROVINCE and found["AG330000"].province == "330000"


def test_hashes_verify_only_their_password() -> None:
    stored = hash_password("s3cret")
    assert stored.startswith("scrypt$") and "s3cret" not in stored
    assert verify_password("s3cret", stored)
    assert not verify_password("s3cret ", stored)
    assert not verify_password("s3cret", "garbage")


def test_ensure_users_is_idempotent_and_private(tmp_path: Path) -> None:
    files = DashboardFiles.under(tmp_path)
    wanted = logins(AGENCIES)
    assert sorted(ensure_users(files, wanted)) == sorted(wanted)
    first = (files.users.read_text(), files.passwords.read_text(), files.session_key.read_text())
    assert ensure_users(files, wanted) == []
    assert (files.users.read_text(), files.passwords.read_text(),
            files.session_key.read_text()) == first  # fmt: skip
    for path in (files.users, files.passwords, files.session_key):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    clear = json.loads(files.passwords.read_text())
    assert clear["AG330000"] not in files.users.read_text()
    store = UserStore.load(files)
    viewer = store.check("AG330000", clear["AG330000"])
    assert viewer is not None and viewer.province == "330000"
    assert store.check("AG330000", clear["AG310000"]) is None
    assert store.check("nobody", "x") is None


def test_a_deleted_password_is_rotated_alone(tmp_path: Path) -> None:
    files = DashboardFiles.under(tmp_path)
    wanted = logins(AGENCIES)
    ensure_users(files, wanted)
    clear = json.loads(files.passwords.read_text())
    del clear["ops"]
    files.passwords.write_text(json.dumps(clear))
    assert ensure_users(files, wanted) == ["ops"]
    again = json.loads(files.passwords.read_text())
    assert again["AG330000"] == clear["AG330000"] and again["ops"]
    assert UserStore.load(files).check("ops", again["ops"]) is not None
