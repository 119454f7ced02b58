"""The dashboard in a real browser (Debian's Chromium driven by Playwright) against the real
broker, PostgreSQL and `yidi worker all`.

A month of traffic lands in a fresh database through the workers, with prepayments sized
from the offline adjudicator's totals so one pair crosses its yellow line and one its red;
the month is closed (a statement); three alerts are recorded. Then, in the browser: the
clearing center sees every pair, nets that sum to zero and the flow chart drawn; Zhejiang's
agency (AG330000) sees only the pairs it pays or is paid on and its own net; a settlement
published while both have the live page open appears on the center's page within 2 s of
landing (its ``landed_at``, which is the ledger transaction's start: stricter than its
commit), and on Zhejiang's only if Zhejiang is a side of it; Zhejiang's login gets 403 for
another province's statement, pair or scope typed as a URL. Screenshots (the flow chart, the
gauges, the alert list, the live page) go to ``.run/e2e-dashboard/``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import socket
import subprocess
import time
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import asyncpg
import orjson
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from services.adjudication.reference import load_reference
from services.dashboard.users import DashboardFiles, ensure_users, logins
from services.entry.bootstrap import build_runtime, sender_ids
from services.runtime.settings import Settings
from services.tools.simulator.build import Built
from services.tools.simulator.run import plan_messages, publish, wait_consumed, write_jsonl
from tests.e2e.conftest import YIDI, Workers, yidi_cli
from tests.e2e.pipeline_check import offline_settlements
from tests.fresh_db import fresh_database, seed_sink_positions_at_end

REFERENCE = Path(__file__).resolve().parents[2] / "deploy" / "reference"
CHROMIUM = "/usr/bin/chromium"
VISITS = int(os.environ.get("YIDI_E2E_DASHBOARD_VISITS", "80"))
MONTH = "2026-08"
PROVINCE = "330000"
SETTLEMENT_TOPIC = "yidi.settlement.v1"
LIVE_WITHIN_MS = 2000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _national_flows(offline: dict[str, bytes]) -> dict[tuple[str, str], Decimal]:
    """(payer province, payee province) -> fund paid, from the offline adjudicator."""
    out: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for body in offline.values():
        doc = orjson.loads(body)
        home, treatment = doc["insuplc_admdvs"][:2] + "0000", doc["mdtrtarea_admvs"][:2] + "0000"
        if home != treatment:
            sign = -1 if doc["refd_setl_flag"] == "1" else 1
            out[(home, treatment)] += sign * Decimal(doc["setlinfo"]["fund_pay_sumamt"])
    return out


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[dict[str, object]]:
    """A `yidi dashboard serve` process on a free port (its database set per test)."""
    state: dict[str, object] = {"port": _free_port()}
    procs: list[subprocess.Popen[bytes]] = []

    def start(db_url: str) -> str:
        files = DashboardFiles.under(Settings().run_dir)
        agencies = [s for s in sender_ids(load_reference(None)) if s.startswith("AG")]
        ensure_users(files, logins(agencies))  # as `yidi dashboard users` (make up) does
        port = state["port"]
        log = (tmp_path / "dashboard.log").open("wb")
        env = {**os.environ, "YIDI_DATABASE_URL": db_url, "YIDI_LOG_FORMAT": "json"}
        procs.append(subprocess.Popen([YIDI, "dashboard", "serve", "--port", str(port)],
                                      stdout=log, stderr=subprocess.STDOUT, env=env))  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return base
            except OSError:
                assert procs[0].poll() is None, (tmp_path / "dashboard.log").read_text()
                assert time.monotonic() < deadline, "the dashboard did not start"
                time.sleep(0.2)

    state["start"] = start
    try:
        yield state
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


async def _login(browser: Browser, base: str, login: str, password: str) -> BrowserContext:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    await page.goto(base + "/login")
    await page.fill("#login", login)
    await page.fill("#password", password)
    await page.click("#submit")
    await page.wait_for_selector("#who")
    assert (await page.inner_text("#who")).startswith(login)
    await page.close()
    return context


async def _cells(page: Page, selector: str, attribute: str) -> list[str]:
    return [
        str(await row.get_attribute(attribute)) for row in await page.query_selector_all(selector)
    ]


async def _seed_alerts(db_url: str) -> dict[str, str]:
    """Three alerts on settlements that landed (the supervision worker's table, written here:
    its own e2e test covers how alerts are made); one in Shanghai that Zhejiang must not see.
    Returns alert_id -> the region it is about."""
    conn = await asyncpg.connect(db_url)
    try:
        rows = await conn.fetch(
            "SELECT setl_id, psn_no, insuplc_admdvs, mdtrtarea_admvs, fixmedins_code, setl_date "
            "FROM settlements WHERE kind = 'settlement' ORDER BY setl_id"
        )
        zj = next(r for r in rows if r["mdtrtarea_admvs"].startswith("33"))
        sh = next(r for r in rows if r["mdtrtarea_admvs"].startswith("31")
                  and not r["insuplc_admdvs"].startswith("33"))  # fmt: skip
        seen = dt.datetime(2026, 8, 20, 9, 0, tzinfo=dt.UTC)
        made = {}
        for i, (row, rule, kind) in enumerate(((zj, "R-DUP-BILLING", "duplicate_billing"),
                                               (sh, "R-READMIT-15D", "readmission"),
                                               (zj, "R-READMIT-15D", "readmission"))):  # fmt: skip
            alert_id = f"A{i}-{uuid.uuid4().hex[:8]}"
            await conn.execute(
                """INSERT INTO alerts (alert_id, rule_id, rule_kind, rule_version, severity,
                       subject_kind, subject, admdvs, window_start, window_end, setl_ids,
                       mdtrt_ids, fixmedins_codes, amount, detail, first_seen_at)
                   VALUES ($1, $2, $3, 'v1', 'suspicious', 'person', $4, $5, $6, $6, $7,
                           '{}', $8, 100.00, 'e2e', $9)""",
                alert_id, rule, kind, f"{row['insuplc_admdvs']}:{row['psn_no']}",
                row["mdtrtarea_admvs"], row["setl_date"], [row["setl_id"]],
                [row["fixmedins_code"]], seen + dt.timedelta(minutes=i),
            )  # fmt: skip
            made[alert_id] = row["mdtrtarea_admvs"]
        return made
    finally:
        await conn.close()


async def _landed(db_url: str) -> dict[str, tuple[str, str, float]]:
    """setl_id -> (home, treatment, landed_at in epoch ms)."""
    conn = await asyncpg.connect(db_url)
    try:
        rows = await conn.fetch(
            "SELECT setl_id, insuplc_admdvs, mdtrtarea_admvs, landed_at FROM settlements"
        )
    finally:
        await conn.close()
    return {r["setl_id"]: (r["insuplc_admdvs"], r["mdtrtarea_admvs"],
                           r["landed_at"].timestamp() * 1000) for r in rows}  # fmt: skip


async def _clearing(center: BrowserContext, zj: BrowserContext, base: str, shots: Path
                    ) -> set[tuple[str, str]]:  # fmt: skip
    """The center sees every pair, nets summing to zero and the chart drawn; the province its
    own pairs and net only. Returns the month's pairs."""
    page = await center.new_page()
    await page.goto(f"{base}/clearing?period={MONTH}&scope=national")
    await page.wait_for_selector("#flow-chart[data-rendered='1'] canvas")
    all_pairs = set(zip(await _cells(page, "#pairs tr.pair", "data-payer"),
                        await _cells(page, "#pairs tr.pair", "data-payee"), strict=True))  # fmt: skip
    assert len(all_pairs) >= 6, all_pairs
    nets = [Decimal((await c.inner_text()).replace(",", ""))
            for c in await page.query_selector_all("#nets td.num")]  # fmt: skip
    assert len(nets) >= 4 and sum(nets) == 0, nets
    assert "浙江省" in await page.inner_text("#matrix")
    assert int(str(await page.get_attribute("#flow-chart", "data-links"))) >= 6
    assert "CLOSED" in await page.inner_text(f"#periods tr[data-period='{MONTH}']")
    await page.screenshot(path=shots / "clearing-flows.png", full_page=True)
    await page.locator("#flow-chart").screenshot(path=shots / "flow-chart.png")
    await page.close()

    zpage = await zj.new_page()
    await zpage.goto(f"{base}/clearing?period={MONTH}&scope=national")
    await zpage.wait_for_selector("#flow-chart[data-rendered='1']")
    own = set(zip(await _cells(zpage, "#pairs tr.pair", "data-payer"),
                  await _cells(zpage, "#pairs tr.pair", "data-payee"), strict=True))  # fmt: skip
    want = {p for p in all_pairs if PROVINCE in p}
    assert own == want and own, (own, want)
    assert await _cells(zpage, "#nets tr[data-participant]", "data-participant") == [PROVINCE]
    assert set(await _cells(zpage, "#matrix tbody tr", "data-payer")) <= {p for p, _ in want}
    await zpage.screenshot(path=shots / "clearing-province.png", full_page=True)
    await zpage.close()
    return all_pairs


