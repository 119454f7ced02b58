"""e2e fixtures: the real `yidi worker` processes against the local broker and database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_zygote import run_yidi

YIDI = str(Path(sys.executable).with_name("yidi"))


def yidi_cli(args: list[str], env: dict[str, str], timeout_s: float = 600) -> str:
    """Run ``yidi ARGS`` with ``env`` over this environment; its stdout (it must succeed).
    A process of its own, forked from an interpreter that imported the CLI once
    (tests/cli_zygote.py)."""
    done = run_yidi(args, env, timeout_s)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-2000:]
    return done.stdout


def free_port() -> int:
    """A TCP port nothing listens on now (the kernel's pick)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Workers:
    """Start, kill and restart `yidi worker` subprocesses (logs under tmp_path)."""

    def __init__(self, log_dir: Path, run: str) -> None:
        self.log_dir = log_dir
        self.run = run
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.starts = 0
        self.metrics_ports: dict[str, int] = {}
        """Each started worker's ``/metrics`` port: a free one, so workers of one test (two
        adjudicators, say) and of other runs on the machine never contend for a port."""

    def start(self, name: str, kind: str, env: dict[str, str] | None = None) -> None:
        """Start worker ``name``; a restart of the same name reuses its static group membership.
        ``env`` adds variables (e.g. ``YIDI_DATABASE_URL`` of a fresh database)."""
        self.starts += 1
        log = (self.log_dir / f"{name}-{self.starts}.log").open("wb")
        port = self.metrics_ports.get(name) or free_port()
        self.metrics_ports[name] = port
        env = {
            **os.environ, "YIDI_LOG_FORMAT": "json", "YIDI_INSTANCE_ID": f"{self.run}-{name}",
            "YIDI_METRICS_PORT": str(port), **(env or {}),
        }  # fmt: skip
        self.procs[name] = subprocess.Popen(
            [YIDI, "worker", kind], stdout=log, stderr=subprocess.STDOUT, env=env
        )

    def kill9(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)

    def terminate(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the test item: the workers fixture shows the workers' logs
    when the test itself failed (CI prints only the output, never the files)."""
    outcome = yield
    setattr(item, f"report_{call.when}", outcome.get_result())  # type: ignore[attr-defined]


LOG_TAIL_LINES = 25

MEMBERS = f"e2e{uuid.uuid4().hex[:6]}"
"""The workers' static member ids (``YIDI_INSTANCE_ID``), one set per pytest session and not
per test. A worker stopped by SIGTERM leaves its groups (events/stream/leave.py), but one a
test killed stays a member of the shared groups (registration, adjudication) until its
session times out (10 s), and a new member's join waits for that; the next test's worker of
the same name takes its place at once instead."""


@pytest.fixture
def workers(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Workers]:
    w = Workers(tmp_path, MEMBERS)
    try:
        yield w
    finally:
        w.stop_all()
        call = getattr(request.node, "report_call", None)
        if call is not None and call.failed:
            for log in sorted(tmp_path.glob("*.log")):  # masked by the workers: no personal data
                lines = log.read_text(errors="replace").splitlines()
                print(f"--- {log.name}: last {LOG_TAIL_LINES} of {len(lines)} lines")
                print("\n".join(line[:400] for line in lines[-LOG_TAIL_LINES:]))
