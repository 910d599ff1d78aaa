#!/usr/bin/env bash
# Installs everything needed, builds funnel with AddressSanitizer + UndefinedBehaviorSanitizer,
# and runs the whole test suite (including the packaging consumer projects). This is the README's
# test command, and .ci/run calls exactly it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
export CCACHE_BASEDIR="$PWD"           # cache hits across clones of the repository
scripts/check-format.sh                # an unformatted file fails here
cmake --workflow --preset asan         # -Werror: a new warning fails the build