async def _prepayments(center: BrowserContext, base: str, shots: Path,
                       yellow: tuple[str, str], red: tuple[str, str]) -> None:  # fmt: skip
    page = await center.new_page()
    await page.goto(f"{base}/prepayments?period={MONTH}")
    await page.wait_for_function(
        "document.querySelectorAll('.gauge[data-rendered=\"1\"] canvas').length === 2"
    )
    levels = {(await g.get_attribute("data-payer"), await g.get_attribute("data-payee")):
              await g.get_attribute("data-level")
              for g in await page.query_selector_all(".gauge-box")}  # fmt: skip
    assert levels == {yellow: "yellow", red: "red"}, levels
    warned = set(zip(await _cells(page, "#warnings tbody tr", "data-home"),
                     await _cells(page, "#warnings tbody tr", "data-treatment"), strict=True))  # fmt: skip
    assert {yellow, red} <= warned, warned
    await page.locator("#gauges").screenshot(path=shots / "gauges.png")
    await page.close()


async def _supervision(center: BrowserContext, zj: BrowserContext, base: str, shots: Path,
                       alerts: dict[str, str]) -> None:  # fmt: skip
    """Alerts per rule, newest first, person keys masked, evidence links that open; the
    province sees the alerts about its own regions only."""
    page = await center.new_page()
    await page.goto(f"{base}/supervision")
    assert set(await _cells(page, "tr.alert", "data-alert-id")) == set(alerts)
    readmit = await _cells(page, "section[data-rule='R-READMIT-15D'] tr.alert", "data-alert-id")
    assert len(readmit) == 2 and readmit == sorted(readmit, reverse=True), "not newest first"
    assert ":****" in await page.content()
    await page.screenshot(path=shots / "alerts.png", full_page=True)
    await page.click("a.evidence >> nth=0")
    await page.wait_for_selector("#settlement")
    await page.close()
    zpage = await zj.new_page()
    await zpage.goto(f"{base}/supervision")
    mine = {k for k, region in alerts.items() if region.startswith(PROVINCE[:2])}
    assert set(await _cells(zpage, "tr.alert", "data-alert-id")) == mine and mine
    await zpage.close()


