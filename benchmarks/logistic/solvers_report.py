#!/usr/bin/python3
"""Table of run.sh solvers: reads the JSON lines it wrote ({"data": name, "file": path, "side":
"cpp"|"py", "result": {...}}) and prints, per data set and solver, iterations, the median CPU
seconds over the rounds and the objective C * sum log(1 + exp(-y z)) + ½‖w‖² (C = 1) evaluated by
one formula (numpy, float64) for every solution. Exits 1 when funnel's automatic solver is worse
than either scikit-learn solver by more than 1e-6 relative."""
import json
import statistics
import sys

import numpy as np

SOLVERS = ("funnel_automatic", "funnel_lbfgs", "sklearn_lbfgs", "sklearn_newton-cg")


def read(path):
    with open(path, "rb") as f:
        rows, cols = np.fromfile(f, dtype=np.int64, count=2)
        X = np.fromfile(f, dtype=np.float32, count=rows * cols).reshape(rows, cols)
        y = np.fromfile(f, dtype=np.int32, count=rows)
    return X.astype(np.float64), y


def objective(X, y, coef, intercept):
    w = np.asarray(coef)
    z = X @ w + intercept
    return float(np.sum(np.logaddexp(0, z) - y * z) + 0.5 * w @ w)


def main():
    runs = [json.loads(line) for line in open(sys.argv[1])]
    names = list(dict.fromkeys(r["data"] for r in runs))
    ok = True
    print("| data (rows × cols) | solver | iterations | CPU s | objective | vs best | converged |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        mine = [r for r in runs if r["data"] == name]
        X, y = read(mine[0]["file"])
        res = {s: [r["result"][s] for r in mine if s in r["result"]] for s in SOLVERS}
        obj = {s: objective(X, y, v[0]["coef"], v[0]["intercept"]) for s, v in res.items()}
        best = min(obj.values())
        for s in SOLVERS:
            first = res[s][0]
            secs = statistics.median(v["seconds"] for v in res[s])
            used = f" ({first['solver']})" if "solver" in first else ""
            print(f"| {name} ({X.shape[0]} × {X.shape[1]}) | {s}{used} | {first['iterations']} | "
                  f"{secs:.4f} | {obj[s]:.10g} | {(obj[s] - best) / abs(best):+.1e} | "
                  f"{first['converged']} |")
        for s in ("sklearn_lbfgs", "sklearn_newton-cg"):
            gap = (obj["funnel_automatic"] - obj[s]) / abs(obj[s])
            if gap > 1e-6:
                ok = False
                print(f"FAIL {name}: funnel automatic is {gap:.2e} above {s}", file=sys.stderr)
        reported = res["funnel_automatic"][0]["objective"]
        if abs(reported - obj["funnel_automatic"]) > 1e-9 * abs(reported):
            ok = False
            print(f"FAIL {name}: funnel reports {reported}, numpy {obj['funnel_automatic']}",
                  file=sys.stderr)
    print(f"rounds: {len(runs) // (2 * len(names))}; funnel automatic no worse than either "
          f"scikit-learn solver (1e-6 relative) on every data set: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
