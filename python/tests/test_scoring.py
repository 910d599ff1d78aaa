"""funnel.scoring from Python: imported models score with the fixtures' (XGBoost's, LightGBM's)
bits; models trained in Python load in C++ and score bit-identically."""

import numpy as np
import pytest

import funnel
from funnel import scoring

from conftest import DATA, bits, hex_floats

XGB = DATA / "trees" / "xgb"
LGB = DATA / "trees" / "lightgbm"


def xgb_rows(name):
    return np.loadtxt(XGB / f"{name}.rows.txt", delimiter=",", dtype=np.float32, ndmin=2)


def write_rows(path, X):
    np.ascontiguousarray(X, dtype=np.float32).tofile(path)
    return path


@pytest.mark.parametrize("model", ["agaricus_logistic", "credit_squarederror", "lending_categorical"])
def test_xgboost_margins_equal_xgboost_and_cpp(model, reference, tmp_path):
    meta = dict(line.split("=", 1) for line in (XGB / f"{model}.meta.txt").read_text().splitlines()
                if "=" in line)
    X = xgb_rows(meta["rows"])
    t = scoring.load_xgboost(XGB / f"{model}.json")
    margins = t.margins(X)
    ubj = scoring.load_xgboost(XGB / f"{model}.ubj").margins(X)
    assert np.array_equal(bits(ubj), bits(margins))
    expected = np.loadtxt(XGB / f"{model}.margin.txt", dtype=np.float32, ndmin=1)
    assert np.array_equal(bits(margins.reshape(-1)), bits(expected.reshape(-1)))
    cpp = hex_floats(reference("margins", "xgboost", XGB / f"{model}.json",
                               write_rows(tmp_path / "x.f32", X), X.shape[1]))
    assert np.array_equal(bits(cpp.reshape(-1)), bits(margins.reshape(-1)))


def test_multiclass_shapes():
    t = scoring.load_xgboost(XGB / "lending_multi_softmax.json")
    X = xgb_rows("lending")[:5]
    assert t.margins(X).shape == (5, t.num_groups)
    assert np.allclose(t.predict(X).sum(axis=1), 1.0, atol=1e-6) or t.predict(X).shape == (5, t.num_groups)
    assert t.shap(X).shape == (5, t.num_groups, t.num_features + 1)


def test_lightgbm_raw_scores():
    t = scoring.load_lightgbm(LGB / "binary" / "model.txt")
    data = np.loadtxt(LGB / "binary" / "test.tsv", delimiter="\t", dtype=np.float64, ndmin=2)
    X = data[:, 1:].astype(np.float32)
    raw = np.loadtxt(LGB / "binary" / "raw_scores.txt")
    assert np.allclose(t.margins(X), raw, rtol=0, atol=1e-6)
    assert t.scale == "log_odds" and t.num_trees > 0


def test_shap_sums_to_margin_and_matches_cpp(reference, tmp_path):
    X = xgb_rows("credit")[:50]
    t = scoring.load_xgboost(XGB / "credit_logistic.json")
    phi = t.shap(X)
    assert phi.shape == (50, t.num_features + 1)
    assert np.allclose(phi.sum(axis=1), t.margins(X), atol=1e-4)
    cpp = hex_floats(reference("shap", "xgboost", XGB / "credit_logistic.json",
                               write_rows(tmp_path / "x.f32", X), X.shape[1]))
    assert np.array_equal(bits(cpp), bits(phi))


@pytest.fixture(scope="module")
def classification():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(3000, 6)).astype(np.float32)
    X[rng.random(X.shape) < 0.05] = np.nan
    z = np.nan_to_num(X[:, 0]) - 0.5 * np.nan_to_num(X[:, 1]) + rng.normal(size=3000)
    return X, (z > 0.3).astype(np.float32)


