#!/bin/sh
# Times are process CPU seconds (the machines are shared and overloaded; wall time measures the
# neighbours). Side-by-side logistic regression benchmark: funnel and liblinear (C++, one process) and
# scikit-learn lbfgs (Python), on the same 100k x 100 file, single-threaded, interleaved rounds.
# Usage (from the repository root, after `cmake --preset release &&
#   cmake --build --preset release --target bench_logistic`):
#   benchmarks/logistic/run.sh [rounds=3] [rows=100000] [cols=100]
#
# Solver comparison on the real data sets (issue 21): funnel's automatic solver and L-BFGS against
# scikit-learn lbfgs and newton-cg, C = 1, L2, raw numeric columns (real_data.py), interleaved:
#   FUNNEL_DATA=../shared/data benchmarks/logistic/run.sh solvers [rounds=5]
set -eu
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
BENCH=${BENCH:-build/release/benchmarks/logistic/bench_logistic}
HERE=$(dirname "$0")
if [ "${1:-}" = solvers ]; then
  ROUNDS=${2:-5}
  DIR=$(mktemp -d /tmp/funnel-logistic-solvers-XXXXXX)
  trap 'rm -rf "$DIR"' EXIT
  /usr/bin/python3 "$HERE/real_data.py" "$DIR" >"$DIR/sets.txt"
  r=0
  while [ "$r" -lt "$ROUNDS" ]; do
    while read -r name _; do
      f="$DIR/$name.bin"
      printf '{"data": "%s", "file": "%s", "side": "cpp", "result": %s}\n' "$name" "$f" \
        "$("$BENCH" solvers "$f" </dev/null)" >>"$DIR/runs.jsonl"
      printf '{"data": "%s", "file": "%s", "side": "py", "result": %s}\n' "$name" "$f" \
        "$(/usr/bin/python3 "$HERE/sklearn_bench.py" solvers "$f" </dev/null)" >>"$DIR/runs.jsonl"
    done <"$DIR/sets.txt"
    r=$((r + 1))
  done
  /usr/bin/python3 "$HERE/solvers_report.py" "$DIR/runs.jsonl"
  exit
fi
ROUNDS=${1:-3}
ROWS=${2:-100000}
COLS=${3:-100}
DATA=$(mktemp /tmp/funnel-logistic-XXXXXX.bin)
OUT=$(mktemp /tmp/funnel-logistic-XXXXXX.jsonl)
trap 'rm -f "$DATA" "$OUT"' EXIT
/usr/bin/python3 "$HERE/make_data.py" "$DATA" "$ROWS" "$COLS"
for tol in 1e-4 1e-8; do
  # liblinear's own stopping rule differs: its default eps (0.01) for tol 1e-4, 1e-6 for tight
  eps=0.01; [ "$tol" = 1e-8 ] && eps=1e-6
  r=0
  while [ "$r" -lt "$ROUNDS" ]; do
    PY=$(/usr/bin/python3 "$HERE/sklearn_bench.py" "$DATA" "$tol")
    printf '{"tol": %s, "side": "py", "data": %s}\n' "$tol" "$PY" >>"$OUT"
    T0=$(echo "$PY" | /usr/bin/python3 -c 'import json,sys; print(repr(json.load(sys.stdin)["no_intercept"]["objective"]))')
    T1=$(echo "$PY" | /usr/bin/python3 -c 'import json,sys; print(repr(json.load(sys.stdin)["intercept"]["objective"]))')
    printf '{"tol": %s, "side": "cpp", "data": %s}\n' "$tol" "$("$BENCH" train "$DATA" "$tol" "$eps" "$T0" "$T1")" >>"$OUT"
    r=$((r + 1))
  done
done
/usr/bin/python3 - "$OUT" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
for tol in sorted({r["tol"] for r in runs}, reverse=True):
    cpp = [r["data"] for r in runs if r["tol"] == tol and r["side"] == "cpp"]
    py = [r["data"] for r in runs if r["tol"] == tol and r["side"] == "py"]
    med = lambda xs: statistics.median(xs)
    print(f"== tol {tol} ({len(cpp)} interleaved rounds, medians) ==")
    for key in ("no_intercept", "intercept"):
        f = med([c[f"funnel_{key}"]["seconds"] for c in cpp])
        s = med([p[key]["seconds"] for p in py])
        fo = cpp[0][f"funnel_{key}"]["objective"]
        so = py[0][key]["objective"]
        print(f"{key:13s} funnel {f:.3f}s ({cpp[0][f'funnel_{key}']['iterations']} it)  sklearn-lbfgs {s:.3f}s "
              f"({py[0][key]['iterations']} it)  sklearn/funnel time = {s / f:.2f}x  "
              f"objective gap (funnel - sklearn)/sklearn = {(fo - so) / so:+.2e}")
        t = med([c[f"funnel_to_target_{key}"]["seconds"] for c in cpp])
        print(f"{key:13s} funnel to sklearn's objective {t:.3f}s "
              f"({cpp[0][f'funnel_to_target_{key}']['iterations']} it)  sklearn/funnel time = {s / t:.2f}x")
    if "liblinear_no_intercept" in cpp[0]:
        l = med([c["liblinear_no_intercept"]["seconds"] for c in cpp])
        f = med([c["funnel_no_intercept"]["seconds"] for c in cpp])
        lo = cpp[0]["liblinear_no_intercept"]["objective"]
        fo = cpp[0]["funnel_no_intercept"]["objective"]
        print(f"no_intercept  liblinear {l:.3f}s  liblinear/funnel time = {l / f:.2f}x  "
              f"objective gap (funnel - liblinear)/liblinear = {(fo - lo) / lo:+.2e}")
print("sklearn predict_proba: %.0f rows/s in batches of 1000, %.0f single-row calls/s"
      % (py[-1]["batch1000_rows_per_second"], py[-1]["row_per_second"]))
PY
echo "== scoring throughput (funnel vs liblinear, interleaved) =="
"$BENCH" --benchmark_min_time=0.2
