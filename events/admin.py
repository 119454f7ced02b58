"""Topic administration against a live broker: observe, then apply a plan."""

from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_exponential

from events.catalog import Environment, Topic
from events.stream import clients
from events.stream.clients import KafkaConnection
from events.topic_plan import Change, ObservedTopic, plan


class TopicAdminError(RuntimeError):
    """The broker refused a topic change; the message names the topic and the broker's error."""


async def observe(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, ObservedTopic]:
    """Partitions, replication and configs of those of ``names`` that exist."""
    existing = set(await admin.list_topics()) & set(names)
    if not existing:
        return {}
    described = await admin.describe_topics(sorted(existing))
    resources = [ConfigResource(ConfigResourceType.TOPIC, n) for n in sorted(existing)]
    configs: dict[str, dict[str, str]] = {}
    for response in await admin.describe_configs(resources):
        for res in response.to_object()["resources"]:
            configs[res["resource_name"]] = {
                e["config_names"]: e["config_value"] for e in res["config_entries"]
            }
    out: dict[str, ObservedTopic] = {}
    for topic in described:
        parts = topic["partitions"]
        rf = len(parts[0]["replicas"]) if parts else 0
        out[topic["topic"]] = ObservedTopic(
            topic["topic"], len(parts), rf, configs.get(topic["topic"], {})
        )
    return out


async def apply(
    bootstrap: KafkaConnection, catalog: tuple[Topic, ...], env: Environment, dry_run: bool = False
) -> list[Change]:
    """Make the broker match ``catalog``; return what changed (empty when already equal)."""
    admin = clients.admin(bootstrap, client_id="yidi-topics")
    await admin.start()
    try:
        by_name = {t.name: t for t in catalog}
        brokers = await cluster_size(admin)
        changes = plan(catalog, await observe(admin, list(by_name)), env, brokers)
        if dry_run:
            return changes
        for change in changes:
            topic = by_name[change.topic]
            if change.action == "create":
                resp = await admin.create_topics(
                    [
                        NewTopic(
                            topic.name,
                            topic.partitions,
                            topic.replication_factor(env, brokers),
                            topic_configs=topic.topic_configs(env, brokers),
                        )
                    ]
                )
                for err in resp.to_object()["topic_errors"]:
                    if err["error_code"] not in (0, 36):  # 36: created concurrently
                        raise TopicAdminError(f"{err['topic']}: {err['error_message']}")
            elif change.action == "add_partitions":
                await admin.create_partitions({topic.name: NewPartitions(topic.partitions)})
            elif change.action == "alter_configs":
                for resp in await admin.alter_configs(
                    [
                        ConfigResource(
                            ConfigResourceType.TOPIC, topic.name, topic.topic_configs(env, brokers)
                        )
                    ]
                ):
                    for res in resp.resources:
                        if res[0]:
                            raise TopicAdminError(f"{topic.name}: {res[1]}")
        created = {c.topic for c in changes if c.action == "create"}
        if created:
            await _await_metadata(admin, created)
        grown = {c.topic for c in changes if c.action in ("add_partitions", "alter_configs")}
        if grown:
            await _await_applied(admin, tuple(by_name[n] for n in sorted(grown)), env, brokers)
        return changes
    finally:
        await admin.close()


async def cluster_size(admin: AIOKafkaAdminClient) -> int:
    """How many brokers answer: the replication the catalog asks for outside production (a
    broker down at ``apply`` time makes a new topic's replication smaller, and the next
    ``apply`` on the whole cluster refuses it as drift)."""
    return len((await admin.describe_cluster())["brokers"])


async def _await_applied(
    admin: AIOKafkaAdminClient,
    topics: tuple[Topic, ...],
    env: Environment,
    brokers: int | None,
    timeout_s: float = 15,
) -> None:
    """New partitions and altered configs are acknowledged before the metadata a describe
    reads shows them: an ``apply`` right after would plan the same change again and be
    refused ("topic already has N partitions"). Return once the broker reads as planned."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    applied = ("add_partitions", "alter_configs")
    while pending := [
        c
        for c in plan(topics, await observe(admin, [t.name for t in topics]), env, brokers)
        if c.action in applied
    ]:
        if loop.time() > deadline:
            raise TopicAdminError(
                f"changes not visible after {timeout_s}s: {[(c.topic, c.action) for c in pending]}"
            )
        await asyncio.sleep(0.1)


async def _await_metadata(
    admin: AIOKafkaAdminClient, names: set[str], timeout_s: float = 15
) -> None:
    """Creation is acknowledged by the controller before every broker's metadata shows it;
    wait so that the next producer, consumer or ``apply`` sees the topics."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not names <= set(await admin.list_topics()):
        if loop.time() > deadline:
            raise TopicAdminError(
                f"topics not visible in metadata after {timeout_s}s: {sorted(names)}"
            )
        await asyncio.sleep(0.1)


async def delete_topics(bootstrap: KafkaConnection, names: list[str]) -> None:
    """Delete topics (tests and shadow replays clean up their own)."""
    admin = clients.admin(bootstrap, client_id="yidi-topics")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        todo = [n for n in names if n in existing]
        if todo:
            await admin.delete_topics(todo)
    finally:
        await admin.close()


GROUP_COORDINATOR_PATIENCE_S = 60.0


def _retriable(exc: BaseException) -> bool:
    return isinstance(exc, KafkaError) and exc.retriable


async def describe_group(admin: AIOKafkaAdminClient, group: str) -> tuple[str, int]:
    """A consumer group's state ("Stable", "Empty", "Dead", ...) and its member count.
    One group per request: aiokafka 0.14 misreads a response describing two.

    A retriable error (no coordinator yet: a fresh cluster creates ``__consumer_offsets`` on
    the first lookup and answers ``COORDINATOR_NOT_AVAILABLE`` meanwhile; a coordinator
    loading or moved after a broker's loss) is asked again for up to a minute: `yidi replay
    rebuild` failed on one in CI instead of waiting a second."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(_retriable),
        wait=wait_exponential(multiplier=0.1, max=2),
        stop=stop_after_delay(GROUP_COORDINATOR_PATIENCE_S),
        reraise=True,
    ):
        with attempt:
            responses = await admin.describe_consumer_groups([group])
    state, members = "Dead", 0
    for response in responses:
        for entry in getattr(response, "groups", None) or []:
            # (error_code, group_id, state, protocol_type, protocol, members, ...)
            state, members = entry[2], members + len(entry[5])
    return state, members
