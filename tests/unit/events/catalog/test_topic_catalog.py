"""The catalog's rules and the apply plan, without a broker."""

from __future__ import annotations

from dataclasses import replace

from events.catalog import CATALOG, CO_PARTITIONED, by_name
from events.topic_plan import ObservedTopic, plan


def test_person_keyed_topics_are_co_partitioned() -> None:
    topics = by_name()
    assert {topics[n].partitions for n in CO_PARTITIONED} == {topics[CO_PARTITIONED[0]].partitions}
    assert {topics[n].key for n in CO_PARTITIONED} == {"{insuplc_admdvs}:{psn_no}"}


def test_names_unique_and_versioned() -> None:
    names = [t.name for t in CATALOG]
    assert len(names) == len(set(names))
    assert all(n.startswith("yidi.") and n.endswith(".v1") for n in names)


def test_prod_replicates_and_requires_isr() -> None:
    topic = CATALOG[0]
    assert topic.replication_factor("prod") == 3 and topic.replication_factor("local") == 1
    assert topic.topic_configs("prod")["min.insync.replicas"] == "2"


def test_replication_follows_the_cluster_size_outside_prod() -> None:
    topic = CATALOG[0]
    assert [topic.replication_factor("local", n) for n in (None, 1, 2, 3, 5)] == [1, 1, 2, 3, 3]
    assert topic.replication_factor("prod", 1) == 3
    assert "min.insync.replicas" not in topic.topic_configs("local", 1)
    assert "min.insync.replicas" not in topic.topic_configs("test", 2)
    assert topic.topic_configs("local", 3)["min.insync.replicas"] == "2"


def test_a_single_node_topic_on_three_brokers_is_refused_as_drift() -> None:
    """The catalog applied to the three-node cluster wants three replicas; a topic made with
    one (the cluster was smaller then) is drift a human reassigns, never silently kept."""
    changes = plan(CATALOG, _observed(), "local", brokers=3)
    refused = {c.topic for c in changes if c.action == "refuse"}
    assert refused == {t.name for t in CATALOG}
    assert all("replication factor 1 != 3" in c.detail for c in changes if c.action == "refuse")
    assert {c.topic for c in changes if c.action == "alter_configs"} == refused  # min ISR 2
    three = {
        t.name: ObservedTopic(t.name, t.partitions, 3, t.topic_configs("local", 3)) for t in CATALOG
    }
    assert plan(CATALOG, three, "local", brokers=3) == []


def _observed(env: str = "local") -> dict[str, ObservedTopic]:
    return {
        t.name: ObservedTopic(
            t.name, t.partitions, t.replication_factor("local"), t.topic_configs("local")
        )
        for t in CATALOG
    }


def test_matching_broker_needs_no_change() -> None:
    assert plan(CATALOG, _observed(), "local") == []


def test_missing_topic_is_created_and_drift_is_altered() -> None:
    observed = _observed()
    del observed["yidi.dlq.v1"]
    visit = observed["yidi.visit.v1"]
    observed["yidi.visit.v1"] = replace(visit, configs={**visit.configs, "retention.ms": "1"})
    changes = {(c.topic, c.action) for c in plan(CATALOG, observed, "local")}
    assert changes == {("yidi.dlq.v1", "create"), ("yidi.visit.v1", "alter_configs")}


def test_shrinking_and_replication_changes_are_refused() -> None:
    observed = _observed()
    dlq = observed["yidi.dlq.v1"]
    observed["yidi.dlq.v1"] = replace(dlq, partitions=dlq.partitions + 1, replication_factor=2)
    actions = [c.action for c in plan(CATALOG, observed, "local") if c.topic == "yidi.dlq.v1"]
    assert actions == ["refuse", "refuse"]


def test_growing_partitions_is_planned() -> None:
    observed = _observed()
    reg = observed["yidi.registration.v1"]
    observed["yidi.registration.v1"] = replace(reg, partitions=reg.partitions - 4)
    [change] = plan(CATALOG, observed, "local")
    assert change.action == "add_partitions"


def test_ack_topics_one_per_institution() -> None:
    from events.catalog import ack_topic, with_ack_topics

    topics = with_ack_topics(["H31010400001", "H33090200001", "H31010400001"])
    acks = [t.name for t in topics if t.name.startswith("yidi.ack.v1.")]
    assert acks == [ack_topic("H31010400001"), ack_topic("H33090200001")]
