"""The aiohttp application: sessions (signed cookies), login and logout, error pages, routes.

Why aiohttp: it is already in the tree (faust-streaming runs on it), it is asyncio-native
like every yidi worker (asyncpg pools and the LISTEN connection share its loop), and it
streams a response (server-sent events) without an extra ASGI server. Sessions are
``itsdangerous`` signed cookies holding the login only (HttpOnly, SameSite=Strict, 8 h);
the key is ``.run/dashboard/secrets/session.key``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

from aiohttp import web
from itsdangerous import BadSignature

from services.dashboard.core.access import Page
from services.dashboard.core.errors import DashboardError
from services.dashboard.web import pages_clearing, pages_other, sse
from services.dashboard.web.render import page
from services.dashboard.web.state import DEPS, SESSION_COOKIE, SESSION_MAX_AGE_S, Deps, deps

STATIC = Path(__file__).resolve().parent / "static"
OPEN_PATHS = ("/login", "/static/", "/healthz")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(OPEN_PATHS):
        return await handler(request)
    d = deps(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    found = None
    if cookie:
        try:
            login = d.sessions.loads(cookie, max_age=SESSION_MAX_AGE_S)
            found = d.users.viewer(str(login))
        except BadSignature:
            found = None
    if found is None:
        if request.path.startswith(("/events", "/api/")):
            raise web.HTTPUnauthorized(text="log in first")
        raise web.HTTPFound(f"/login?next={quote(request.path_qs)}")
    request["viewer"] = found
    return await handler(request)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except DashboardError as exc:
        return page(request, "error.html", status=exc.status, code=exc.code, message=exc.message)


async def login_form(request: web.Request) -> web.Response:
    return page(request, "login.html", next=request.query.get("next", "/"), failed=False)


async def login_post(request: web.Request) -> web.Response:
    form = await request.post()
    login, password = str(form.get("login", "")), str(form.get("password", ""))
    target = str(form.get("next", "/"))
    if not target.startswith("/") or target.startswith("//"):
        target = "/"  # never an open redirect
    found = deps(request).users.check(login, password)
    if found is None:
        return page(request, "login.html", status=401, next=target, failed=True)
    response = web.HTTPFound(target)
    response.set_cookie(SESSION_COOKIE, deps(request).sessions.dumps(found.login),
                        max_age=SESSION_MAX_AGE_S, httponly=True, samesite="Strict", path="/")  # fmt: skip
    raise response


async def logout(request: web.Request) -> web.Response:
    response = web.HTTPFound("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


async def home(request: web.Request) -> web.Response:
    first: Page = request["viewer"].pages[0]
    raise web.HTTPFound(f"/{first.value}")


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True, "live_subscribers": deps(request).hub.subscribers})


async def _end_streams(app: web.Application) -> None:
    app[DEPS].hub.end_streams()


def build_app(d: Deps) -> web.Application:
    app = web.Application(middlewares=[error_middleware, session_middleware])
    app[DEPS] = d
    app.on_shutdown.append(_end_streams)
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login_post)
    app.router.add_post("/logout", logout)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/", home)
    pages_clearing.routes(app)
    pages_other.routes(app)
    app.router.add_get("/events", sse.events)
    app.router.add_static("/static/", STATIC)
    return app
