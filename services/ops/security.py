"""Broker principals and their least-privilege ACLs, derived from the topic catalog and the
reference data; the drift between that and a live cluster; the changes that remove it.

Why derived and not listed: the catalog already says who may *write* each input topic
(``Topic.accepts``: institutions, agencies, or a processor id, which is also that processor's
principal) and each processor module declares what it *reads* (its inputs, its state topic, its
groups). A topic added to the catalog or an institution added to ``institutions.json`` gets its
ACLs from the next ``yidi security apply`` without anyone editing an ACL list.

The pure part (:func:`desired`, :func:`drift`) has no I/O. The broker side is Kafka's own Admin
API, run from the broker's jars (``deploy/security/SecurityAdmin.java``): aiokafka 0.14 has no
SCRAM-credential API (``alterUserScramCredentials``) and no ACL API, only ACL protocol structs.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

import orjson

from events import catalog
from events.catalog import AGENCY, INSTITUTION, ack_topic
from events.stream.clients import KafkaConnection
from services.adjudication import task as adjudication
from services.ops.java_tool import java_command
from services.registration import task as registration
from services.runtime import principals
from services.runtime.settings import CREDENTIALS_FILE, REPO_ROOT

ResourceType = Literal["TOPIC", "GROUP", "TRANSACTIONAL_ID", "CLUSTER"]
Pattern = Literal["LITERAL", "PREFIXED"]
Operation = Literal[
    "READ", "WRITE", "CREATE", "DELETE", "DESCRIBE", "DESCRIBE_CONFIGS", "ALTER_CONFIGS"
]


class Acl(NamedTuple):
    """One ALLOW entry, as the broker reports it (``User:<name>``, any host)."""

    principal: str
    resource_type: ResourceType
    pattern: Pattern
    name: str
    operation: Operation
    permission: str = "ALLOW"
    host: str = "*"

    def line(self) -> str:
        return " ".join(self)

    @classmethod
    def parse(cls, text: str) -> Acl:
        p, rt, pt, name, op, perm, host = text.split(" ")
        return cls(p, rt, pt, name, op, perm, host)  # type: ignore[arg-type]


def user(name: str) -> str:
    return f"User:{name}"


def _topic(who: str, name: str, *ops: Operation, pattern: Pattern = "LITERAL") -> list[Acl]:
    return [Acl(user(who), "TOPIC", pattern, name, op) for op in ops]


def _group(who: str, name: str, *ops: Operation, pattern: Pattern = "LITERAL") -> list[Acl]:
    return [Acl(user(who), "GROUP", pattern, name, op) for op in ops]


def _txn(who: str, prefix: str) -> list[Acl]:
    """Transactional ids under the service's own prefix (transactional producers, issue 18)."""
    return [
        Acl(user(who), "TRANSACTIONAL_ID", "PREFIXED", prefix, op) for op in ("WRITE", "DESCRIBE")
    ]


@dataclass(frozen=True, slots=True)
class ServiceAccess:
    """What one processor reads, writes and commits as: the least it needs to run."""

    reads: tuple[str, ...]
    state: tuple[str, ...] = ()
    """Its changelog topics: read back at restore, written every batch."""
    writes: tuple[str, ...] = ()
    """Beyond what the catalog's ``accepts`` already gives it (its outputs that nobody decodes:
    acks, the DLQ)."""
    acks: bool = False
    """Writes the per-institution ack topics (``yidi.ack.v1.<code>``, one prefixed ACL)."""
    groups: tuple[str, ...] = ()
    """Group-name prefixes it consumes as (the sinks' settings add a suffix)."""
    describes_groups: tuple[str, ...] = ()
    """Other processors' groups whose committed positions it reads (never moves)."""
    creates_prefix: str | None = None
    """A topic prefix it may create (faust declares its own changelog topics)."""


