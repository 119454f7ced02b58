"""``yidi supervision rules|alerts|report``: the rule packs, the alerts, and how well the
rules find a simulator's plants.

Person subjects are masked on screen (``330900:330***0001``): the alerts table and
topic are the authorized places for them; ``--json`` output masks them the same way.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from services.entry.cli.tables import print_table
from services.entry.cli.tables import table as new_table
from services.runtime.db import connect
from services.runtime.masking import mask_value
from services.runtime.settings import get_settings

supervision_app = typer.Typer(
    help="Fund supervision (智能监控): rules, alerts, report.", no_args_is_help=True
)


def _subject(subject: str) -> str:
    if ":" not in subject:
        return subject  # an institution code
    region, psn = subject.split(":", 1)
    return f"{region}:{mask_value(psn)}"


@supervision_app.command("rules")
def rules_cmd(as_json: bool = typer.Option(False, "--json", help="Print as JSON")) -> None:
    """Every region's pack: version (content hash), rules, severities and parameters."""
    from services.supervision.reference import load_rules

    book = load_rules(get_settings().reference_dir)
    rows: list[dict[str, Any]] = []
    for admdvs, rs in sorted(book.sets.items()):
        for group in (
            rs.overlap,
            rs.readmission,
            rs.duplicate,
            rs.frequency,
            rs.supply,
            rs.outlier,
        ):
            for r in group:
                params = r.model_dump(
                    mode="json", exclude={"rule_id", "kind", "severity", "description", "source"}
                )
                rows.append({"admdvs": admdvs, "version": rs.version, "rule_id": r.rule_id,
                             "kind": r.kind, "severity": str(r.severity), "params": params})  # fmt: skip
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(
        "region", "version", "rule", "kind", "severity", "parameters", title="supervision rules"
    )
    for row in rows:
        table.add_row(row["admdvs"], row["version"], row["rule_id"], row["kind"], row["severity"],
                      json.dumps(row["params"], ensure_ascii=False))  # fmt: skip
    Console().print(table)


async def _fetch(rule: str | None, limit: int | None) -> list[Any]:
    conn = await connect(get_settings())
    try:
        return list(
            await conn.fetch(
                "SELECT alert_id, rule_id, rule_kind, rule_version, severity, subject, admdvs, "
                "window_start, window_end, setl_ids, mdtrt_ids, fixmedins_codes, amount, detail, "
                "reversed_setl_ids "
                "FROM alerts WHERE ($1::text IS NULL OR rule_id = $1) "
                "ORDER BY window_start, rule_id, alert_id LIMIT $2",
                rule,
                limit,
            )
        )
    finally:
        await conn.close()


@supervision_app.command("alerts")
def alerts_cmd(
    rule: str | None = typer.Option(None, help="Only this rule id"),
    limit: int = typer.Option(50, min=1, help="At most this many rows"),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON lines"),
) -> None:
    """The alerts table, oldest window first (subjects masked)."""
    rows = asyncio.run(_fetch(rule, limit))
    if as_json:
        for r in rows:
            doc = dict(r.items()) | {"subject": _subject(r["subject"])}
            typer.echo(json.dumps(doc, default=str, ensure_ascii=False))
        return
    table = Table("alert", "rule", "severity", "subject", "window", "visits", "amount", "detail",
                  "reversed since", title="supervision alerts")  # fmt: skip
    for r in rows:
        table.add_row(r["alert_id"][:12], r["rule_id"], r["severity"], _subject(r["subject"]),
                      f"{r['window_start']}..{r['window_end']}", str(len(r["mdtrt_ids"])),
                      f"{r['amount']:,.2f}", r["detail"],
                      str(len(r["reversed_setl_ids"])) if r["reversed_setl_ids"] else "")  # fmt: skip
    Console().print(table)


