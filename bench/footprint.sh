#!/usr/bin/env bash
# What `npm install cloakroom` costs an Express app: installed size, package count, install time,
# and the import time of `cloakroom` + `cloakroom/express` (median of 15 fresh processes).
#
#   bash bench/footprint.sh                 # the library as this checkout would publish it
#   bash bench/footprint.sh path/to/x.tgz   # any packed cloakroom (e.g. an older version)
#
# Installs from the npm registry into a temporary project, with express (the app's own
# framework) and without dev dependencies, as a user's `npm install cloakroom express` would.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

if [ $# -ge 1 ]; then
  TARBALL="$(realpath "$1")"
else
  npm run build --silent --prefix "$ROOT" >/dev/null
  TARBALL="$WORK/$(cd "$WORK" && npm pack --silent "$ROOT/packages/cloakroom" | tail -n 1)"
fi

mkdir -p "$WORK/app" && cd "$WORK/app"
printf '{ "name": "footprint-app", "private": true, "type": "module" }\n' >package.json
npm install --silent --no-audit --no-fund express@5 >/dev/null
base_kb=$(du -sk node_modules | cut -f1)
packages() { npm ls --all --parseable 2>/dev/null | tail -n +2 | sort -u | wc -l; }
base_count=$(packages)

start=$(date +%s.%N)
npm install --silent --no-audit --no-fund --omit=dev "$TARBALL" >/dev/null
seconds=$(echo "$(date +%s.%N) - $start" | bc)
kb=$(du -sk node_modules | cut -f1)
count=$(packages)

# Median of 15 fresh processes of the time `import` of the given modules takes.
import_ms() {
  local times=()
  for _ in $(seq 15); do
    times+=("$(node --input-type=module -e "
      const t = performance.now();
      for (const m of process.argv.slice(1)) await import(m);
      console.log((performance.now() - t).toFixed(1));
    " "$@")")
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n 8p
}
median=$(import_ms express cloakroom cloakroom/express)
express_ms=$(import_ms express)
native=$(find node_modules -name '*.node' | wc -l)

printf 'package:              %s\n' "$(basename "$TARBALL")"
printf 'installed by cloakroom: %s MiB, %s packages (beside express: %s MiB, %s packages)\n' \
  "$(echo "scale=1; ($kb - $base_kb) / 1024" | bc)" "$((count - base_count))" \
  "$(echo "scale=1; $base_kb / 1024" | bc)" "$base_count"
printf 'install time:         %.1f s\n' "$seconds"
printf 'native addons on disk: %s\n' "$native"
printf 'import express + cloakroom + cloakroom/express: %s ms, express alone: %s ms (medians of 15 processes)\n' "$median" "$express_ms"
