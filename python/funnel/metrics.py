"""funnel.metrics: the C++ bindings of funnel's metrics module; help(funnel.metrics.<name>) documents each."""

from . import _funnel

__all__ = [name for name in dir(_funnel.metrics) if not name.startswith("_")]
globals().update({name: getattr(_funnel.metrics, name) for name in __all__})
