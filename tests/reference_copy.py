"""A copy of deploy/reference with a chosen set of institutions (e.g. one not yet onboarded)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

REFERENCE = Path(__file__).resolve().parents[1] / "deploy" / "reference"


def reference_copy(dest: Path, keep: Callable[[dict[str, Any]], bool]) -> Path:
    """``dest`` holding the policies and catalogs unchanged and the institutions ``keep`` accepts."""
    shutil.copytree(REFERENCE, dest)
    path = dest / "institutions.json"
    data = json.loads(path.read_text("utf-8"))
    data["institutions"] = [i for i in data["institutions"] if keep(i)]
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return dest
