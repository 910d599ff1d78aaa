"""Every public name of funnel has a docstring (not only pybind11's generated signature)."""

import inspect

import funnel


def _documented(obj):
    doc = inspect.getdoc(obj) or ""
    if inspect.isbuiltin(obj) or inspect.ismethoddescriptor(obj) or inspect.isroutine(obj) and \
            not inspect.isfunction(obj):
        # pybind11 writes "name(signature) -> type", a blank line, then the docstring.
        parts = doc.split("\n\n", 1)
        return len(parts) == 2 and bool(parts[1].strip())
    return bool(doc.strip())


def test_every_public_name_is_documented():
    missing = []
    for module in (funnel.features, funnel.scoring, funnel.retrieval, funnel.drift,
                   funnel.metrics):
        for name in getattr(module, "__all__", dir(module)):
            if name.startswith("_"):
                continue
            obj = getattr(module, name)
            if not _documented(obj):
                missing.append(f"{module.__name__}.{name}")
            if isinstance(obj, type):
                for member, value in vars(obj).items():
                    if member.startswith("_"):
                        continue
                    if not _documented(value):
                        missing.append(f"{module.__name__}.{name}.{member}")
    assert missing == []
