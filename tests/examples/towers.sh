#!/bin/sh
# ctest examples.towers: the movie example's learned two-tower retriever end to end on the
# example's planted-taste synthetic log (MovieLens may not be committed): the example writes the
# training part of its per-user split, train_towers.py (python3-torch) trains and exports the
# towers, the example serves them through funnel::onnx next to ALS. Passes when the towers beat
# popularity on recall@20 by a clear margin (each synthetic user prefers one genre), the served
# pipeline with the towers reports its latency, and towers of another split are refused. Exit 77
# (ctest's skip) without torch.
# Usage: towers.sh <example_movie_recommendation> <train_towers.py> <work dir>
set -eu
exe=$1
script=$2
dir=$3
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "SKIP: /usr/bin/python3 cannot import torch (Debian python3-torch; scripts/install-deps.sh demo installs it)"
  exit 77
fi
rm -rf "$dir"
"$exe" --synthetic --write-tower-data "$dir" >/dev/null
/usr/bin/python3 "$script" "$dir" --epochs 6 --seed 3
"$exe" --synthetic --towers "$dir" >"$dir/report.txt"
sed -n '/^== two-tower/,$p' "$dir/report.txt"
# Towers whose id tables do not fit the split are refused, naming the mismatch.
mkdir -p "$dir/other"
cp "$dir"/*.onnx "$dir/other/"
sed 's/"num_user_ids": [0-9]*/"num_user_ids": 7/' "$dir/towers.json" >"$dir/other/towers.json"
if "$exe" --synthetic --towers "$dir/other" >"$dir/other/out.txt" 2>&1; then
  echo "FAIL: towers of another split were served"
  exit 1
fi
grep -q "trained on other data" "$dir/other/out.txt" || { cat "$dir/other/out.txt"; exit 1; }
awk '
  /^popularity \(baseline\)/ { pop = $(NF - 1) }
  /^two-tower via HNSW / { tt = $(NF - 1) }
  /^served \+ two-tower retriever/ { p99 = $NF }
  END {
    if (pop == "" || tt == "" || p99 == "") { print "FAIL: report lines missing"; exit 1 }
    if (tt + 0 < pop + 0.05) { printf "FAIL: two-tower recall %s vs popularity %s\n", tt, pop; exit 1 }
    if (p99 + 0 <= 0) { print "FAIL: no latency for the pipeline with the towers"; exit 1 }
    printf "ok: two-tower recall@20 %s vs popularity %s; served p99 with towers %s ms\n", tt, pop, p99
  }' "$dir/report.txt"
