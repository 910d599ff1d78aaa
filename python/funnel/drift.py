"""funnel.drift: the C++ bindings of funnel's drift module; help(funnel.drift.<name>) documents each."""

from . import _funnel

__all__ = [name for name in dir(_funnel.drift) if not name.startswith("_")]
globals().update({name: getattr(_funnel.drift, name) for name in __all__})
