"""funnel.features: fitted feature transforms, identical in training (Python) and serving (C++).

Build a pipeline from components, fit it on a pandas DataFrame or a dict of arrays, transform
batches into float32 numpy arrays, save the JSON that C++'s ``any_pipeline::load`` reads::

    from funnel import features as ff
    schema = ff.Schema([("income", "numeric"), ("state", "string")])
    p = ff.Pipeline(schema, [
        ff.numeric_column("income", [ff.imputer("median"), ff.log_transform(),
                                     ff.standard_scaler()], missing_indicator=True),
        ff.one_hot("state", handle_unknown="other", min_frequency=30),
    ])
    p.fit(df)
    X = p.transform(df)            # float32, rows x p.width
    p.save("features.json")

The builders below return the component's JSON description (a dict); any description saved by
C++ or by ``Pipeline.to_json()["components"]`` works as well.
"""

import math

from . import _funnel

Schema = _funnel.features.Schema
Pipeline = _funnel.features.Pipeline
make_folds = _funnel.features.make_folds

_INF = math.inf


def _component(kind, **fields):
    return {"type": "funnel.features." + kind, "version": 1, "fitted": False, **fields}


def _bound(x):
    return None if x is None or math.isinf(x) else float(x)


# ---- numeric steps (chained inside numeric_column) ----

def standard_scaler(with_mean=True, with_std=True):
    """(x - mean) / std with the population std (sklearn StandardScaler)."""
    return {"type": "standard_scaler", "with_mean": with_mean, "with_std": with_std,
            "mean": 0.0, "scale": 1.0}


def min_max_scaler(lo=0.0, hi=1.0):
    """Maps the fitted [min, max] onto [lo, hi] (sklearn MinMaxScaler)."""
    return {"type": "min_max_scaler", "lo": float(lo), "hi": float(hi), "scale": 1.0,
            "offset": 0.0}


def robust_scaler(q_lo=25.0, q_hi=75.0, with_centering=True, with_scaling=True):
    """(x - median) / (q_hi - q_lo percentile range) (sklearn RobustScaler)."""
    return {"type": "robust_scaler", "q_lo": float(q_lo), "q_hi": float(q_hi),
            "with_centering": with_centering, "with_scaling": with_scaling, "center": 0.0,
            "scale": 1.0}


def log_transform(signed=False):
    """log1p(x), or sign(x) * log1p(|x|) with signed=True."""
    return {"type": "log", "signed": signed}


def clip(lo=-_INF, hi=_INF):
    """Clamps to fixed [lo, hi] (None or +-inf: no bound)."""
    return {"type": "clip", "lo": _bound(lo), "hi": _bound(hi)}


def winsorizer(q_lo=0.01, q_hi=0.99):
    """Clamps to the fitted [q_lo, q_hi] quantiles of the training values."""
    return {"type": "winsorizer", "q_lo": float(q_lo), "q_hi": float(q_hi), "lo": 0.0, "hi": 0.0}


def imputer(strategy="mean", value=0.0):
    """Replaces NaN by the fitted mean / median / most_frequent, or a constant `value`."""
    return {"type": "imputer", "strategy": strategy, "value": float(value)}


def quantile_bucketizer(num_bins=10, rule="midpoint"):
    """Equal-frequency buckets: output is the bucket index (rule 'midpoint' or 'interpolate')."""
    return {"type": "quantile_bucketizer", "num_bins": int(num_bins), "rule": rule, "edges": []}


def fixed_bucketizer(edges):
    """Bucket = number of `edges` (strictly increasing) <= x, as np.digitize."""
    return {"type": "fixed_bucketizer", "edges": [float(e) for e in edges]}


# ---- components ----

def numeric_column(column, steps=(), missing_indicator=False, output=None):
    """One numeric column through a chain of steps, each fitted on the previous one's output;
    optionally a 0/1 `<output>_missing` column."""
    return _component("numeric_column", column=column, output=output or column,
                      missing_indicator=missing_indicator, steps=list(steps))


def interaction(a, b, op="product"):
    """a*b, a+b, a-b or a/b (op product, sum, difference, ratio) of two numeric columns."""
    return _component("interaction", a=a, b=b, op=op)


def one_hot(column, handle_unknown="error", min_frequency=1):
    """One output per category (bytewise order); rare or unseen ones to `column=<other>` with
    handle_unknown='other'."""
    return _component("one_hot", column=column, handle_unknown=handle_unknown,
                      min_frequency=int(min_frequency))


def ordinal_encoder(column, handle_unknown="error", unknown_value=-1.0):
    """Category -> its index in sorted order; unseen -> `unknown_value` with 'ignore'."""
    return _component("ordinal_encoder", column=column, handle_unknown=handle_unknown,
                      unknown_value=float(unknown_value))


def count_encoder(column, normalize=False):
    """Category -> its training count (or frequency with normalize=True)."""
    return _component("count_encoder", column=column, normalize=normalize)


def target_encoder(column, smoothing=1.0):
    """Smoothed target mean per category; fit with a target (out of fold via fit_transform)."""
    return _component("target_encoder", column=column, smoothing=float(smoothing))


def feature_hasher(columns, num_features=1024, seed=0, alternate_sign=True):
    """MurmurHash3 feature hashing of categorical columns into num_features outputs."""
    return _component("feature_hasher", columns=list(columns), num_features=int(num_features),
                      seed=int(seed), alternate_sign=alternate_sign)


def hashed_cross(columns, num_buckets=1024, seed=0):
    """Cross of categorical columns hashed into num_buckets one-hot outputs."""
    return _component("hashed_cross", columns=list(columns), num_buckets=int(num_buckets),
                      seed=int(seed))


def schema_of(frame, categorical=(), integer=()):
    """A Schema of a DataFrame's columns: `categorical` names are strings, `integer` names
    integer categories, every other column numeric."""
    cols = []
    for name in frame.columns:
        kind = "string" if name in categorical else "integer" if name in integer else "numeric"
        cols.append((str(name), kind))
    return Schema(cols)


__all__ = [
    "Schema", "Pipeline", "make_folds", "schema_of", "standard_scaler", "min_max_scaler",
    "robust_scaler", "log_transform", "clip", "winsorizer", "imputer", "quantile_bucketizer",
    "fixed_bucketizer", "numeric_column", "interaction", "one_hot", "ordinal_encoder",
    "count_encoder", "target_encoder", "feature_hasher", "hashed_cross",
]
