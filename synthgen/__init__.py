"""synthgen: synthetic tabular and image data with conditional GANs and VAEs.

The Python API is loaded lazily, so ``import synthgen`` stays light (no torch until used)::

    from synthgen import TabularSynthesizer, SyntheticOverSampler, AnomalyDetector, evaluate

``synthgen.evaluate`` is both the evaluation subpackage and callable as its ``evaluate``
function: ``synthgen.evaluate(real, synthetic, schema, holdout=...)`` returns the metrics
document, and ``synthgen.evaluate.gates`` etc. stay reachable.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

__version__ = "0.1.0"

# public name -> (module, attribute); attribute None means the module itself
_LAZY: dict[str, tuple[str, str | None]] = {
    "TabularSynthesizer": ("synthgen.synthesizer", "TabularSynthesizer"),
    "SyntheticOverSampler": ("synthgen.oversampler", "SyntheticOverSampler"),
    "AnomalyDetector": ("synthgen.anomaly", "AnomalyDetector"),
    "evaluate": ("synthgen.evaluate", None),
    "augment": ("synthgen.augment", "augment"),
    "load_schema": ("synthgen.schema", "load_schema"),
    "infer_schema": ("synthgen.infer", "infer_schema"),
    "read_table": ("synthgen.io", "read_table"),
}

__all__ = ["__version__", *_LAZY]


class _CallableModule(types.ModuleType):
    """The ``synthgen.evaluate`` package, callable as ``synthgen.evaluate.evaluate``."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.__dict__["evaluate"](*args, **kwargs)


class _Package(types.ModuleType):
    """Makes the ``synthgen.evaluate`` subpackage callable however it gets imported (the
    import system binds a subpackage on its parent with setattr)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "evaluate" and type(value) is types.ModuleType:
            value.__class__ = _CallableModule
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = importlib.import_module(module)
        if attr is not None:
            value = getattr(value, attr)
            globals()[name] = value
        return value
    raise AttributeError(f"module 'synthgen' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
