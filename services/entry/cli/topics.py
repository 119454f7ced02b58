"""``yidi topics …``: make the broker match the topic catalog, and show the difference."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console
from rich.table import Table

from events.admin import apply, cluster_size, observe
from events.catalog import Topic
from events.stream import clients
from events.topic_plan import plan
from services.runtime import principals
from services.runtime.settings import get_settings

topics_app = typer.Typer(help="The topic catalog.", no_args_is_help=True)
console = Console()


def _catalog() -> tuple[Topic, ...]:
    """The static catalog plus one ack topic per sender in the reference data."""
    from services.entry.bootstrap import build_runtime, catalog_with_acks

    return catalog_with_acks(build_runtime(get_settings()))


@topics_app.command("apply")
def apply_cmd(
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the plan, change nothing."),
) -> None:
    """Create or update every catalog topic; print what changed."""
    settings = get_settings()
    catalog = _catalog()
    changes = asyncio.run(
        apply(settings.kafka(principals.ADMIN), catalog, settings.env, dry_run=dry_run)
    )
    if not changes:
        console.print(f"no changes: {len(catalog)} topics match the catalog")
        return
    for change in changes:
        verb = "would " + change.action if dry_run else change.action
        console.print(f"{verb:>16}  {change.topic}  {change.detail}")
    if any(c.action == "refuse" for c in changes):
        raise typer.Exit(1)


@topics_app.command("list")
def list_cmd() -> None:
    """Catalog vs broker, one row per topic."""
    settings = get_settings()
    catalog = _catalog()

    async def run() -> None:
        admin = clients.admin(settings.kafka(), client_id="yidi-topics")
        await admin.start()
        try:
            observed = await observe(admin, [t.name for t in catalog])
            brokers = await cluster_size(admin)
        finally:
            await admin.close()
        table = Table(
            "topic", "key", "partitions (catalog/broker)", "cleanup", "retention.ms", "state"
        )
        for topic in catalog:
            have = observed.get(topic.name)
            diff = plan((topic,), observed, settings.env, brokers)
            state = (
                "[green]ok[/green]"
                if not diff
                else "[yellow]" + ", ".join(c.action for c in diff) + "[/yellow]"
            )
            table.add_row(
                topic.name,
                topic.key,
                f"{topic.partitions}/{have.partitions if have else '-'}",
                topic.cleanup_policy,
                str(topic.retention_ms),
                state,
            )
        console.print(table)

    asyncio.run(run())


def register(app: typer.Typer) -> None:
    app.add_typer(topics_app, name="topics")
