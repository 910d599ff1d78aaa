#!/usr/bin/env bash
# Fails when a tracked C++ file differs from what clang-format (the committed .clang-format) would
# write. scripts/test.sh runs it first, so an unformatted commit fails CI.
#   scripts/check-format.sh          check
#   scripts/check-format.sh --fix    reformat in place
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "check-format: clang-format not installed" >&2; exit 1; }
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h' | grep -v '^fuzz/corpus/\|^fuzz/regressions/')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
if ! clang-format --dry-run --Werror "${files[@]}" 2>/tmp/funnel-format.log; then
  grep "warning:\|error:" /tmp/funnel-format.log | cut -d: -f1 | sort -u | sed 's/^/check-format: not formatted: /' >&2
  echo "check-format: run scripts/check-format.sh --fix" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files formatted"