@supervision_app.command("report")
def report_cmd(
    plants: Path | None = typer.Option(
        None, help="The plants file of `yidi simulate --fraud-rate R --plants FILE`"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON"),
) -> None:
    """Alerts and amounts at stake per rule; with --plants, precision and recall per rule kind
    over that run's persons."""
    from services.supervision.report import AlertRow, against_plants, of_run, per_rule

    rows = [
        AlertRow(
            r["alert_id"],
            r["rule_id"],
            r["rule_kind"],
            r["severity"],
            r["subject"],
            Decimal(r["amount"]),
            r["window_start"],
            r["window_end"],
        )
        for r in asyncio.run(_fetch(None, None))
    ]
    planted = json.loads(plants.read_text("utf-8")) if plants else None
    if planted is not None:
        rows = of_run(rows, planted)
    out: dict[str, Any] = {"per_rule": per_rule(rows)}
    if planted is not None:
        out["against_plants"] = against_plants(rows, planted)
    if as_json:
        typer.echo(json.dumps(out, default=str))
        return
    console = Console()
    table = new_table("rule", "kind", "alerts", "amount at stake",
                      title="supervision: alerts per rule", right=("alerts", "amount at stake"))  # fmt: skip
    for rule_id, r in out["per_rule"].items():
        table.add_row(rule_id, r["kind"], str(r["alerts"]), f"{r['amount']:,.2f}")
    print_table(console, table)
    if planted is not None:
        pr = new_table("kind", "planted", "alerts", "true pos.", "recall", "precision", "amount",
                       title=f"against the plants of run {planted['run_id']}")  # fmt: skip
        for kind, r in out["against_plants"].items():
            pr.add_row(kind, str(r["planted"]), str(r["alerts"]), str(r["true_positives"]),
                       _pct(r["recall"]), _pct(r["precision"]), f"{r['amount']:,.2f}")  # fmt: skip
        print_table(console, pr)


@supervision_app.command("from-now")
def from_now_cmd() -> None:
    """Start the supervision group (``yidi-supervision`` + YIDI_GROUP_SUFFIX) at the current
    ends of the visit and settlement topics, if it has no positions yet: its worker then
    judges only the traffic that follows (the demo's own run), not the whole log."""
    from services.runtime import principals
    from services.supervision.app import GROUP
    from services.supervision.run import start_at_ends

    settings = get_settings()
    group = GROUP + settings.group_suffix
    if asyncio.run(start_at_ends(settings.kafka(principals.SUPERVISION), group)):
        Console().print(f"{group}: starts at the topics' current ends")
    else:
        Console().print(f"{group}: already has positions; left as they are")


@supervision_app.command("wait")
def wait_cmd(
    timeout: float = typer.Option(180.0, min=1, help="Give up after this many seconds"),
) -> None:
    """Until the supervision group has consumed the visit and settlement topics to their
    ends, then its re-sent institution claims (where outlier alerts are raised when a day
    closes); exit code 1 on the timeout. A report read before that misses alerts."""
    from contracts.settlement import SETTLEMENT_TOPIC
    from contracts.visit import VISIT_TOPIC
    from services.runtime import principals
    from services.supervision.app import GROUP
    from services.supervision.outliers import CLAIMS
    from services.tools.simulator.run import wait_consumed

    settings = get_settings()
    group = GROUP + settings.group_suffix
    bootstrap = settings.kafka(principals.SUPERVISION)

    async def wait() -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        for topic in (VISIT_TOPIC, SETTLEMENT_TOPIC, f"{group}-{CLAIMS}"):
            left = max(1.0, deadline - asyncio.get_running_loop().time())
            await wait_consumed(bootstrap, group, topic, timeout_s=left)

    try:
        asyncio.run(wait())
    except TimeoutError as err:
        Console(stderr=True).print(f"[red]{err}[/red]: the report below may miss alerts")
        raise typer.Exit(1) from err
    Console().print(f"{group}: caught up")


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f} %"


def register(app: typer.Typer) -> None:
    app.add_typer(supervision_app, name="supervision")
