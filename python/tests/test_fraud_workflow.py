"""docs/python.md end to end: features and XGBoost trained in Python
(python/examples/fraud_train.py), served by the C++ example (main_serve_python.cpp) with the same
bits as XGBoost's own scores of funnel's matrix."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from funnel import scoring

from conftest import DATA, ROOT, bits, hex_floats

sys.path.insert(0, str(ROOT / "python" / "examples"))


def test_python_trains_cpp_serves_identical_scores(fraud_server, tmp_path):
    xgb = pytest.importorskip("xgboost")
    import fraud_train

    csv = DATA / "lending_club.csv"
    pipeline, booster, auc = fraud_train.train(csv, tmp_path)
    assert auc > 0.6

    loans = pd.read_csv(csv, float_precision="round_trip").drop(columns="Class")
    _, first = fraud_train.split(loans)
    later = loans.iloc[first:]
    X = pipeline.transform(later)
    theirs = booster.predict(xgb.DMatrix(X, feature_names=pipeline.output_names),
                             output_margin=True)
    ours = scoring.load_xgboost(tmp_path / "model.json").margins(X)
    assert np.array_equal(bits(ours), bits(theirs))

    out = subprocess.run([fraud_server, tmp_path / "features.json", tmp_path / "model.json", csv,
                          str(first)], check=True, capture_output=True, text=True).stdout
    served = hex_floats([line.split() for line in out.splitlines()])
    assert served.shape == (len(later), 2)
    assert np.array_equal(bits(served[:, 0]), bits(theirs))


def test_server_refuses_a_model_whose_names_differ(fraud_server, tmp_path):
    pytest.importorskip("xgboost")
    import fraud_train

    fraud_train.train(DATA / "lending_club.csv", tmp_path, rounds=5)
    model = scoring.load_xgboost(tmp_path / "model.json").to_xgboost_json()
    names = model["learner"]["feature_names"]
    names[0], names[1] = names[1], names[0]
    import json
    (tmp_path / "swapped.json").write_text(json.dumps(model))
    run = subprocess.run([fraud_server, tmp_path / "features.json", tmp_path / "swapped.json",
                          DATA / "lending_club.csv", "9800"], capture_output=True, text=True)
    assert run.returncode == 1 and "invalid_argument" in run.stderr
