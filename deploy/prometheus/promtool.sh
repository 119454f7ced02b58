#!/usr/bin/env bash
# Print the path of a `promtool`, installing it on first use (idempotent): the one on PATH;
# else the one extracted earlier under the cache; else Debian's `prometheus` package,
# downloaded with apt and unpacked under the cache (dpkg-deb -x: nothing installed system-wide,
# no Prometheus service started, none of the package's web-UI dependencies needed).
# Run as root on a clean machine it refreshes apt's lists first when the download needs them.
source "$(dirname "$0")/../local/common.sh"
DEST="$CACHE_DIR/prometheus"
TOOL="$DEST/usr/bin/promtool"

if command -v promtool >/dev/null 2>&1; then command -v promtool; exit 0; fi
if [[ -x "$TOOL" ]]; then echo "$TOOL"; exit 0; fi
command -v apt-get >/dev/null || die "no promtool and no apt-get: install Prometheus' promtool"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
if ! (cd "$work" && apt-get download -qq prometheus >/dev/null 2>&1); then
  [[ "$(id -u)" == 0 ]] || die "apt-get download prometheus failed (run apt-get update as root)"
  log "refreshing apt's package lists"
  apt-get update -qq >/dev/null
  (cd "$work" && apt-get download -qq prometheus >/dev/null) || die "apt-get download prometheus failed"
fi
mkdir -p "$DEST"
dpkg-deb -x "$work"/prometheus_*.deb "$work/x"
mkdir -p "$DEST/usr/bin"
cp "$work/x/usr/bin/promtool" "$TOOL"
log "promtool $("$TOOL" --version 2>&1 | head -1 | awk '{print $3}') in $DEST"
echo "$TOOL"
