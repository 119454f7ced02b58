"""The command line for a single-file Java tool run against the broker's jars, compiled once.

Why: ``java Tool.java`` compiles the source in memory on every launch, and the JVM's defaults
are tuned for long-running servers. ``deploy/security/SecurityAdmin.java`` runs for a few
hundred milliseconds of real work, about ten times in a `make test` and on every `make up`:
each launch cost ~3.7 s of CPU. Compiled once into the jars' cache (one folder per source
digest, so an edited tool is compiled again) and started with the client compiler only and
the serial collector, the same call costs ~1.3 s. Where ``javac`` is missing or fails, the
tool runs from its source as before.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

SHORT_LIVED_JVM = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
"""A command that ends in seconds: C1 only (no C2 compile threads), no parallel GC threads."""


def _compiled(tool: Path, libs: Path) -> Path | None:
    """The folder holding ``tool``'s classes, compiled against ``libs`` on first use."""
    digest = hashlib.sha256(tool.read_bytes() + str(libs).encode()).hexdigest()[:16]
    classes = libs.parent / "classes" / f"{tool.stem}-{digest}"
    if (classes / f"{tool.stem}.class").exists():
        return classes
    javac = shutil.which("javac")
    if javac is None:
        return None
    classes.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{tool.stem}-", dir=classes.parent))
    done = subprocess.run(
        [javac, "-nowarn", "-d", str(building), "-cp", f"{libs}/*", str(tool)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        shutil.rmtree(building, ignore_errors=True)
        return None
    try:
        os.rename(building, classes)  # atomic: a concurrent compile may have won the race
    except OSError:
        shutil.rmtree(building, ignore_errors=True)
    return classes if (classes / f"{tool.stem}.class").exists() else None


def java_command(tool: Path, libs: Path, jvm_args: list[str]) -> list[str]:
    """``java ... <tool's main class>`` from its compiled classes, or from its source."""
    classes = _compiled(tool, libs)
    if classes is None:
        return ["java", *SHORT_LIVED_JVM, *jvm_args, "-cp", f"{libs}/*", str(tool)]
    return ["java", *SHORT_LIVED_JVM, *jvm_args, "-cp", f"{libs}/*:{classes}", tool.stem]
