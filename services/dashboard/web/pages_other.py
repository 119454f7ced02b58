"""The prepayment, supervision, ops and live pages."""

from __future__ import annotations

import time

import structlog
from aiohttp import web

from events import catalog
from services.dashboard.adapters.broker import STREAM_GROUPS
from services.dashboard.core import clearing_views as cv
from services.dashboard.core.access import Page, check_period
from services.dashboard.core.feeds import alert_groups, lag_rows, mask_subject, rate_of
from services.dashboard.web.render import page, render_page
from services.dashboard.web.state import Deps, deps, viewer

log = structlog.get_logger("yidi.dashboard")
RATE_WINDOW_S = 60.0
ALERTS_SHOWN = 25
"""Newest alerts listed per rule (the heading counts them all)."""


async def prepayments(request: web.Request) -> web.Response:
    who, d = viewer(request), deps(request)
    who.require_page(Page.PREPAYMENTS)
    months = sorted({p.period for p in await d.reads.periods()}, reverse=True)
    period = check_period(request.query.get("period") or (months[0] if months else "2026-01"))
    gauges = cv.gauges(await d.reads.gauges(period), who, d.names)
    warnings = [w for w in await d.reads.warnings() if who.sees_pair(w.scope, w.home, w.treatment)]
    return page(request, "prepayments.html", period=period, months=months, gauges=gauges,
                charts=[cv.gauge_chart(g) for g in gauges], warnings=warnings)  # fmt: skip


async def supervision(request: web.Request) -> web.Response:
    who, d = viewer(request), deps(request)
    who.require_page(Page.SUPERVISION)
    groups = alert_groups(await d.reads.alerts(), who)
    return page(request, "supervision.html", groups=groups, mask=mask_subject, shown=ALERTS_SHOWN)


def _sample(d: Deps, key: tuple[str, str], total: int) -> float | None:
    now = time.monotonic()
    samples = [s for s in d.samples.get(key, []) if now - s[0] <= RATE_WINDOW_S]
    samples.append((now, total))
    d.samples[key] = samples
    return rate_of(samples)


async def ops_model(d: Deps) -> dict[str, object]:
    positions, updated = await d.reads.sink_positions()
    positions = {k: v for k, v in positions.items() if not k[0].startswith("probe")}
    broker_error = None
    ends: dict[str, dict[int, int]] = {}
    dlq = None
    if d.broker is not None:
        try:
            for group, topics in STREAM_GROUPS.items():
                for topic, parts in (await d.broker.committed(group)).items():
                    if topic in topics:
                        positions[(group, topic)] = parts
            ends = await d.broker.end_offsets(sorted({t for _, t in positions} | {catalog.DLQ}))
            dlq = await d.broker.dlq_counts()
        except Exception as exc:  # the page still shows PostgreSQL's side, and says why
            broker_error = type(exc).__name__
            log.warning("ops_page_broker_unreachable", error=broker_error)
    rates = {k: _sample(d, k, sum(v.values())) for k, v in positions.items()}
    rows = lag_rows(positions, ends, rates, updated)
    return {
        "rows": rows, "broker_error": broker_error, "dlq": dlq,
        "dlq_end": sum(ends.get(catalog.DLQ, {}).values()),
        "dlq_age_s": None if dlq is None else round(time.monotonic() - dlq.read_at),
        "redrives": await d.reads.redrives(), "runs": await d.reads.replay_runs(),
        "live": {"subscribers": d.hub.subscribers, "batches": d.hub.received,
                 "dropped": d.hub.dropped},
    }  # fmt: skip


async def ops(request: web.Request) -> web.Response:
    who, d = viewer(request), deps(request)
    who.require_page(Page.OPS)
    return render_page(request, "ops.html", await ops_model(d))


async def live(request: web.Request) -> web.Response:
    viewer(request).require_page(Page.LIVE)
    return page(request, "live.html")


def routes(app: web.Application) -> None:
    app.router.add_get("/prepayments", prepayments)
    app.router.add_get("/supervision", supervision)
    app.router.add_get("/ops", ops)
    app.router.add_get("/live", live)
