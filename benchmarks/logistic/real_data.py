#!/usr/bin/python3
"""The real data sets of the logistic solver comparison (run.sh solvers): every public data set in
../shared/data (FUNNEL_DATA) with raw numeric columns and a binary target, its numeric columns
taken as they are (no scaling, no encoding of categoricals), written in bench_logistic's binary
layout (int64 rows, int64 cols, float32 X row-major, int32 y) as <out_dir>/<name>.bin.

  credit_data   Status == "bad"; the 9 numeric columns; rows with a missing value dropped
  lending_club  Class == "bad"; the 17 numeric columns
  attrition     Attrition == "Yes"; the 16 numeric columns
  chicago       derived target (the data set is a regression): ridership above its median
                (a busy day); the 48 numeric columns except ridership, the date left out
  lightgbm      lightgbm/source-data/binary.train: label in column 0, 28 numeric columns
  agaricus      xgboost/agaricus.txt.train: 126 one-hot columns (libsvm index k -> column k-1)

Not used: movielens (ratings, no features), LightGBM's rank.train (graded relevance, no binary
target). Prints one line per file: name, rows, columns, positive rate."""
import csv
import os
import sys

import numpy as np


def numeric_columns(header, rows, skip):
    """Columns (other than `skip`) whose every non-NA value parses as a number."""
    out = []
    for j, name in enumerate(header):
        if name in skip:
            continue
        try:
            for r in rows:
                if r[j] != "NA":
                    float(r[j])
        except ValueError:
            continue
        out.append(j)
    return out


def from_csv(path, target, positive, drop=(), threshold_median=False):
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    t = header.index(target)
    cols = numeric_columns(header, rows, {target, *drop})
    rows = [r for r in rows if all(r[j] != "NA" for j in cols) and r[t] != "NA"]
    X = np.array([[float(r[j]) for j in cols] for r in rows], dtype=np.float32)
    if threshold_median:
        v = np.array([float(r[t]) for r in rows])
        y = (v > np.median(v)).astype(np.int32)
    else:
        y = np.array([1 if r[t] == positive else 0 for r in rows], dtype=np.int32)
    return X, y


def from_tsv(path):
    a = np.loadtxt(path, dtype=np.float64)
    return a[:, 1:].astype(np.float32), a[:, 0].astype(np.int32)


def from_libsvm(path, cols):
    labels, data = [], []
    with open(path) as f:
        for line in f:
            parts = line.split()
            labels.append(int(float(parts[0])))
            row = np.zeros(cols, dtype=np.float32)
            for item in parts[1:]:
                k, v = item.split(":")
                row[int(k) - 1] = float(v)
            data.append(row)
    return np.array(data), np.array(labels, dtype=np.int32)


def write(path, X, y):
    with open(path, "wb") as f:
        np.array(X.shape, dtype=np.int64).tofile(f)
        np.ascontiguousarray(X, dtype=np.float32).tofile(f)
        y.astype(np.int32).tofile(f)


def main():
    data = os.environ.get("FUNNEL_DATA", "../shared/data")
    out = sys.argv[1]
    sets = {
        "credit_data": lambda: from_csv(f"{data}/credit_data.csv", "Status", "bad"),
        "lending_club": lambda: from_csv(f"{data}/lending_club.csv", "Class", "bad"),
        "attrition": lambda: from_csv(f"{data}/attrition.csv", "Attrition", "Yes"),
        "chicago": lambda: from_csv(f"{data}/chicago.csv", "ridership", None, drop=("date",),
                                    threshold_median=True),
        "lightgbm": lambda: from_tsv(f"{data}/lightgbm/source-data/binary.train"),
        "agaricus": lambda: from_libsvm(f"{data}/xgboost/agaricus.txt.train", 126),
    }
    for name, load in sets.items():
        X, y = load()
        write(f"{out}/{name}.bin", X, y)
        print(f"{name} {X.shape[0]} {X.shape[1]} {y.mean():.3f}")


if __name__ == "__main__":
    main()
