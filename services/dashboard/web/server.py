"""Start the dashboard: the read-only database pool, the LISTEN connection, the broker reads
as ``ops``, the users and the session key, then serve until SIGTERM / SIGINT."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import asyncpg
import structlog
from aiohttp import web
from itsdangerous import URLSafeTimedSerializer

from services.dashboard.adapters.broker import BrokerReads
from services.dashboard.adapters.live import LiveHub
from services.dashboard.adapters.pg_reads import DashboardReads
from services.dashboard.core.divisions import Divisions
from services.dashboard.users import DashboardFiles, UserStore
from services.dashboard.web.app import build_app
from services.dashboard.web.render import environment
from services.dashboard.web.state import Deps
from services.runtime import principals
from services.runtime.reference import DEFAULT_REFERENCE_DIR
from services.runtime.settings import KafkaCredentialsMissing, Settings

log = structlog.get_logger("yidi.dashboard")
SHUTDOWN_S = 3.0
"""On SIGTERM, open event streams get this long before they are cut (they never end by
themselves; a browser's EventSource reconnects to the next instance)."""


def load_divisions(reference_dir: Path | None) -> Divisions:
    path = (reference_dir or DEFAULT_REFERENCE_DIR) / "divisions.json"
    return Divisions(json.loads(path.read_text("utf-8"))["divisions"])


async def serve(
    settings: Settings, host: str, port: int, ready: asyncio.Event | None = None
) -> None:
    files = DashboardFiles.under(settings.run_dir)
    users = UserStore.load(files)
    key = files.session_key.read_text().strip()
    url = settings.service_database_url("dashboard")
    pool = await asyncpg.create_pool(url, min_size=1, max_size=4)
    assert pool is not None
    try:
        broker: BrokerReads | None = BrokerReads(settings.kafka(principals.OPS))
    except KafkaCredentialsMissing:
        broker = None  # the ops page then shows PostgreSQL's side only
    hub = LiveHub(url)
    names = load_divisions(settings.reference_dir)
    deps = Deps(DashboardReads(pool), broker, hub, users, names, environment(names),
                URLSafeTimedSerializer(key, salt="yidi-dashboard-session"))  # fmt: skip
    runner = web.AppRunner(build_app(deps), access_log=None, shutdown_timeout=SHUTDOWN_S)
    await hub.start()
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        log.info("dashboard_started", host=host, port=port, users=len(users.users))
        if ready is not None:
            ready.set()
        await stop.wait()
    finally:
        await runner.cleanup()
        await hub.stop()
        await pool.close()
        log.info("dashboard_stopped")
