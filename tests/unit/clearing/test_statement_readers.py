"""Every agency a statement can concern has an ack topic to receive it on: the clearing outbox
publishes each statement to its participants' agencies (docs/security.md, "Statements"), and a
copy to a topic that does not exist would hold up every message queued after it."""

from __future__ import annotations

from services.adjudication.reference import load_reference
from services.clearing.service_layer.messages import agency_of
from services.entry.bootstrap import sender_ids


def test_every_pool_and_province_of_the_reference_data_has_an_agency_with_an_ack_topic() -> None:
    ref = load_reference(None)
    senders = set(sender_ids(ref))  # each gets an ack topic: catalog_with_acks / topics apply
    divisions = {admdvs for admdvs, _year in ref.policies}
    divisions |= {i.admdvs for i in ref.institutions.values()}
    participants = {ref.pooling.pool_of(d) for d in divisions}  # provincial scope: pools
    participants |= {d[:2] + "0000" for d in divisions}  # national scope: provinces
    participants |= {"000000"}  # the national statement's own
    missing = sorted(p for p in participants if agency_of(p) not in senders)
    assert not missing, f"participants without an agency ack topic: {missing}"
