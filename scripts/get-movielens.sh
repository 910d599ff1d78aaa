#!/usr/bin/env bash
# Writes MovieLens (the `movielens` object of Debian's r-cran-dslabs: 100,004 ratings of 9,066
# movies by 671 users, GroupLens research licence: never committed to this repository) as CSV.
# Usage: scripts/get-movielens.sh [out.csv]   (default: build/movielens.csv)
# Needs: r-base-core r-cran-dslabs (scripts/install-deps.sh demo installs them).
set -euo pipefail
out="${1:-build/movielens.csv}"
if [ -s "$out" ]; then
  echo "$out already exists"
  exit 0
fi
if ! command -v Rscript >/dev/null 2>&1; then
  echo "Rscript not found: install r-base-core r-cran-dslabs (scripts/install-deps.sh demo)" >&2
  exit 1
fi
mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
OUT="$tmp" Rscript -e 'write.csv(dslabs::movielens, Sys.getenv("OUT"), row.names=FALSE)'
mv "$tmp" "$out"
echo "wrote $out ($(wc -l <"$out") lines)"