async def _refusals(center: BrowserContext, zj: BrowserContext, base: str, statement_id: str,
                    all_pairs: set[tuple[str, str]]) -> None:  # fmt: skip
    """A province cannot fetch another province's statement, pair, scope or the ops page by
    typing its URL; the center can."""
    other = next(p for pair in all_pairs for p in pair if p != PROVINCE)
    foreign = next(p for p in all_pairs if PROVINCE not in p)
    for url, status in (
        (f"/statements/{statement_id}/{PROVINCE}", 200),
        (f"/statements/{statement_id}/{other}", 403),
        (f"/statements/{statement_id}/000000", 403),
        (f"/statements/no-such-statement/{other}", 403),
        (f"/clearing/pair?period={MONTH}&scope=national&payer={foreign[0]}&payee={foreign[1]}",
         403),
        (f"/clearing?period={MONTH}&scope=province:310000", 403),
        ("/ops", 403),
    ):  # fmt: skip
        got = await zj.request.get(base + url, max_redirects=0)
        assert got.status == status, (url, got.status)
    assert (await center.request.get(f"{base}/statements/{statement_id}/{other}")).status == 200
    assert zj.browser is not None
    anonymous = await zj.browser.new_context()
    got = await anonymous.request.get(f"{base}/statements/{statement_id}/{PROVINCE}",
                                      max_redirects=0)  # fmt: skip
    assert got.status == 302 and "/login" in got.headers["location"]
    await anonymous.close()


async def _live(center: BrowserContext, zj: BrowserContext, base: str, shots: Path,
                db_url: str, suffix: str, live: list[Built]) -> None:  # fmt: skip
    """A settlement published now appears on the center's live page within 2 s of landing,
    and on the province's only if the province is a side of it."""
    settings = Settings()
    before = set(await _landed(db_url))
    page, zpage = await center.new_page(), await zj.new_page()
    for p in (page, zpage):
        await p.goto(f"{base}/live")
        await p.wait_for_selector("#live-status[data-state='open']")
    sending = asyncio.create_task(publish(settings.kafka(), live, rate=0,
                                          adjudication_group="yidi-adjudication"))  # fmt: skip
    await page.wait_for_selector("#live-latest tr[data-setl-id]", timeout=60_000)
    assert (await sending).missing == []
    await wait_consumed(settings.kafka(), "yidi-ledger" + suffix, SETTLEMENT_TOPIC)
    landed = {k: v for k, v in (await _landed(db_url)).items() if k not in before}
    assert landed, "the live batch landed nothing"
    await page.wait_for_function(
        f"Number(document.getElementById('live-count').textContent) === {len(landed)}"
    )
    delays = {}
    for row in await page.query_selector_all("#live-latest tr[data-setl-id]"):
        setl_id = str(await row.get_attribute("data-setl-id"))
        assert setl_id in landed, setl_id
        received = float(str(await row.get_attribute("data-received-ms")))
        delays[setl_id] = round(received - landed[setl_id][2], 1)
    print(f"live: ms from landed_at to the page: {sorted(delays.values())}")
    assert delays and max(delays.values()) <= LIVE_WITHIN_MS, delays
    await page.screenshot(path=shots / "live.png", full_page=True)
    zrows = set(await _cells(zpage, "#live-latest tr[data-setl-id]", "data-setl-id"))
    zhejiang = {k for k, (h, t, _) in landed.items() if PROVINCE[:2] in (h[:2], t[:2])}
    assert zrows <= zhejiang, zrows - zhejiang
    if len(landed) <= 10:  # every row fits in the notifications' ten
        assert zrows == zhejiang and set(delays) == set(landed)


