"""What every key file of the platform shares, whatever the key: the hospitals' MAC secrets
(``signing.py``), the agencies' public keys and their private keys (``agency_signing.py``).

Keys rotate the same way for all of them: a sender may hold several keys, each valid in a
window; a signer takes the newest key valid now, a verifier accepts any key of the message's
sender valid at its ``ce_time``. The checks before any cryptography are the same too, with the
same stable codes (``E_AUTH`` unknown key or outside its window, ``E_AUTH_FOREIGN`` another
sender's key), so they live here once; each file adds only how its keys verify and serialise.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from events.wire.envelope import Envelope
from events.wire.errors import AuthenticationError

Json = dict[str, str | None]


class RotatingKey(Protocol):
    @property
    def kid(self) -> str: ...
    @property
    def sender(self) -> str: ...
    @property
    def not_before(self) -> dt.datetime: ...
    @property
    def not_after(self) -> dt.datetime | None: ...
    def valid_at(self, when: dt.datetime) -> bool: ...


def window(raw: Json) -> tuple[dt.datetime, dt.datetime | None]:
    """A key's validity window from its JSON (``not_after`` absent or null: open-ended)."""
    after = raw.get("not_after")
    return (
        dt.datetime.fromisoformat(str(raw["not_before"])),
        dt.datetime.fromisoformat(after) if after else None,
    )


def window_json(key: RotatingKey) -> Json:
    return {
        "not_before": key.not_before.isoformat(),
        "not_after": key.not_after.isoformat() if key.not_after else None,
    }


K = TypeVar("K", bound=RotatingKey)


class KeyFile(Generic[K]):
    """Keys by id, kept in a JSON file ``{"keys": [...]}``. A subclass names how one key reads
    and writes (``from_json`` / ``to_json``), whether the file holds secrets (written 0600
    before the first byte lands) and what it checks of a key it takes in (``check``)."""

    secret: ClassVar[bool] = True
    what: ClassVar[str] = "key"
    """How refusals name these keys ("unknown agency key id ...")."""

    def __init__(self, keys: Iterable[K]) -> None:
        self._by_kid: dict[str, K] = {}
        for key in keys:
            self.add(key)

    @staticmethod
    def from_json(raw: Json) -> Any:
        raise NotImplementedError

    @staticmethod
    def to_json(key: Any) -> Json:
        raise NotImplementedError

    def check(self, key: K) -> None:
        """Refuse a malformed key when it is taken in, not when a message needs it."""

    def valid(self, key: K, when: dt.datetime) -> bool:
        """Whether ``key`` may sign at ``when`` (a subclass may compare faster)."""
        return key.valid_at(when)

    @classmethod
    def load(cls, path: Path) -> Self:
        """The file's keys; a missing file is an empty set (nothing registered yet)."""
        if not path.exists():
            return cls([])
        data = json.loads(path.read_text("utf-8"))
        return cls([cls.from_json(k) for k in data.get("keys", [])])

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {"keys": [type(self).to_json(k) for k in sorted(self, key=lambda k: k.kid)]}
        if self.secret:
            path.touch(mode=0o600, exist_ok=True)
            path.chmod(0o600)
        path.write_text(json.dumps(body, indent=2) + "\n", "utf-8")

    def __iter__(self) -> Iterator[K]:
        return iter(self._by_kid.values())

    def add(self, key: K) -> None:
        if key.kid in self._by_kid:
            raise ValueError(f"key id {key.kid} exists")
        self.check(key)
        self._by_kid[key.kid] = key

    def get(self, kid: str) -> K | None:
        return self._by_kid.get(kid)

    def senders(self) -> set[str]:
        return {k.sender for k in self._by_kid.values()}

    def current(self, sender: str, when: dt.datetime) -> K:
        """The newest key of ``sender`` valid at ``when`` (what a signer uses)."""
        valid = [k for k in self._by_kid.values() if k.sender == sender and k.valid_at(when)]
        if not valid:
            raise LookupError(f"no valid {self.what} for {sender}")
        return max(valid, key=lambda k: (k.not_before, k.kid))

    def sender_key(self, env: Envelope, when: dt.datetime) -> K:
        """The key ``env`` names, if it is its sender's and valid at ``when``; else
        ``AuthenticationError``. What every verifier checks before its cryptography."""
        assert env.kid is not None
        key = self._by_kid.get(env.kid)
        if key is None:
            raise AuthenticationError(f"unknown {self.what} id {env.kid}", "yidi_kid")
        if key.sender != env.sender:
            raise AuthenticationError(
                f"key {env.kid} belongs to another sender than ce_source", "yidi_kid",
                code="E_AUTH_FOREIGN",
            )  # fmt: skip
        if not self.valid(key, when):
            raise AuthenticationError(f"key {env.kid} is not valid at ce_time", "yidi_kid")
        return key
