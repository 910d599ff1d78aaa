"""The lending-risk model of docs/python.md, trained in Python and served in C++.

funnel fits the features on the training loans, XGBoost trains on funnel's float32 matrix under
funnel's output names, and both are saved for the C++ server
(examples/fraud_detection/main_serve_python.cpp), which checks the names and scores with the same bits.

    PYTHONPATH=build/release/python python3 python/examples/fraud_train.py \\
        tests/data/lending_club.csv /tmp/fraud
"""

import pathlib
import sys

import numpy as np
import pandas as pd
import xgboost as xgb

from funnel import features as ff
from funnel import metrics

NUMERIC = ["funded_amnt", "int_rate", "annual_inc", "delinq_2yrs", "inq_last_6mths",
           "revol_util", "acc_now_delinq", "open_il_6m", "open_il_12m", "open_il_24m",
           "total_bal_il", "all_util", "inq_fi", "inq_last_12m", "delinq_amnt", "num_il_tl",
           "total_il_high_credit_limit"]
ORDINAL = ["term", "sub_grade", "verification_status", "emp_length"]


def split(loans):
    """Row order is the timeline: 60% train, 20% validate, the last 20% is served later."""
    return int(len(loans) * 0.6), int(len(loans) * 0.8)


def train(csv, out_dir, rounds=400):
    """Fits features and model on `csv`; writes features.json and model.json to `out_dir`."""
    loans = pd.read_csv(csv, float_precision="round_trip")  # numbers as funnel's C++ reader
    bad = (loans.pop("Class") == "bad").to_numpy(np.float32)
    n_train, n_valid = split(loans)
    train_rows, valid_rows = loans.iloc[:n_train], loans.iloc[n_train:n_valid]

    # 1. Features: raw numbers (trees route missing values), ordinal codes, and an out-of-fold
    #    target encoding of the state (a training row never sees its own label).
    schema = ff.schema_of(loans, categorical=ORDINAL + ["addr_state"])
    pipeline = ff.Pipeline(
        schema,
        [ff.numeric_column(c) for c in NUMERIC]
        + [ff.ordinal_encoder(c, handle_unknown="ignore") for c in ORDINAL]
        + [ff.target_encoder("addr_state", smoothing=50.0)])
    folds = ff.make_folds(n_train, 5, 42)
    X_train = pipeline.fit_transform(train_rows, bad[:n_train], folds)
    X_valid = pipeline.transform(valid_rows)

    # 2. XGBoost on funnel's matrix, under funnel's output names (the serving contract).
    names = pipeline.output_names
    dtrain = xgb.DMatrix(X_train, label=bad[:n_train], feature_names=names)
    dvalid = xgb.DMatrix(X_valid, label=bad[n_train:n_valid], feature_names=names)
    params = {"objective": "binary:logistic", "eval_metric": "auc", "tree_method": "hist",
              "max_depth": 3, "eta": 0.05, "subsample": 0.8, "seed": 1, "nthread": 1,
              "scale_pos_weight": float((bad[:n_train] == 0).sum() / bad[:n_train].sum())}
    booster = xgb.train(params, dtrain, rounds, evals=[(dvalid, "valid")],
                        early_stopping_rounds=40, verbose_eval=False)
    booster = booster[: booster.best_iteration + 1]

    # 3. Ship both: the C++ server loads them as they are.
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pipeline.save(out / "features.json")
    booster.save_model(str(out / "model.json"))
    auc = metrics.roc_auc(bad[n_train:n_valid], booster.predict(dvalid))
    return pipeline, booster, auc


if __name__ == "__main__":
    _, model, valid_auc = train(sys.argv[1], sys.argv[2])
    print(f"{model.num_boosted_rounds()} trees, validation AUC {valid_auc:.3f}; "
          f"wrote {sys.argv[2]}/features.json and model.json")