async def test_dashboard_in_chromium(
    workers: Workers, dashboard: dict[str, object], tmp_path: Path
) -> None:
    settings = Settings()
    shots = settings.run_dir / "e2e-dashboard"
    shots.mkdir(parents=True, exist_ok=True)
    runtime = build_runtime(settings)
    run = uuid.uuid4().hex[:8]
    t0 = time.monotonic()
    month = plan_messages(REFERENCE, runtime.codec, VISITS, seed=61, run_id=f"dsh-{run}",
                          day=dt.date(2026, 8, 14))  # fmt: skip
    live = plan_messages(REFERENCE, runtime.codec, 6, seed=62, run_id=f"dshl-{run}",
                         day=dt.date(2026, 8, 21))  # fmt: skip
    events = tmp_path / "events.jsonl"
    write_jsonl(month, events)
    flows = _national_flows(offline_settlements(events))
    (a, fund_a), (b, fund_b) = sorted(flows.items(), key=lambda kv: -kv[1])[:2]
    phases = {"plan": time.monotonic() - t0}

    async with fresh_database(settings) as db_url:
        suffix = f"-t{run}"
        env = {"YIDI_DATABASE_URL": db_url, "YIDI_GROUP_SUFFIX": suffix}
        for group in ("yidi-ledger", "yidi-clearing"):
            await seed_sink_positions_at_end(settings.kafka(), db_url, group + suffix,
                                             SETTLEMENT_TOPIC)  # fmt: skip
        workers.start("all", "all", env)
        # pair a ends at 80 % of its prepayment (yellow), pair b at 100 % (red); set as
        # `yidi clearing prepayment` does (its own tests cover the command)
        conn = await asyncpg.connect(db_url)
        try:
            await conn.executemany(
                "INSERT INTO prepayments (year, scope, payer, payee, amount, yellow_bp, red_bp) "
                "VALUES (2026, 'national', $1, $2, $3, 7000, 9000)",
                [(*a, (fund_a / Decimal("0.8")).quantize(Decimal("0.01"))), (*b, fund_b)],
            )
        finally:
            await conn.close()
        phases["setup"] = time.monotonic() - t0 - sum(phases.values())
        report = await publish(settings.kafka(), month, rate=0,
                               adjudication_group="yidi-adjudication", ack_timeout_s=120)  # fmt: skip
        assert report.missing == [], report.as_dict()
        for group in ("yidi-ledger", "yidi-clearing"):
            await wait_consumed(settings.kafka(), group + suffix, SETTLEMENT_TOPIC)
        closed = json.loads(yidi_cli(["clearing", "close", "--period", MONTH, "--scope",
                                      "national", "--json"], env))  # fmt: skip
        alerts = await _seed_alerts(db_url)
        phases["month"] = time.monotonic() - t0 - sum(phases.values())

        base = str(dashboard["start"](db_url))  # type: ignore[operator]
        secrets = settings.run_dir / "dashboard" / "secrets" / "passwords.json"
        passwords = json.loads(secrets.read_text())
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            center = await _login(browser, base, "clearing-center", passwords["clearing-center"])
            zj = await _login(browser, base, f"AG{PROVINCE}", passwords[f"AG{PROVINCE}"])
            phases["browser"] = time.monotonic() - t0 - sum(phases.values())
            all_pairs = await _clearing(center, zj, base, shots)
            await _prepayments(center, base, shots, a, b)
            await _supervision(center, zj, base, shots, alerts)
            await _refusals(center, zj, base, str(closed["statement_id"]), all_pairs)
            phases["pages"] = time.monotonic() - t0 - sum(phases.values())
            await _live(center, zj, base, shots, db_url, suffix, live)
            phases["live"] = time.monotonic() - t0 - sum(phases.values())
            await browser.close()
    print("phases (s):", {k: round(v, 1) for k, v in phases.items()}, f"screenshots: {shots}")
