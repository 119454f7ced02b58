"""Jinja2 templates (autoescaped) with the dashboard's filters: region labels and money."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import jinja2
from aiohttp import web

from services.dashboard.core.divisions import Divisions
from services.dashboard.web.state import DEPS

TEMPLATES = Path(__file__).resolve().parent / "templates"
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _when(value: dt.datetime | None) -> str:
    return "" if value is None else value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def environment(names: Divisions) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
    env.filters["label"] = names.label
    env.filters["region"] = names.name
    env.filters["scope_label"] = names.scope_label
    env.filters["money"] = _money
    env.filters["when"] = _when
    return env


def page(request: web.Request, template: str, status: int = 200, **context: object) -> web.Response:
    return render_page(request, template, context, status)


def render_page(
    request: web.Request, template: str, context: dict[str, object], status: int = 200
) -> web.Response:
    env = request.app[DEPS].jinja
    html = env.get_template(template).render(viewer=request.get("viewer"), **context)
    return web.Response(
        text=html, content_type="text/html", status=status, headers={"Cache-Control": "no-store"}
    )
