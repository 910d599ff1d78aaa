#!/usr/bin/python3
"""scikit-learn side of the logistic benchmark: LogisticRegression(lbfgs) training time and
predict_proba throughput on the file bench_logistic reads, or with `solvers <data.bin>` the
lbfgs / newton-cg comparison of run.sh solvers. Prints one JSON object."""
import json
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression



def read(path):
    with open(path, "rb") as f:
        rows, cols = np.fromfile(f, dtype=np.int64, count=2)
        X = np.fromfile(f, dtype=np.float32, count=rows * cols).reshape(rows, cols)
        y = np.fromfile(f, dtype=np.int32, count=rows)
    return X.astype(np.float64), y  # sklearn's solvers work in float64; conversion not timed


def solvers(path):
    """`solvers <data.bin>`: lbfgs and newton-cg with defaults (C = 1, L2, tol 1e-4) except
    max_iter = 10000 (sklearn's 100 stops lbfgs far from the optimum on raw columns): CPU time,
    iterations and the solution. ConvergenceWarning is recorded as converged = false."""
    X64, y = read(path)
    out = {}
    for solver in ("lbfgs", "newton-cg"):
        clf = LogisticRegression(C=1.0, solver=solver, max_iter=10000)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t0 = time.process_time()
            clf.fit(X64, y)
            dt = time.process_time() - t0
        out[f"sklearn_{solver}"] = {
            "seconds": dt, "iterations": int(clf.n_iter_[0]),
            "converged": not any(issubclass(w.category, ConvergenceWarning) for w in caught),
            "coef": clf.coef_.ravel().tolist(), "intercept": float(clf.intercept_[0])}
    print(json.dumps(out))


if len(sys.argv) == 3 and sys.argv[1] == "solvers":
    solvers(sys.argv[2])
    sys.exit(0)
path, tol = sys.argv[1], float(sys.argv[2])
X64, y = read(path)
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
