"""funnel: feature pipelines, tree and logistic scoring, nearest-neighbour retrieval and drift
statistics from funnel's C++ library, with the same bits as the C++ calls.

Submodules: :mod:`funnel.features`, :mod:`funnel.scoring`, :mod:`funnel.retrieval`,
:mod:`funnel.drift`. Errors are :class:`funnel.Error` and its subclasses, each keeping the
stable ``id`` of the C++ error (``e.id == "parse_error.scoring.xgboost"``).
"""

from ._funnel import (  # noqa: F401  (re-exported)
    ConvergenceError,
    DimensionMismatch,
    Error,
    InvalidArgument,
    IoError,
    NotFitted,
    NotFound,
    ParseError,
    Unsupported,
)
from . import drift, features, metrics, retrieval, scoring  # noqa: F401

__all__ = [
    "Error", "InvalidArgument", "ParseError", "IoError", "DimensionMismatch", "NotFitted",
    "NotFound", "Unsupported", "ConvergenceError", "features", "scoring", "retrieval", "drift", "metrics",
]
__version__ = "0.2.0.dev0"
