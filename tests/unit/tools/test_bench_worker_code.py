"""``yidi bench pipeline --worker-code``: the workers run another source tree (an earlier
commit's) under this bench's load generator and meter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer

from services.runtime.settings import REPO_ROOT
from services.tools.bench.commands.pipeline import _worker_code_env


def _tree(root: Path) -> Path:
    (root / "services").mkdir(parents=True)
    (root / "services" / "__init__.py").write_text("MARK = 'the earlier tree'\n")
    return root


def test_no_tree_leaves_the_workers_environment_alone() -> None:
    assert _worker_code_env(None) == {}


def test_a_directory_without_the_services_package_is_refused(tmp_path: Path) -> None:
    with pytest.raises(typer.BadParameter, match="no services package"):
        _worker_code_env(tmp_path)


def test_the_tree_shadows_this_install_and_shares_its_run_directory(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "old")
    env = _worker_code_env(tree)
    assert env == {"PYTHONPATH": str(tree.resolve())}
    if (REPO_ROOT / ".run").exists():
        assert (tree / ".run").resolve() == (REPO_ROOT / ".run").resolve()
    # what a worker started with that environment imports: the tree's package, not this one
    done = subprocess.run(
        [sys.executable, "-c", "import services; print(services.MARK)"],
        env={**env, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=True,
        cwd=tmp_path,
    )  # fmt: skip
    assert done.stdout.strip() == "the earlier tree"


def test_an_existing_run_entry_in_the_tree_is_kept(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "old")
    (tree / ".run").mkdir()
    _worker_code_env(tree)
    assert (tree / ".run").is_dir() and not (tree / ".run").is_symlink()