SERVICES: dict[str, ServiceAccess] = {
    principals.REGISTRATION: ServiceAccess(
        reads=registration.INPUTS, state=(registration.CHANGELOG,), writes=(catalog.DLQ,),
        acks=True, groups=(catalog.REGISTRATION_GROUP,),
    ),
    principals.ADJUDICATION: ServiceAccess(
        reads=adjudication.INPUTS, state=(adjudication.CHANGELOG,), writes=(catalog.DLQ,),
        acks=True, groups=(catalog.ADJUDICATION_GROUP,),
    ),
    principals.LEDGER: ServiceAccess(
        reads=(catalog.SETTLEMENT,), writes=(catalog.DLQ,), groups=(catalog.LEDGER_GROUP,),
    ),
    principals.CLEARING: ServiceAccess(
        reads=(catalog.SETTLEMENT, catalog.CLEARING), writes=(catalog.DLQ,), acks=True,
        groups=(catalog.CLEARING_GROUP, catalog.CLEARING_COMMANDS_GROUP),
    ),
    principals.RECON: ServiceAccess(
        reads=(catalog.RECON,), writes=(catalog.DLQ,), acks=True, groups=(catalog.RECON_GROUP,),
        describes_groups=(catalog.LEDGER_GROUP,),
    ),
    principals.SUPERVISION: ServiceAccess(
        reads=(catalog.VISIT, catalog.SETTLEMENT), writes=(catalog.SUPERVISION,),
        groups=(catalog.SUPERVISION_GROUP,), creates_prefix=catalog.SUPERVISION_GROUP,
    ),
}  # fmt: skip


def _writers(senders: list[str]) -> dict[str, set[str]]:
    """principal -> the catalog topics it may write, from each topic's ``accepts``."""
    institutions = [s for s in senders if not s.startswith("AG")]
    agencies = [s for s in senders if s.startswith("AG")]
    out: dict[str, set[str]] = {}
    for topic in catalog.CATALOG:
        for accepted in topic.accepts:
            for kind in accepted.senders:
                who = (
                    institutions if kind == INSTITUTION else agencies if kind == AGENCY else [kind]
                )
                for w in who:
                    out.setdefault(w, set()).add(topic.name)
    return out


@dataclass(frozen=True, slots=True)
class Desired:
    users: frozenset[str]
    acls: frozenset[Acl]
    kinds: dict[str, str] = field(default_factory=dict)
    """principal -> its kind (institution, agency, service, ...), for the matrix and reports."""


def desired(senders: list[str], *, simulator: bool) -> Desired:
    """Every principal and every ACL the cluster should have. ``senders``: every institution
    code and agency id (``services.entry.bootstrap.sender_ids``). ``simulator``: also the local/test
    load generator, which speaks for every sender at once (never in prod)."""
    acls: list[Acl] = []
    kinds: dict[str, str] = {principals.ADMIN: "super user"}
    writers = _writers(senders)
    for sender in senders:
        agency = sender.startswith("AG")
        kinds[sender] = "agency" if agency else "institution"
        for t in sorted(writers.get(sender, ())):
            acls += _topic(sender, t, "WRITE")
        acls += _topic(sender, ack_topic(sender), "READ")
        acls += _group(sender, f"{'agency' if agency else 'hospital'}-{sender}", "READ")
    for svc, access in SERVICES.items():
        kinds[svc] = "service"
        for t in sorted({*access.reads, *access.state}):
            acls += _topic(svc, t, "READ")
        for t in sorted({*access.state, *access.writes, *writers.get(svc, ())}):
            acls += _topic(svc, t, "WRITE")
        if access.acks:
            acls += _topic(svc, catalog.ACK_TOPIC_PREFIX, "WRITE", pattern="PREFIXED")
        for g in access.groups:
            acls += _group(svc, g, "READ", pattern="PREFIXED")
        for g in access.describes_groups:
            acls += _group(svc, g, "DESCRIBE", pattern="PREFIXED")
        if access.creates_prefix:
            acls += _topic(svc, access.creates_prefix, "CREATE", "READ", "WRITE",
                           "DESCRIBE_CONFIGS", pattern="PREFIXED")  # fmt: skip
        acls += _txn(svc, svc)
    kinds[principals.CLEARING_CENTER] = "clearing center"
    acls += _topic(principals.CLEARING_CENTER, catalog.CLEARING, "READ", "WRITE")
    acls += _group(
        principals.CLEARING_CENTER, principals.CLEARING_CENTER, "READ", pattern="PREFIXED"
    )
    kinds[principals.OPS] = "ops"
    acls += _topic(principals.OPS, "yidi.", "READ", "WRITE", "DESCRIBE_CONFIGS", pattern="PREFIXED")
    acls += _topic(principals.OPS, catalog.SHADOW_PREFIX, "CREATE", "DELETE", pattern="PREFIXED")
    acls += _group(principals.OPS, "yidi-", "READ", "DESCRIBE", "DELETE", pattern="PREFIXED")
    acls += _group(principals.OPS, "ops-", "READ", "DESCRIBE", "DELETE", pattern="PREFIXED")
    if simulator:
        kinds[principals.SIMULATOR] = "simulator (local/test only)"
        sim = principals.SIMULATOR
        for t in sorted(set().union(*writers.values()) & _sender_topics()):
            # READ too: waiting for a processor to consume what it sent, it peeks whether
            # what is left past the group's commit is only transaction markers
            acls += _topic(sim, t, "WRITE", "READ")
        acls += _topic(sim, catalog.ACK_TOPIC_PREFIX, "READ", pattern="PREFIXED")
        acls += _topic(sim, "bench.", "CREATE", "DELETE", "READ", "WRITE", pattern="PREFIXED")
        acls += _group(sim, "yidi-", "DESCRIBE", pattern="PREFIXED")
        acls += _group(sim, "bench.", "READ", pattern="PREFIXED")
    return Desired(frozenset(kinds), frozenset(acls), kinds)


