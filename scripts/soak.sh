#!/usr/bin/env bash
# Soak test (docs/reliability.md): builds funnel_soak in the release preset and serves the
# pipeline from 2 threads for [minutes] (default 10) with a model hot swap every 100 ms, a canary
# share change every second and a drift monitor observing every request. Fails (exit 1) on any
# failed request, any lost monitor observation, or resident memory growing 5% or more after
# warm-up. Uses 2 cores for the whole run.
#   scripts/soak.sh [minutes]
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-10}
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD/..}"
[[ -f build/release/CMakeCache.txt ]] || cmake --preset release > /dev/null
cmake --build build/release --target funnel_soak -j2 > build/release/soak-build.log 2>&1 ||
  { tail -40 build/release/soak-build.log; exit 1; }
build/release/fuzz/funnel_soak "$minutes"
