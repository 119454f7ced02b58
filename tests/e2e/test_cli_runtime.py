"""The installed `yidi` command against the running local runtime, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

YIDI = str(Path(sys.executable).with_name("yidi"))


def _yidi(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [YIDI, *args], capture_output=True, text=True, timeout=120, env=env, check=False
    )


def test_topics_apply_second_run_reports_no_changes() -> None:
    _yidi("topics", "apply")
    again = _yidi("topics", "apply")
    assert again.returncode == 0, again.stderr
    assert "no changes" in again.stdout
    listing = _yidi("topics", "list")
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.count(" ok ") >= 6


def test_db_migrate_is_idempotent() -> None:
    first = _yidi("db", "migrate")
    assert first.returncode == 0, first.stderr
    again = _yidi("db", "migrate")
    assert again.returncode == 0 and "schema up to date" in again.stdout