def test_fit_gbdt_progress_and_early_stopping(classification):
    X, y = classification
    seen = []
    fit = scoring.fit_gbdt(X[:2000], y[:2000], valid=(X[2000:], y[2000:]), metric="auc",
                           rounds=300, learning_rate=0.3, max_depth=4, early_stopping_rounds=5,
                           on_progress=seen.append, feature_names=[f"x{i}" for i in range(6)])
    assert 0 < fit.best_iteration < 300 and fit.model.num_trees == fit.best_iteration
    assert len(seen) == len(fit.valid_history) < 300
    assert seen[0]["iteration"] == 1 and seen[0]["metric_name"] == "auc"
    assert fit.model.feature_names == [f"x{i}" for i in range(6)]
    assert funnel.metrics.roc_auc(y[2000:], fit.model.predict(X[2000:])) > 0.7


def test_progress_callback_exception_propagates(classification):
    X, y = classification

    def stop(progress):
        raise KeyboardInterrupt("stop")

    with pytest.raises(KeyboardInterrupt):
        scoring.fit_gbdt(X, y, rounds=10, on_progress=stop)


def test_gbdt_trained_in_python_scores_identically_in_cpp(classification, reference, tmp_path):
    X, y = classification
    model = scoring.fit_gbdt(X, y, rounds=20, max_depth=5, seed=3).model
    model.save(tmp_path / "m.json")
    model.save_xgboost_json(tmp_path / "m.xgb.json")
    assert scoring.TreeEnsemble.load(tmp_path / "m.json") == model
    rows = write_rows(tmp_path / "x.f32", X)
    for fmt, path in (("funnel", "m.json"), ("xgboost", "m.xgb.json")):
        cpp = hex_floats(reference("margins", fmt, tmp_path / path, rows, X.shape[1]))
        assert np.array_equal(bits(cpp.reshape(-1)), bits(model.margins(X)))


def test_gbdt_equals_xgboost_margins_of_exported_model(classification, tmp_path):
    xgb = pytest.importorskip("xgboost")
    X, y = classification
    model = scoring.fit_gbdt(X, y, rounds=10, max_depth=3).model
    model.save_xgboost_json(tmp_path / "m.json")
    booster = xgb.Booster(model_file=str(tmp_path / "m.json"))
    theirs = booster.predict(xgb.DMatrix(X, missing=np.nan), output_margin=True)
    assert np.array_equal(bits(theirs), bits(model.margins(X)))


def test_logistic_fit_score_and_cpp(classification, reference, tmp_path):
    X, y = classification
    X = np.nan_to_num(X)
    fit = scoring.fit_logistic(X, y, C=0.5, feature_names=[f"x{i}" for i in range(6)])
    assert fit.report.converged and fit.report.solver in ("newton", "lbfgs")
    m = fit.model
    assert m.coef.shape == (6,) and m.feature_names[0] == "x0"
    p = m.predict(X)
    assert np.allclose(p, 1 / (1 + np.exp(-m.score(X).astype(np.float64))), atol=1e-6)
    m.save(tmp_path / "lr.json")
    assert scoring.LogisticModel.load(tmp_path / "lr.json") == m
    cpp = hex_floats(reference("logistic", tmp_path / "lr.json", write_rows(tmp_path / "x.f32", X),
                               X.shape[1]))
    assert np.array_equal(bits(cpp.reshape(-1)), bits(m.score(X)))


def test_logistic_on_iteration_can_stop(classification):
    X, y = classification
    calls = []
    fit = scoring.fit_logistic(np.nan_to_num(X), y, solver="lbfgs",
                               on_iteration=lambda it, obj, g: calls.append(it) or it < 2)
    assert not fit.report.converged and fit.report.message == "stopped by on_iteration"
    assert calls[-1] == 2


def test_importance_and_leaves():
    t = scoring.load_xgboost(XGB / "agaricus_logistic.json")
    X = xgb_rows("agaricus")[:4]
    assert t.predict_leaf(X).shape == (4, t.num_trees)
    gain = t.importance("gain")
    assert gain.shape == (t.num_features,) and gain.max() > 0
    with pytest.raises(funnel.InvalidArgument):
        t.importance("bogus")
