#!/usr/bin/python3
"""scikit-learn side of the logistic benchmark: LogisticRegression(lbfgs) training time and
predict_proba throughput on the file bench_logistic reads. Prints one JSON object."""
import json
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression

path, tol = sys.argv[1], float(sys.argv[2])
with open(path, "rb") as f:
    rows, cols = np.fromfile(f, dtype=np.int64, count=2)
    X = np.fromfile(f, dtype=np.float32, count=rows * cols).reshape(rows, cols)
    y = np.fromfile(f, dtype=np.int32, count=rows)
X64 = X.astype(np.float64)  # sklearn's lbfgs works in float64; conversion not timed
out = {}
for intercept in (False, True):
    clf = LogisticRegression(C=1.0, tol=tol, max_iter=10000, fit_intercept=intercept)
    t0 = time.process_time()
    clf.fit(X64, y)
    dt = time.process_time() - t0
    w = clf.coef_.ravel()
    b = float(clf.intercept_[0]) if intercept else 0.0
    z = X64 @ w + b
    obj = float(np.sum(np.logaddexp(0, z) - y * z) + 0.5 * w @ w)
    key = "intercept" if intercept else "no_intercept"
    out[key] = {"seconds": dt, "objective": obj, "iterations": int(clf.n_iter_[0]), "nfev": None}
clf_batch = X64[:1000]
t0 = time.process_time()
reps = 200
for _ in range(reps):
    clf.predict_proba(clf_batch)
out["batch1000_rows_per_second"] = reps * 1000 / (time.process_time() - t0)
row = X64[:1]
t0 = time.process_time()
reps = 2000
for _ in range(reps):
    clf.predict_proba(row)
out["row_per_second"] = reps / (time.process_time() - t0)
print(json.dumps(out))
