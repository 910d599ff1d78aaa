"""funnel.retrieval: the C++ bindings of funnel's retrieval module; help(funnel.retrieval.<name>) documents each."""

from . import _funnel

__all__ = [name for name in dir(_funnel.retrieval) if not name.startswith("_")]
globals().update({name: getattr(_funnel.retrieval, name) for name in __all__})
