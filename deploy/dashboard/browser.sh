#!/usr/bin/env bash
# The real browser of the dashboard's end-to-end test (tests/e2e/test_dashboard.py): Debian's
# Chromium at /usr/bin/chromium, driven by the Playwright Python package (pinned in
# pyproject.toml, pointed at this binary: Playwright's own browser downloads are never used),
# and a CJK font so the screenshots show the region names. Idempotent; installs with apt-get
# when run as root (CI), otherwise says what is missing.
set -euo pipefail
missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-wqy-microhei)
if (( ${#missing[@]} == 0 )); then
  exit 0
fi
if [[ "$(id -u)" != 0 ]]; then
  echo "[browser] missing Debian packages: ${missing[*]} (apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "[browser] installing Debian's ${missing[*]}" >&2
DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
