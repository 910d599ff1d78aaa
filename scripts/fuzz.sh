#!/usr/bin/env bash
# Builds funnel's libFuzzer targets (the `fuzz` preset: clang-14, ASan + UBSan, library
# instrumented) and runs each, one after the other, for [seconds] (default 60) or, when
# FUZZ_MAX_RUNS is set, until that many executions, whichever comes first. A target that
# crashes is restarted for the rest of its time (at most 5 crashes kept per target).
#   scripts/fuzz.sh [seconds] [target ...]        (targets: the names of fuzz/*.cpp)
#   FUZZ_MAX_RUNS=1000000 scripts/fuzz.sh 1800    (the bar docs/reliability.md records)
# Crash, hang (timeout-*) and out-of-memory (oom-*) inputs go to fuzz/crashes/<target>/: replay
# one with build/fuzz/fuzz/fuzz_<target> <file>, fix, then keep it in fuzz/regressions/<target>/
# (replayed by ctest fuzz.<target> in the normal test build). New coverage found is kept in
# build/fuzz/corpus/<target>/ (a working corpus, not committed; fuzz/corpus/ holds the seeds).
# Prints a table: executions (libFuzzer's stat::number_of_executed_units), rate, crashes.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
if [[ $# -gt 0 ]]; then
  targets=("$@")
else
  targets=()
  for f in fuzz/*.cpp; do
    n=$(basename "$f" .cpp)
    [[ $n == replay_main ]] || targets+=("$n")
  done
fi

export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD/..}"
[[ -f build/fuzz/CMakeCache.txt ]] || cmake --preset fuzz > /dev/null
cmake --build build/fuzz -j2 --target fuzz_make_seeds $(printf 'fuzz_%s ' "${targets[@]}") \
  > build/fuzz/build.log 2>&1 || { tail -40 build/fuzz/build.log; exit 1; }

binary_targets=" idx fvecs ivecs bvecs hnsw "
summary=${FUZZ_SUMMARY:-build/fuzz/summary.txt}  # one per lane when lanes run side by side
printf '%-18s %8s %12s %10s %8s %8s\n' target seconds executions exec/s crashes corpus > "$summary"
total_crashes=0
for t in "${targets[@]}"; do
  bin=build/fuzz/fuzz/fuzz_$t
  work=build/fuzz/corpus/$t
  crashes=fuzz/crashes/$t
  mkdir -p "$work" "$crashes"
  dict=()
  if [[ $t == lightgbm ]]; then
    dict=(-dict=fuzz/lightgbm.dict)
  elif [[ $binary_targets != *" $t "* && $t != csv && $t != libsvm ]]; then
    dict=(-dict=fuzz/json.dict)
  fi
  seeds=fuzz/corpus/$t
  [[ $t == onnx ]] && seeds=tests/data/onnx  # the committed ONNX fixtures are its seeds
  execs=0
  found=0
  start=$(date +%s)
  log=build/fuzz/$t.log
  : > "$log"
  while :; do
    left=$((seconds - ($(date +%s) - start)))
    ((left > 0)) || break
    runs=()
    if [[ -n ${FUZZ_MAX_RUNS:-} ]]; then
      ((execs < FUZZ_MAX_RUNS)) || break
      runs=(-runs=$((FUZZ_MAX_RUNS - execs)))
    fi
    before=$(ls "$crashes" | wc -l)
    set +e
    ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
      "$bin" -max_total_time="$left" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$crashes/" "${runs[@]}" "${dict[@]}" "$work" "$seeds" >> "$log" 2>&1
    set -e
    n=$(grep -a 'stat::number_of_executed_units' "$log" | tail -1 | awk '{print $2}')
    execs=$((execs + ${n:-0}))
    # the next run's stats line must not be counted twice
    sed -i 's/stat::number_of_executed_units/stat::counted_executed_units/' "$log"
    after=$(ls "$crashes" | wc -l)
    ((after > before)) || break  # ran out its time without a crash
    found=$((found + after - before))
    ((found < 5)) || break
  done
  elapsed=$(($(date +%s) - start))
  rate=$((execs / (elapsed > 0 ? elapsed : 1)))
  total_crashes=$((total_crashes + found))
  printf '%-18s %8d %12d %10d %8d %8d\n' "$t" "$elapsed" "$execs" "$rate" "$found" \
    "$(ls "$work" | wc -l)" | tee -a "$summary"
done
echo
cat "$summary"
echo "crash inputs: fuzz/crashes/<target>/ (logs: build/fuzz/<target>.log); total new: $total_crashes"
