"""The workers' event loop: uvloop by default, the standard loop on request.

Why a test: the choice is a setting a deployment can get wrong silently (a worker that falls
back to the standard loop still runs, at a fraction more CPU); the runner must also give a
coroutine's result and its exception back unchanged on either loop.
"""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from services.runtime import event_loop
from services.runtime.settings import Settings


async def _loop_type() -> type[asyncio.AbstractEventLoop]:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop())


def test_default_setting_is_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YIDI_EVENT_LOOP", raising=False)
    assert Settings().event_loop == "uvloop"
    monkeypatch.setenv("YIDI_EVENT_LOOP", "asyncio")
    assert Settings().event_loop == "asyncio"


def test_runs_on_the_loop_named() -> None:
    assert event_loop.run(_loop_type(), "uvloop") is uvloop.Loop
    standard = event_loop.run(_loop_type(), "asyncio")
    assert standard is not uvloop.Loop and issubclass(standard, asyncio.BaseEventLoop)


@pytest.mark.parametrize("kind", ["uvloop", "asyncio"])
def test_result_and_exception_come_back(kind: event_loop.Kind) -> None:
    async def fails() -> None:
        raise LookupError("kept")

    async def value() -> int:
        return 42

    assert event_loop.run(value(), kind) == 42
    with pytest.raises(LookupError, match="kept"):
        event_loop.run(fails(), kind)
