"""``describe_group`` rides out a group coordinator that is not there yet (a fresh cluster
answers the first lookup with ``COORDINATOR_NOT_AVAILABLE`` while it creates
``__consumer_offsets``; CI's `yidi replay rebuild` failed on one) and gives up at once on an
error that asking again will not mend."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.errors import (
    CoordinatorLoadInProgressError,
    GroupAuthorizationFailedError,
    GroupCoordinatorNotAvailableError,
)

from events.admin import describe_group


class _Admin:
    def __init__(self, failures: list[Exception]) -> None:
        self.failures, self.asked = failures, 0

    async def describe_consumer_groups(self, groups: list[str]) -> list[Any]:
        self.asked += 1
        if self.failures:
            raise self.failures.pop(0)
        member = ("m-1", "c-1", "/127.0.0.1", b"", b"")
        return [SimpleNamespace(groups=[(0, groups[0], "Stable", "consumer", "range", [member])])]


async def test_a_coordinator_not_there_yet_is_asked_again() -> None:
    admin = _Admin([GroupCoordinatorNotAvailableError(), CoordinatorLoadInProgressError()])
    assert await describe_group(admin, "yidi-ledger-x") == ("Stable", 1)  # type: ignore[arg-type]
    assert admin.asked == 3


async def test_an_error_asking_again_will_not_mend_is_raised_at_once() -> None:
    admin = _Admin([GroupAuthorizationFailedError()])
    with pytest.raises(GroupAuthorizationFailedError):
        await describe_group(admin, "yidi-ledger-x")  # type: ignore[arg-type]
    assert admin.asked == 1
