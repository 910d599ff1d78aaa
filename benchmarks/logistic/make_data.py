#!/usr/bin/python3
"""The 100k x 100 dense synthetic problem of the logistic benchmark (seeded). Binary layout read by
bench_logistic and sklearn_bench.py: int64 rows, int64 cols, float32 X (row-major), int32 y.
Usage: make_data.py <path> [rows cols [raw]]; with `raw` each column is then multiplied by
10^u, u uniform in [-2, 4] (raw columns of very different scales; the labels are unchanged)."""
import sys

import numpy as np

path = sys.argv[1]
rows, cols = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (100_000, 100)
raw = len(sys.argv) > 4 and sys.argv[4] == "raw"
rng = np.random.default_rng(20261123)
# correlated features (condition number ~ 1e2), as real ones are
mix = np.eye(cols) + 0.3 * rng.standard_normal((cols, cols)) / np.sqrt(cols)
X = (rng.standard_normal((rows, cols)) @ mix * rng.uniform(0.5, 2.0, cols)).astype(np.float32)
w = rng.standard_normal(cols) * 0.2
y = (rng.uniform(size=rows) < 1 / (1 + np.exp(-(X @ w - 0.5)))).astype(np.int32)
if raw:
    X = (X * 10.0 ** rng.uniform(-2, 4, cols)).astype(np.float32)
with open(path, "wb") as f:
    np.array([rows, cols], dtype=np.int64).tofile(f)
    X.tofile(f)
    y.tofile(f)
print(f"wrote {path}: {rows} x {cols}{' raw' if raw else ''}, positive rate {y.mean():.3f}")
