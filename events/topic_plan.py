"""What ``yidi topics apply`` must change: a pure diff of catalog vs broker.

Kept apart from the admin client so the rules (never shrink partitions, never
change replication in place, report config drift) are tested without a broker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from events.catalog import Environment, Topic

Action = Literal["create", "add_partitions", "alter_configs", "refuse"]


@dataclass(frozen=True, slots=True)
class ObservedTopic:
    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str]


@dataclass(frozen=True, slots=True)
class Change:
    topic: str
    action: Action
    detail: str


def plan(
    catalog: tuple[Topic, ...],
    observed: dict[str, ObservedTopic],
    env: Environment,
    brokers: int | None = None,
) -> list[Change]:
    """Changes that bring the broker to the catalog; ``refuse`` marks drift needing a human.
    ``brokers``: the cluster's size, which sets the replication outside production."""
    changes: list[Change] = []
    for topic in catalog:
        want_cfg = topic.topic_configs(env, brokers)
        rf = topic.replication_factor(env, brokers)
        have = observed.get(topic.name)
        if have is None:
            changes.append(
                Change(
                    topic.name,
                    "create",
                    f"partitions={topic.partitions} rf={rf}",
                )
            )
            continue
        if have.partitions < topic.partitions:
            changes.append(
                Change(topic.name, "add_partitions", f"{have.partitions} -> {topic.partitions}")
            )
        elif have.partitions > topic.partitions:
            changes.append(
                Change(
                    topic.name,
                    "refuse",
                    f"broker has {have.partitions} partitions, catalog {topic.partitions}:"
                    " Kafka cannot shrink a topic",
                )
            )
        if have.replication_factor != rf:
            changes.append(
                Change(
                    topic.name,
                    "refuse",
                    f"replication factor {have.replication_factor} !="
                    f" {rf}: reassign partitions by hand",
                )
            )
        drift = {k: v for k, v in want_cfg.items() if have.configs.get(k) != v}
        if drift:
            detail = ", ".join(
                f"{k}: {have.configs.get(k)} -> {v}" for k, v in sorted(drift.items())
            )
            changes.append(Change(topic.name, "alter_configs", detail))
    return changes
