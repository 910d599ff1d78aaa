#!/usr/bin/env bash
# The flagship demo on a fresh clone: installs the build dependencies and MovieLens (Debian
# r-cran-dslabs), builds only the movie recommendation example (release preset) and runs it.
# It prints the report and writes build/movie_report.html. Then the two-tower leg: the example
# writes the training part of its per-user split, examples/movie_recommendation/train_towers.py
# (python3-torch) trains the user and item towers on this machine and exports them to ONNX, and
# the example serves them through funnel::onnx next to ALS (build/towers/, report on stdout).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
step() { echo "== [demo $((SECONDS - start)) s] $*"; }

step "installing dependencies (Debian packages; r-base-core r-cran-dslabs for MovieLens)"
scripts/install-deps.sh demo
step "MovieLens -> build/movielens.csv"
scripts/get-movielens.sh build/movielens.csv

# ccache, when present, makes a rebuild (or a build after another worktree's) nearly free.
launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
step "configuring the release preset"
cmake --preset release "${launcher[@]}" >/dev/null
step "building example_movie_recommendation (the first build compiles funnel: minutes on 2 cores)"
cmake --build --preset release --target example_movie_recommendation
exe="$(find build/release -type f -name example_movie_recommendation -perm -u+x | head -n 1)"
if [ -z "$exe" ]; then
  echo "demo: example_movie_recommendation was not built" >&2
  exit 1
fi
step "running $exe"
"$exe" build/movielens.csv build/movie_report.html
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  step "two-tower retriever: writing its training data (per-user split) to build/towers"
  rc=0
  "$exe" build/movielens.csv --write-tower-data build/towers || rc=$?
  if [ "$rc" -eq 2 ]; then
    step "two-tower leg skipped: this build has no funnel::onnx (libonnx-dev)"
  elif [ "$rc" -ne 0 ]; then
    exit "$rc"
  else
    step "training the towers with python3-torch (one thread, deterministic)"
    /usr/bin/python3 examples/movie_recommendation/train_towers.py build/towers
    step "serving the towers through funnel::onnx next to ALS"
    "$exe" build/movielens.csv --towers build/towers
  fi
else
  step "two-tower leg skipped: /usr/bin/python3 cannot import torch (python3-torch)"
fi
step "done: report printed above, HTML in build/movie_report.html"
