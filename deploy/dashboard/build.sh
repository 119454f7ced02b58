#!/usr/bin/env bash
# Build the dashboard's browser assets: Apache ECharts (pinned in package-lock.json) and our
# own src/dashboard.js, bundled and minified by esbuild into
# services/dashboard/web/static/build/dashboard.js. Run by `make venv` (so by `make up`,
# `make test` and `make demo`); idempotent: nothing is done while the bundle is newer than
# its inputs. Nothing is fetched at run time: the dashboard serves the bundle itself.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/services/dashboard/web/static/build/dashboard.js"
inputs=("$here/package-lock.json" "$here/package.json" "$here/src/dashboard.js" "$here/build.sh")

fresh=1
[[ -f "$out" ]] || fresh=0
for f in "${inputs[@]}"; do
  if [[ $fresh == 1 && "$f" -nt "$out" ]]; then fresh=0; fi
done
if [[ $fresh == 1 ]]; then
  exit 0
fi
command -v npm >/dev/null || { echo "npm (Node.js 18+) is needed to build the dashboard's charts" >&2; exit 1; }
cd "$here"
if [[ ! -x node_modules/.bin/esbuild ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  # exactly the lockfile's versions; esbuild's binary comes from its @esbuild/<platform>
  # package, so its install script is not needed
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
fi
mkdir -p "$(dirname "$out")"
node_modules/.bin/esbuild src/dashboard.js --bundle --minify --format=iife --target=es2020 \
  --legal-comments=linked --outfile="$out" --log-level=warning
echo "dashboard assets: $(du -h "$out" | cut -f1) -> ${out#"$root"/}"
