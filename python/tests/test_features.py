"""funnel.features from Python: build in code or from JSON, fit on a DataFrame or a dict of
arrays, transform batches and rows; the fitted JSON gives the same bits in C++."""

import numpy as np
import pandas as pd
import pytest

import funnel
from funnel import features as ff

from conftest import bits, hex_floats

CATEGORICAL = ["term", "sub_grade", "addr_state", "verification_status", "emp_length", "Class"]


def lending_schema(frame):
    return ff.schema_of(frame, categorical=CATEGORICAL)


def lending_components():
    return [
        ff.numeric_column("annual_inc", [ff.imputer("median"), ff.log_transform(),
                                         ff.standard_scaler()], missing_indicator=True),
        ff.numeric_column("funded_amnt", [ff.robust_scaler()]),
        ff.numeric_column("int_rate", [ff.quantile_bucketizer(8)]),
        ff.numeric_column("revol_util", [ff.winsorizer(), ff.min_max_scaler()]),
        ff.numeric_column("all_util", [ff.clip(0, 100), ff.imputer("mean")],
                          missing_indicator=True, output="util"),
        ff.interaction("funded_amnt", "annual_inc", "ratio"),
        ff.one_hot("addr_state", handle_unknown="other", min_frequency=50),
        ff.ordinal_encoder("sub_grade", handle_unknown="ignore"),
        ff.count_encoder("emp_length", normalize=True),
        ff.target_encoder("verification_status", smoothing=20.0),
        ff.hashed_cross(["sub_grade", "term"], num_buckets=16),
        ff.feature_hasher(["addr_state"], num_features=8),
    ]


@pytest.fixture(scope="module")
def fitted(lending):
    p = ff.Pipeline(lending_schema(lending), lending_components())
    p.fit(lending, target=(lending["Class"] == "bad").to_numpy(np.float32))
    return p


def test_fit_transform_shape_names_and_dtype(fitted, lending):
    X = fitted.transform(lending)
    assert X.dtype == np.float32 and X.flags.c_contiguous
    assert X.shape == (len(lending), fitted.width) == (len(lending), len(fitted.output_names))
    assert fitted.output_names[:3] == ["annual_inc", "annual_inc_missing", "funded_amnt"]
    assert "util_missing" in fitted.output_names and "addr_state=<other>" in fitted.output_names


def test_dict_of_arrays_equals_dataframe(fitted, lending):
    columns = {name: lending[name].to_numpy() for name in lending.columns}
    assert np.array_equal(bits(fitted.transform(columns)), bits(fitted.transform(lending)))


def test_row_equals_batch_row_bit_for_bit(fitted, lending):
    X = fitted.transform(lending)
    for i in (0, 1, 17, 4000):
        row = {k: (None if isinstance(v, float) and np.isnan(v) else v)
               for k, v in lending.iloc[i].to_dict().items()}
        assert np.array_equal(bits(fitted.transform_row(row)), bits(X[i]))


def test_unfitted_json_configuration_fits_like_code(fitted, lending):
    config = ff.Pipeline(lending_schema(lending), lending_components()).to_json()
    q = ff.Pipeline.from_json(config)
    assert not q.fitted
    q.fit(lending, (lending["Class"] == "bad").to_numpy(np.float32))
    assert q.to_json() == fitted.to_json()


def test_save_load_round_trip(fitted, lending, tmp_path):
    fitted.save(tmp_path / "p.json")
    q = ff.Pipeline.load(tmp_path / "p.json")
    assert q.output_names == fitted.output_names
    assert np.array_equal(bits(q.transform(lending)), bits(fitted.transform(lending)))


def test_fitted_in_python_transforms_identically_in_cpp(fitted, lending, reference, tmp_path):
    fitted.save(tmp_path / "p.json")
    rows = lending.iloc[:300]
    rows.to_csv(tmp_path / "rows.csv", index=False)
    cpp = hex_floats(reference("features", tmp_path / "p.json", tmp_path / "rows.csv"))
    assert np.array_equal(bits(cpp), bits(fitted.transform(rows)))


def test_fit_transform_out_of_fold(lending):
    y = (lending["Class"] == "bad").to_numpy(np.float32)
    p = ff.Pipeline(lending_schema(lending), [ff.target_encoder("addr_state", smoothing=50.0)])
    folds = ff.make_folds(len(lending), 5, 42)
    assert sorted(set(folds)) == [0, 1, 2, 3, 4]
    X = p.fit_transform(lending, y, folds)
    assert X.shape == (len(lending), 1)
    assert not np.array_equal(X, p.transform(lending))  # out of fold differs from in-sample


def test_missing_values_and_errors():
    s = ff.Schema([("x", "numeric", "error"), ("c", "string")])
    p = ff.Pipeline(s, [ff.numeric_column("x"), ff.one_hot("c")])
    with pytest.raises(funnel.InvalidArgument, match="column 'x', row 1"):
        p.fit(pd.DataFrame({"x": [1.0, np.nan], "c": ["a", "b"]}))
    p.fit({"x": np.array([1.0, 2.0]), "c": ["a", None]})
    assert p.output_names == ["x", "c=a", "c=<missing>"]
    with pytest.raises(funnel.NotFound):
        p.transform_row({"x": 1.0, "c": "unseen"})
    with pytest.raises(funnel.InvalidArgument, match="expected str or None"):
        p.transform({"x": [1.0], "c": [3]})
    with pytest.raises(funnel.NotFound, match="column 'c'"):
        p.transform({"x": [1.0]})


def test_integer_columns():
    s = ff.Schema([{"name": "zip", "type": "integer"}])
    p = ff.Pipeline(s, [ff.one_hot("zip")]).fit({"zip": np.array([10, 2, 10], np.int64)})
    assert p.output_names == ["zip=2", "zip=10"]
    assert p.transform({"zip": [2, 10]}).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert p.transform_row({"zip": 10}).tolist() == [0.0, 1.0]


def test_schema_json_and_repr():
    s = ff.Schema([("a", "numeric"), ("b", "string")])
    assert ff.Schema.from_json(s.to_json()) == s
    assert s.names == ["a", "b"] and s.types == ["numeric", "string"] and len(s) == 2
    assert "('b', 'string')" in repr(s)
