"""The dashboard's refusals, each with a stable code (the web layer maps them to HTTP)."""

from __future__ import annotations


class DashboardError(Exception):
    """Root of the dashboard's errors; ``code`` is stable, ``status`` the HTTP answer."""

    code = "E_DASHBOARD"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Forbidden(DashboardError):
    """The login may not see this: another province's pair or statement, or a page of
    another role. Answered 403 without saying whether the thing exists."""

    code = "E_DASHBOARD_FORBIDDEN"
    status = 403


class NotFound(DashboardError):
    code = "E_DASHBOARD_NOT_FOUND"
    status = 404


class BadRequest(DashboardError):
    """A malformed query parameter (period, scope, region code)."""

    code = "E_DASHBOARD_BAD_REQUEST"
    status = 400
