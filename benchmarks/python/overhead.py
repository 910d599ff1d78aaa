"""Python overhead of funnel: transform + score 10,000 rows from Python against the same calls in
C++ (bench_python_overhead), on the same files, median process CPU time of `reps` runs.

    cmake --preset release && cmake --build --preset release \\
        --target funnel_python bench_python_overhead
    PYTHONPATH=build/release/python python3 benchmarks/python/overhead.py build/release [reps]

The model is docs/python.md's (python/examples/fraud_train.py): 22 funnel features of
lending_club.csv, an XGBoost model trained on them.
"""

import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import pandas as pd

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python" / "examples"))

import fraud_train  # noqa: E402

from funnel import scoring  # noqa: E402

ROWS = 10_000


def python_times(pipeline, model, frame, reps):
    transform, score, total = [], [], []
    for _ in range(reps):
        t0 = time.process_time()
        X = pipeline.transform(frame)
        t1 = time.process_time()
        model.margins(X)
        t2 = time.process_time()
        transform.append(t1 - t0)
        score.append(t2 - t1)
        total.append(t2 - t0)
    return [statistics.median(v) for v in (transform, score, total)]


def main(build_dir, reps=21):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        csv = ROOT / "tests" / "data" / "lending_club.csv"
        pipeline, _, _ = fraud_train.train(csv, tmp)
        loans = pd.read_csv(csv, float_precision="round_trip").drop(columns="Class")
        rows = pd.concat([loans, loans]).iloc[:ROWS].reset_index(drop=True)
        rows.to_csv(tmp / "rows.csv", index=False)
        frame = pd.read_csv(tmp / "rows.csv", float_precision="round_trip")
        model = scoring.load_xgboost(tmp / "model.json")
        py = python_times(pipeline, model, frame, reps)
        out = subprocess.run([str(pathlib.Path(build_dir) / "benchmarks" / "python" /
                                  "bench_python_overhead"), tmp / "features.json",
                              tmp / "model.json", tmp / "rows.csv", str(reps)],
                             check=True, capture_output=True, text=True).stdout.split()
        cpp = [float(x) for x in out[2:5]]
    print(f"{ROWS} rows, {model.num_trees} trees, median of {reps} runs, process CPU time (ms)")
    print(f"{'':10} {'transform':>10} {'score':>10} {'total':>10}")
    print(f"{'C++':10} " + " ".join(f"{1e3 * v:10.2f}" for v in cpp))
    print(f"{'Python':10} " + " ".join(f"{1e3 * v:10.2f}" for v in py))
    print(f"{'ratio':10} " + " ".join(f"{p / c:10.2f}" for p, c in zip(py, cpp)))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 21)
