"""What every handler needs, built once at start-up (services/dashboard/web/server.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

import jinja2
from aiohttp import web
from itsdangerous import URLSafeTimedSerializer

from services.dashboard.adapters.broker import BrokerReads
from services.dashboard.adapters.live import LiveHub
from services.dashboard.adapters.pg_reads import DashboardReads
from services.dashboard.core.access import Viewer
from services.dashboard.core.divisions import Divisions
from services.dashboard.users import UserStore

SESSION_COOKIE = "yidi_dashboard"
SESSION_MAX_AGE_S = 8 * 3600


@dataclass(slots=True)
class Deps:
    reads: DashboardReads
    broker: BrokerReads | None
    hub: LiveHub
    users: UserStore
    names: Divisions
    jinja: jinja2.Environment
    sessions: URLSafeTimedSerializer
    samples: dict[tuple[str, str], list[tuple[float, int]]] = field(default_factory=dict)
    """(group, topic) -> recent (monotonic s, position total): the ops page's rates."""


DEPS = web.AppKey("deps", Deps)


def deps(request: web.Request) -> Deps:
    return request.app[DEPS]


def viewer(request: web.Request) -> Viewer:
    found = request.get("viewer")
    assert isinstance(found, Viewer), "the session middleware runs first"
    return found
