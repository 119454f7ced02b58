#!/usr/bin/env bash
# Prints the interpreter the project's venv is built on (the Makefile's PYTHON).
#
# Why Debian's python3.11: it is built with profile-guided optimisation and LTO and linked
# statically, the way a distribution ships the interpreter a provincial data centre runs.
# A pyenv or source build without `--enable-optimizations` (this machine's `python3` on the
# PATH is one: `--enable-shared`, no PGO, no LTO) runs the same code slower: `yidi bench
# task` 13,500 -> 15,300 records/s, the workers' CPU per settlement about a tenth lower
# (docs/performance.md, "The interpreter"). Same language version, same wheels (cp311).
#
# Idempotent. Installs Debian's python3.11 and python3.11-venv with apt-get when run as
# root on Debian and they are missing; elsewhere (no apt-get, not root) falls back to
# `python3` on the PATH and says so on stderr. YIDI_PYTHON overrides the choice.
set -euo pipefail
if [[ -n "${YIDI_PYTHON:-}" ]]; then
  echo "$YIDI_PYTHON"
  exit 0
fi
DEBIAN_PY=/usr/bin/python3.11
usable() { [[ -x "$DEBIAN_PY" ]] && "$DEBIAN_PY" -c 'import ensurepip, venv' 2>/dev/null; }
if ! usable && [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
  echo "[python] installing Debian's python3.11 python3.11-venv" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3.11 python3.11-venv >/dev/null 2>&1 || true
fi
if usable; then
  echo "$DEBIAN_PY"
else
  echo "[python] Debian's python3.11 with venv not available: the venv uses python3 from PATH" >&2
  echo python3
fi
