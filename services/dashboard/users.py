"""Dashboard logins, derived from the broker's principals (docs/security.md).

- ``clearing-center`` (role center): every page, every province;
- ``ops`` (role ops): the ops page;
- ``AG<XX>0000``, each province's agency the reference data knows (role province): its own
  pairs, nets and statements.

Why these names: they are the principals the same people already hold on the broker, so a
role here means what it means there. ``yidi dashboard users`` (run by ``make up``) gives each
login a random password once: the clear passwords go to ``.run/dashboard/secrets/
passwords.json`` (0600, for the operator to hand out, as the broker's ``users.json``), the
dashboard itself reads only ``.run/dashboard/users.json`` (scrypt hashes) and the session
signing key. Existing passwords are kept; deleting a login's line rotates it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from services.dashboard.core.access import Role, Viewer

CENTER_LOGIN = "clearing-center"
OPS_LOGIN = "ops"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


@dataclass(frozen=True, slots=True)
class DashboardFiles:
    root: Path

    @classmethod
    def under(cls, run_dir: Path) -> DashboardFiles:
        return cls(run_dir / "dashboard")

    @property
    def users(self) -> Path:
        return self.root / "users.json"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def passwords(self) -> Path:
        return self.secrets / "passwords.json"

    @property
    def session_key(self) -> Path:
        return self.secrets / "session.key"


def logins(agencies: list[str]) -> dict[str, Viewer]:
    """login -> viewer: the center, ops and every province's agency among ``agencies``."""
    out = {CENTER_LOGIN: Viewer(CENTER_LOGIN, Role.CENTER), OPS_LOGIN: Viewer(OPS_LOGIN, Role.OPS)}
    for name in agencies:
        code = name.removeprefix("AG")
        if name.startswith("AG") and code.endswith("0000") and code != "000000":
            out[name] = Viewer(name, Role.PROVINCE, code)
    return out


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r),
                             p=int(p))  # fmt: skip
    except ValueError:
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def ensure_users(files: DashboardFiles, wanted: dict[str, Viewer]) -> list[str]:
    """Give every wanted login a password (keeping existing ones), write the hashes and the
    session key; return the logins made now. Idempotent: a second run changes nothing."""
    clear: dict[str, str] = (
        json.loads(files.passwords.read_text()) if files.passwords.exists() else {}
    )
    made = [login for login in wanted if login not in clear]
    for login in made:
        clear[login] = secrets.token_urlsafe(18)
    clear = {k: v for k, v in clear.items() if k in wanted}
    stored: dict[str, dict[str, str | None]] = (
        json.loads(files.users.read_text()) if files.users.exists() else {}
    )
    users = {}
    for login, viewer in sorted(wanted.items()):
        old = stored.get(login)
        keep = old is not None and login not in made and old.get("role") == viewer.role.value
        users[login] = {
            "role": viewer.role.value,
            "province": viewer.province,
            "hash": str(old["hash"]) if keep and old else hash_password(clear[login]),
        }
    if made or not files.users.exists() or users != stored:
        _write_private(files.passwords, json.dumps(clear, indent=2, sort_keys=True) + "\n")
        _write_private(files.users, json.dumps(users, indent=2, sort_keys=True) + "\n")
    if not files.session_key.exists():
        _write_private(files.session_key, secrets.token_hex(32) + "\n")
    return made


@dataclass(frozen=True, slots=True)
class UserStore:
    """The hashes the dashboard checks logins against (read once at start-up)."""

    users: dict[str, tuple[Viewer, str]]

    @classmethod
    def load(cls, files: DashboardFiles) -> UserStore:
        if not files.users.exists():
            raise FileNotFoundError(
                f"{files.users} is missing: run `yidi dashboard users` (make up does)"
            )
        raw = json.loads(files.users.read_text())
        return cls({
            login: (Viewer(login, Role(u["role"]), u.get("province")), u["hash"])
            for login, u in raw.items()
        })  # fmt: skip

    def check(self, login: str, password: str) -> Viewer | None:
        found = self.users.get(login)
        if found is None:
            verify_password(password, hash_password("x"))  # same time for a wrong login
            return None
        viewer, stored = found
        return viewer if verify_password(password, stored) else None

    def viewer(self, login: str) -> Viewer | None:
        found = self.users.get(login)
        return None if found is None else found[0]
