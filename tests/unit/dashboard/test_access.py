"""Who sees what (services/dashboard/core/access.py): the province isolation every page and
URL relies on, checked without a server."""

from __future__ import annotations

import pytest

from services.dashboard.core.access import (
    NATIONAL,
    Page,
    Role,
    Viewer,
    check_code,
    check_period,
    check_scope,
)
from services.dashboard.core.errors import BadRequest, Forbidden

CENTER = Viewer("clearing-center", Role.CENTER)
OPS = Viewer("ops", Role.OPS)
ZJ = Viewer("AG330000", Role.PROVINCE, "330000")


def test_pages_per_role() -> None:
    assert CENTER.pages[0] is Page.CLEARING and Page.OPS in CENTER.pages
    assert ZJ.may_open(Page.CLEARING) and not ZJ.may_open(Page.OPS)
    assert OPS.pages == (Page.OPS,)
    with pytest.raises(Forbidden) as refused:
        ZJ.require_page(Page.OPS)
    assert refused.value.code == "E_DASHBOARD_FORBIDDEN" and refused.value.status == 403


def test_a_province_sees_the_national_pairs_it_is_a_side_of() -> None:
    assert ZJ.sees_pair(NATIONAL, "330000", "310000")
    assert ZJ.sees_pair(NATIONAL, "320000", "330000")
    assert not ZJ.sees_pair(NATIONAL, "310000", "320000")
    assert CENTER.sees_pair(NATIONAL, "310000", "320000")
    assert not OPS.sees_pair(NATIONAL, "330000", "310000")
    with pytest.raises(Forbidden):
        ZJ.require_pair(NATIONAL, "310000", "320000")


def test_a_province_sees_its_own_provincial_scope_whole_and_no_other() -> None:
    assert ZJ.sees_scope("province:330000") and ZJ.sees_pair("province:330000", "330900", "330421")
    assert not ZJ.sees_scope("province:310000")
    assert not ZJ.sees_pair("province:310000", "310000", "310118")
    assert ZJ.sees_participant("province:330000", "330900")


def test_a_province_sees_only_its_own_net_and_statement_view() -> None:
    assert ZJ.sees_participant(NATIONAL, "330000")
    assert not ZJ.sees_participant(NATIONAL, "310000")
    assert CENTER.sees_participant(NATIONAL, "310000")
    with pytest.raises(Forbidden):
        ZJ.require_participant(NATIONAL, "310000")


def test_settlements_and_regions() -> None:
    assert ZJ.sees_settlement("330900", "310104") and ZJ.sees_settlement("310104", "330421")
    assert not ZJ.sees_settlement("310104", "320509")
    assert ZJ.sees_region("330902") and not ZJ.sees_region("310104")
    with pytest.raises(Forbidden):
        ZJ.require_settlement("310104", "320509")


def test_a_province_login_names_a_province() -> None:
    with pytest.raises(ValueError, match="province"):
        Viewer("AG330000", Role.PROVINCE)
    with pytest.raises(ValueError, match="XX0000"):
        Viewer("AG330900", Role.PROVINCE, "330900")
    with pytest.raises(ValueError, match="province"):
        Viewer("clearing-center", Role.CENTER, "330000")


@pytest.mark.parametrize(
    ("check", "bad"),
    [(check_code, "33000"), (check_code, "33000x"), (check_period, "2026-13"),
     (check_period, "2026-8"), (check_scope, "province:330900"), (check_scope, "all")],
)  # fmt: skip
def test_malformed_parameters_are_refused(check: object, bad: str) -> None:
    with pytest.raises(BadRequest):
        check(bad)  # type: ignore[operator]
