#!/usr/bin/env bash
# ThreadSanitizer run of the [concurrency] tests: configures the tsan preset, builds only the
# test executables that have [concurrency] tests, and runs `ctest --preset tsan` (the tests
# labelled concurrency: <module>.concurrency runs test_<module> "[concurrency]").
#   scripts/tsan.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD/..}"
cmake --preset tsan > /dev/null
modules=$(grep -l '\[concurrency\]' tests/*/test_*.cpp | cut -d/ -f2 | sort -u)
targets=$(for m in $modules; do printf 'test_%s ' "$m"; done)
echo "building: $targets"
start=$(date +%s)
cmake --build build/tsan -j2 --target $targets > build/tsan/build.log 2>&1 ||
  { tail -40 build/tsan/build.log; exit 1; }
echo "built in $(($(date +%s) - start)) s"
# Modules without [concurrency] tests were not built: their ctest entries are left out.
regex=$(for m in $modules; do printf '^%s\\.concurrency$|' "$m"; done)
set +e
ctest --preset tsan -R "${regex%|}" 2>&1 | tee build/tsan/ctest.log
rc=${PIPESTATUS[0]}
set -e
echo "tsan: $(grep -E 'tests passed|tests failed' build/tsan/ctest.log | tail -1) (exit $rc)"
exit "$rc"
