"""funnel's typed errors arrive as funnel.Error subclasses keeping the C++ id and message."""

import numpy as np
import pytest

import funnel
from funnel import features as ff
from funnel import scoring


def test_every_kind_is_an_error_and_its_builtin():
    assert issubclass(funnel.InvalidArgument, funnel.Error)
    assert issubclass(funnel.InvalidArgument, ValueError)
    assert issubclass(funnel.ParseError, ValueError)
    assert issubclass(funnel.IoError, OSError)
    assert issubclass(funnel.DimensionMismatch, ValueError)
    assert issubclass(funnel.NotFound, LookupError)
    assert issubclass(funnel.NotFitted, RuntimeError)
    assert issubclass(funnel.Unsupported, NotImplementedError)
    assert issubclass(funnel.ConvergenceError, RuntimeError)


def test_error_keeps_id_and_message(tmp_path):
    with pytest.raises(funnel.IoError) as e:
        scoring.load_xgboost(tmp_path / "absent.json")
    assert e.value.id.startswith("io_error.")
    assert str(e.value).startswith("[funnel." + e.value.id + "]")


def test_parse_error_names_the_field():
    with pytest.raises(funnel.ParseError) as e:
        ff.Pipeline.from_json({"type": "funnel.features.pipeline", "version": 1})
    assert e.value.id == "parse_error.features.pipeline"


def test_not_fitted_and_dimension_mismatch():
    p = ff.Pipeline(ff.Schema([("x", "numeric")]), [ff.numeric_column("x", [ff.standard_scaler()])])
    with pytest.raises(funnel.NotFitted) as e:
        p.transform({"x": np.zeros(3, np.float32)})
    assert e.value.id == "not_fitted.features.pipeline"
    model = scoring.LogisticModel([1.0, 2.0], 0.5)
    with pytest.raises(funnel.DimensionMismatch):
        model.score(np.zeros((2, 3), np.float32))


def test_unknown_option_is_invalid_argument():
    with pytest.raises(funnel.InvalidArgument, match="unknown option 'rouns'"):
        scoring.fit_gbdt(np.zeros((4, 1), np.float32), np.array([0, 1, 0, 1], np.float32), rouns=3)


def test_metric_names_are_checked():
    X = np.zeros((4, 1), np.float32)
    y = np.array([0, 1, 0, 1], np.float32)
    for bad in ["ndcg@abc", "ndcg@0", "ndcg@-1", "ndcg@"]:
        with pytest.raises(funnel.InvalidArgument, match="ndcg@k needs a whole number k >= 1"):
            scoring.fit_gbdt(X, y, rounds=2, valid=(X, y), metric=bad)
