"""funnel.scoring: the C++ bindings of funnel's scoring module; help(funnel.scoring.<name>) documents each."""

from . import _funnel

__all__ = [name for name in dir(_funnel.scoring) if not name.startswith("_")]
globals().update({name: getattr(_funnel.scoring, name) for name in __all__})