def _sender_topics() -> set[str]:
    """The topics institutions and agencies write (what the simulator speaks for)."""
    return {t.name for t in catalog.CATALOG for a in t.accepts if a.senders & {INSTITUTION, AGENCY}}


@dataclass(frozen=True, slots=True)
class Observed:
    users: frozenset[str]
    acls: frozenset[Acl]


@dataclass(frozen=True, slots=True)
class Drift:
    missing_users: tuple[str, ...]
    extra_users: tuple[str, ...]
    missing_acls: tuple[Acl, ...]
    extra_acls: tuple[Acl, ...]

    @property
    def clean(self) -> bool:
        return not (self.missing_users or self.extra_users or self.missing_acls or self.extra_acls)

    def lines(self) -> list[str]:
        return [
            *(f"missing user {u}" for u in self.missing_users),
            *(f"extra user {u}" for u in self.extra_users),
            *(f"missing acl {a.line()}" for a in self.missing_acls),
            *(f"extra acl {a.line()}" for a in self.extra_acls),
        ]


def drift(want: Desired, have: Observed) -> Drift:
    return Drift(
        tuple(sorted(want.users - have.users)),
        tuple(sorted(have.users - want.users)),
        tuple(sorted(want.acls - have.acls)),
        tuple(sorted(have.acls - want.acls)),
    )


def changes(
    want: Desired, have: Observed, reset: Iterable[str], passwords: dict[str, str]
) -> list[str]:
    """The Admin-API changes that turn ``have`` into ``want``: users created (or their password
    reset, for ``reset``), extra users and ACLs removed, missing ACLs created."""
    d = drift(want, have)
    out = [f"UPSERT_USER {u} {passwords[u]}" for u in sorted({*d.missing_users, *reset})]
    out += [f"DELETE_USER {u}" for u in d.extra_users]
    out += [f"CREATE_ACL {a.line()}" for a in d.missing_acls]
    out += [f"DELETE_ACL {a.line()}" for a in d.extra_acls]
    return out


# -- the broker side: Kafka's Java Admin API from the broker's jars --------------------------------

TOOL = REPO_ROOT / "deploy" / "security" / "SecurityAdmin.java"
LOG_CONFIG = REPO_ROOT / "deploy" / "security" / "log4j2.properties"


class SecurityAdminError(RuntimeError):
    """The Java admin tool failed (broker unreachable, refused login, refused change)."""


