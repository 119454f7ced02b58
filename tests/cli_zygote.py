"""Run ``yidi ARGS`` as a fresh process without paying Python's start-up and imports each time.

Why: the e2e tests call the CLI many times (close, report, confirm, replay, hash, redrive);
each call was a new interpreter importing typer, pydantic, the contracts and the CLI's
modules again (~0.5 s of CPU out of ~0.65 s per call, several seconds of wall time on a
loaded 2-core box). A zygote process imports ``services.entry.cli`` once; for each call it
forks a child that takes the caller's environment, working directory and argument list,
writes to its own stdout/stderr files and exits with the command's exit code, exactly as
the console script would (the CLI reads no settings and opens no connection at import
time: services/entry/cli/__init__.py). Each call is still its own process, so nothing a
command does (event loops, clients, logging set-up) leaks into the next.

The zygote speaks one JSON line per request on its stdin and answers with the child's pid,
then its exit code. Workers and long-running servers are still started with the real
``yidi`` console script (tests/e2e/conftest.py): only short commands come through here.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any


def _child(request: dict[str, Any], answers_fd: int) -> None:
    """In the forked child: become ``yidi ARGS`` and never return."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a new interpreter
        os.close(answers_fd)  # the zygote's answer pipe is not the command's
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        for fd, path in ((1, request["out"]), (2, request["err"])):
            target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(target, fd)
            os.close(target)
        sys.stdin = open(os.devnull)  # noqa: SIM115
        sys.argv = ["yidi", *request["args"]]
        from services.entry.cli import main

        try:
            main()
            code = 0
        except SystemExit as done:
            if done.code is None:
                code = 0
            elif isinstance(done.code, int):
                code = done.code
            else:
                print(done.code, file=sys.stderr)
                code = 1
    except BaseException:  # an uncaught error: a traceback and exit 1, as Python gives
        traceback.print_exc()
        code = 1
    finally:
        try:
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve() -> None:
    """The zygote: import the CLI once, then fork one child per request line."""
    import services.entry.cli  # noqa: F401 (the point: imported once, before any fork)

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the test run's Ctrl-C is the client's
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request, answers.fileno())
        answers.write(json.dumps({"pid": pid}) + "\n")
        _, status = os.waitpid(pid, 0)
        answers.write(json.dumps({"rc": os.waitstatus_to_exitcode(status)}) + "\n")


YIDI = str(Path(sys.executable).with_name("yidi"))
IMPORT_TIME_ENV = ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TERM")
"""What rich's module-level consoles read when the CLI is imported: a call whose environment
differs in any of these from the zygote's runs the console script instead."""


class Zygote:
    """The client side: one zygote per test process, one call at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._pending = b""
        self.import_env: dict[str, str | None] = {}

    def _started(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", "from tests.cli_zygote import serve; serve()"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
            )
            self._pending = b""
            self.import_env = {k: os.environ.get(k) for k in IMPORT_TIME_ENV}
            atexit.register(self.close)
        return self._proc

    def _line(self, fd: int, timeout_s: float) -> dict[str, Any]:
        """The zygote's next answer line (its own buffer: two answers may come in one read)."""
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._pending:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError(f"no answer from the CLI zygote in {timeout_s} s")
            chunk = os.read(fd, 4096)
            if not chunk:
                raise RuntimeError("the CLI zygote exited")
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()

    def run(
        self, args: list[str], env: dict[str, str], timeout_s: float
    ) -> subprocess.CompletedProcess[str]:
        """``yidi ARGS`` with exactly ``env`` as its environment; raises
        ``subprocess.TimeoutExpired`` (the child killed) after ``timeout_s``."""
        with self._lock, tempfile.TemporaryDirectory(prefix="yidi-cli-") as tmp:
            out, err = os.path.join(tmp, "out"), os.path.join(tmp, "err")
            proc = self._started()
            if any(env.get(k) != v for k, v in self.import_env.items()):
                return subprocess.run([YIDI, *args], env=env, capture_output=True, text=True,
                                      timeout=timeout_s, check=False)  # fmt: skip
            assert proc.stdin is not None and proc.stdout is not None
            request = {"args": args, "env": env, "cwd": os.getcwd(), "out": out, "err": err}
            proc.stdin.write(json.dumps(request).encode() + b"\n")
            proc.stdin.flush()
            fd = proc.stdout.fileno()
            pid = self._line(fd, 60)["pid"]
            try:
                rc = self._line(fd, timeout_s)["rc"]
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)
                self._line(fd, 30)
                raise subprocess.TimeoutExpired(["yidi", *args], timeout_s) from None
            with open(out, encoding="utf-8", errors="replace") as o:
                stdout = o.read()
            with open(err, encoding="utf-8", errors="replace") as e:
                stderr = e.read()
            return subprocess.CompletedProcess(["yidi", *args], rc, stdout, stderr)


ZYGOTE = Zygote()


def run_yidi(
    args: list[str], env: dict[str, str] | None = None, timeout_s: float = 600
) -> subprocess.CompletedProcess[str]:
    """``yidi ARGS`` with this process's environment plus ``env``, as ``subprocess.run([yidi,
    *args], capture_output=True, text=True)`` would give it."""
    return ZYGOTE.run(args, {**os.environ, **(env or {})}, timeout_s)
