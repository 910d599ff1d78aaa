#!/usr/bin/env bash
# The flagship demo on a fresh clone: installs the build dependencies and MovieLens (Debian
# r-cran-dslabs), builds only the movie recommendation example (release preset) and runs it.
# It prints the report and writes build/movie_report.html.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh demo
scripts/get-movielens.sh build/movielens.csv
cmake --preset release
cmake --build --preset release --target example_movie_recommendation
exe="$(find build/release -type f -name example_movie_recommendation -perm -u+x | head -n 1)"
"$exe" build/movielens.csv build/movie_report.html