def kafka_libs() -> Path:
    """The broker's jars (``deploy/local/kafka.sh fetch`` puts them in the cache)."""
    pom = (REPO_ROOT / "deploy" / "local" / "pom.xml").read_text()
    version = pom.split("<kafka.version>")[1].split("</kafka.version>")[0]
    cache = Path(
        os.environ.get("YIDI_CACHE_DIR")
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "yidi"
    )
    libs = cache / f"kafka-{version}" / "libs"
    if not (libs / ".complete").exists():
        subprocess.run([str(REPO_ROOT / "deploy" / "local" / "kafka.sh"), "fetch"], check=True)
    return libs


def client_properties(conn: KafkaConnection) -> str:
    """``conn`` as a Java client config (what ``yidi security credentials`` prints)."""
    lines = [f"bootstrap.servers={conn.bootstrap}", f"security.protocol={conn.security_protocol}"]
    if conn.uses_sasl:
        lines += [
            f"sasl.mechanism={conn.sasl_mechanism}",
            "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{conn.user}" password="{conn.password}";',
        ]
    if conn.uses_tls and conn.ca_file:
        lines += ["ssl.truststore.type=PEM", f"ssl.truststore.location={conn.ca_file}"]
    return "\n".join(lines) + "\n"


def _run(admin: KafkaConnection, command: str, stdin: str = "") -> list[str]:
    fd, path = tempfile.mkstemp(prefix="yidi-admin-", suffix=".properties")  # mode 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(client_properties(admin))
        java = java_command(TOOL, kafka_libs(), [f"-Dlog4j2.configurationFile={LOG_CONFIG}"])
        proc = subprocess.run(
            [*java, command, path],
            input=stdin, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    finally:
        os.unlink(path)
    if proc.returncode != 0:
        tail = [ln for ln in proc.stderr.splitlines() if "Exception" in ln or "Error" in ln]
        raise SecurityAdminError(f"SecurityAdmin {command} failed: {' | '.join(tail[:3])}")
    return proc.stdout.splitlines()


def observe(admin: KafkaConnection) -> Observed:
    users: set[str] = set()
    acls: set[Acl] = set()
    for line in _run(admin, "describe"):
        kind, _, rest = line.partition(" ")
        if kind == "USER":
            users.add(rest.split(" ")[0])
        elif kind == "ACL":
            acls.add(Acl.parse(rest))
    return Observed(frozenset(users), frozenset(acls))


def apply_changes(admin: KafkaConnection, todo: list[str]) -> None:
    if todo:
        _run(admin, "apply", "\n".join(todo) + "\n")


# -- the local credential store ---------------------------------------------------------------


def load_passwords(secrets_dir: Path) -> dict[str, str]:
    path = secrets_dir / CREDENTIALS_FILE
    data: dict[str, str] = orjson.loads(path.read_bytes()) if path.exists() else {}
    return data


def save_passwords(secrets_dir: Path, passwords: dict[str, str]) -> None:
    """Atomically, mode 0600 from the first byte (never readable by others, never in git)."""
    secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = secrets_dir / f".{CREDENTIALS_FILE}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(orjson.dumps(passwords, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2))
    os.replace(tmp, secrets_dir / CREDENTIALS_FILE)


@dataclass(frozen=True, slots=True)
class ApplyReport:
    users_created: tuple[str, ...]
    users_removed: tuple[str, ...]
    acls_created: int
    acls_removed: int


def apply(admin: KafkaConnection, want: Desired, secrets_dir: Path) -> ApplyReport:
    """Make the cluster match ``want``; a password is made for each principal that has none in
    the local store (and set on the broker). Running it again changes nothing."""
    have = observe(admin)
    passwords = load_passwords(secrets_dir)
    reset = {u for u in want.users if u not in passwords and u != principals.ADMIN}
    for u in reset:
        passwords[u] = secrets.token_hex(24)
    if principals.ADMIN not in passwords:
        raise SecurityAdminError("no admin password in the local store: run `make up` first")
    save_passwords(secrets_dir, passwords)
    todo = changes(want, have, reset, passwords)
    apply_changes(admin, todo)
    d = drift(want, have)
    return ApplyReport(
        tuple(sorted({*d.missing_users, *reset})),
        d.extra_users,
        len(d.missing_acls),
        len(d.extra_acls),
    )
