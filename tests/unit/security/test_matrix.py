"""The ACL matrix derived from the catalog: who may do what (docs/security.md).

Pure: no broker. The integration tests (tests/integration/security/test_broker_security.py) show the
broker enforcing these ACLs; this test pins what the derivation gives each kind of principal.
"""

from __future__ import annotations

from events import catalog
from services.ops import security
from services.ops.security import Acl, Desired, Observed, desired, drift
from services.runtime import principals

SENDERS = ["H33090200001", "H33090200002", "P31010400001", "AG330902", "AG330000", "AG000000"]


def _can(want: Desired, who: str, op: str, topic: str) -> bool:
    for a in want.acls:
        if a.principal != f"User:{who}" or a.resource_type != "TOPIC" or a.operation != op:
            continue
        if a.name == topic if a.pattern == "LITERAL" else topic.startswith(a.name):
            return True
    return False


def _readers(want: Desired, topic: str) -> set[str]:
    return {u for u in want.users if _can(want, u, "READ", topic)}


def _writers(want: Desired, topic: str) -> set[str]:
    return {u for u in want.users if _can(want, u, "WRITE", topic)}


def test_hospital_writes_its_inputs_and_reads_only_its_own_acks() -> None:
    want = desired(SENDERS, simulator=False)
    h = "H33090200001"
    assert {t for t in (catalog.VISIT, catalog.RECON, catalog.REGISTRATION) if _can(want, h, "WRITE", t)} == {
        catalog.VISIT, catalog.RECON, catalog.REGISTRATION
    }  # fmt: skip
    for t in (catalog.SETTLEMENT, catalog.CLEARING, catalog.ADJUDICATION_STATE, catalog.DLQ):
        assert not _can(want, h, "WRITE", t)
    assert _readers(want, catalog.ack_topic(h)) == {h, principals.OPS}
    assert Acl(f"User:{h}", "GROUP", "LITERAL", f"hospital-{h}", "READ") in want.acls
    assert [a for a in want.acls if a.principal == f"User:{h}" and a.resource_type == "GROUP"] == [
        Acl(f"User:{h}", "GROUP", "LITERAL", f"hospital-{h}", "READ")
    ]


def test_agency_writes_filings_and_clearing_and_reads_its_acks() -> None:
    want = desired(SENDERS, simulator=False)
    assert _can(want, "AG330902", "WRITE", catalog.REGISTRATION)
    assert _can(want, "AG330902", "WRITE", catalog.CLEARING)
    assert not _can(want, "AG330902", "WRITE", catalog.VISIT)
    assert _can(want, "AG330902", "READ", catalog.ack_topic("AG330902"))
    assert not _can(want, "AG330902", "READ", catalog.ack_topic("AG330000"))


def test_each_processor_topic_has_exactly_its_writers() -> None:
    want = desired(SENDERS, simulator=False)
    assert _writers(want, catalog.SETTLEMENT) == {principals.ADJUDICATION, principals.OPS}
    assert _writers(want, catalog.ADJUDICATION_STATE) == {principals.ADJUDICATION, principals.OPS}
    assert _writers(want, catalog.REGISTRATION_STATE) == {principals.REGISTRATION, principals.OPS}
    assert _readers(want, catalog.SETTLEMENT) == {
        principals.LEDGER, principals.CLEARING, principals.SUPERVISION, principals.OPS
    }  # fmt: skip


def test_only_ops_reads_the_dlq() -> None:
    want = desired(SENDERS, simulator=True)
    assert _readers(want, catalog.DLQ) == {principals.OPS}


def test_simulator_only_outside_prod() -> None:
    assert principals.SIMULATOR not in desired(SENDERS, simulator=False).users
    assert principals.SIMULATOR in desired(SENDERS, simulator=True).users


def test_drift_and_changes_name_what_differs() -> None:
    want = desired(SENDERS, simulator=False)
    gone = next(iter(sorted(want.acls)))
    stray = Acl("User:mallory", "TOPIC", "LITERAL", catalog.DLQ, "READ")
    have = Observed(want.users - {"AG330902"} | {"mallory"}, (want.acls - {gone}) | {stray})
    d = drift(want, have)
    assert (d.missing_users, d.extra_users) == (("AG330902",), ("mallory",))
    assert (d.missing_acls, d.extra_acls) == ((gone,), (stray,))
    todo = security.changes(want, have, [], {"AG330902": "pw"})
    assert todo == [
        "UPSERT_USER AG330902 pw", "DELETE_USER mallory",
        f"CREATE_ACL {gone.line()}", f"DELETE_ACL {stray.line()}",
    ]  # fmt: skip
    assert drift(want, Observed(want.users, want.acls)).clean
