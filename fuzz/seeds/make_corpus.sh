#!/usr/bin/env bash
# Rebuilds the seed corpora fuzz/corpus/<target>/: committed fixtures (tests/data) for the formats
# that have them, small LightGBM models cut from them, and generated documents (make_seeds, from
# fuzz/samples.hpp) for funnel's own formats. Run from the repository root after building the
# fuzz preset's fuzz_make_seeds (scripts/fuzz.sh does). Seeds stay small (a few MB in all).
set -euo pipefail
cd "$(dirname "$0")/../.."
data=tests/data
out=fuzz/corpus
rm -rf "$out"
mkdir -p "$out"
copy() {  # copy <target> <files...>
  local t=$1; shift
  mkdir -p "$out/$t"
  for f in "$@"; do cp "$f" "$out/$t/$(echo "${f#$data/}" | tr / _)"; done
}
copy xgboost_json $data/trees/xgb/{agaricus_logistic,credit_rank_ndcg,credit_poisson,lending_multi_softprob,lending_categorical}.json
copy xgboost_ubj $data/trees/xgb/{agaricus_logistic,credit_rank_ndcg,credit_poisson,lending_multi_softmax,lending_categorical}.ubj
copy lightgbm $data/trees/lightgbm/rf/model.txt
copy idx $data/core/fashion-t10k-100-labels-idx1-ubyte.gz
copy fvecs $data/core/fashion20.fvecs
copy bvecs $data/core/fashion20.bvecs
copy ivecs $data/core/fashion20_knn5.ivecs
mkdir -p "$out/csv" "$out/libsvm" "$out/idx"
head -c 6000 $data/lending_club.csv | sed '$d' > "$out/csv/lending_club_head.csv"
head -n 40 $data/drift/chicago_trimmed.csv > "$out/csv/chicago_head.csv"
head -n 30 $data/core/agaricus.txt.test > "$out/libsvm/agaricus_head.svm"
head -n 30 $data/trees/lightgbm/lambdarank/test.svm > "$out/libsvm/lambdarank_head.svm"
# The number grammar's edges (attack report M7, L9): NaN / infinity spellings, signs, underflow,
# overflow, denormals.
printf 'y,x,z\n1,NAN,1e-400\n0,-nan,"nan"\n1,inf,-Infinity\n0,+-2,1e400\n1,-.5,4.9e-324\n' \
  > "$out/csv/numbers.csv"
printf '1e-50 1:1e-50 2:-1e-40 3:1e-46 4:+.5\n0 1:NAN 2:inf\n1e39 1:+-1\n' > "$out/libsvm/numbers.svm"
# A plain (not gzipped) 2-image IDX file and a gzipped 3-image one, cut from the fixture.
python3 - "$data/core/fashion-t10k-100-images-idx3-ubyte.gz" "$out/idx" <<'PY'
import gzip, struct, sys
raw = gzip.open(sys.argv[1]).read()
def cut(n):
    return struct.pack('>I', 0x00000803) + struct.pack('>III', n, 28, 28) + raw[16:16 + n * 784]
open(sys.argv[2] + '/images2.idx', 'wb').write(cut(2))
open(sys.argv[2] + '/images3.idx.gz', 'wb').write(gzip.compress(cut(3)))
PY
# LightGBM models cut to their first two trees (every tree kind of the fixtures in little).
python3 - "$out/lightgbm" $data/trees/lightgbm/{binary,binary_missing,multiclass,linear_tree,lambdarank}/model.txt <<'PY'
import os, sys
dst = sys.argv[1]
for path in sys.argv[2:]:
    text = open(path).read()
    head, rest = text.split('Tree=0', 1)
    trees = ('Tree=0' + rest).split('end of trees', 1)[0].split('\n\n\n')
    keep = [t for t in trees if t.strip()][:3 if 'multiclass' in path else 2]
    sizes = ' '.join(str(len(t) + 3) for t in keep)
    head = '\n'.join('tree_sizes=' + sizes if l.startswith('tree_sizes=') else l for l in head.split('\n'))
    body = head + '\n\n\n'.join(keep) + '\n\n\nend of trees\n'
    name = path.split('/')[-2] + '_2trees.txt'
    open(os.path.join(dst, name), 'w').write(body)
PY
build/fuzz/fuzz/fuzz_make_seeds "$data" "$out" > /dev/null
du -sh "$out"
