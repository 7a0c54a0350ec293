"""synthgen: synthetic tabular and image data with conditional GANs and VAEs.

The Python API is loaded lazily, so ``import synthgen`` stays light (no torch until used)::

    from synthgen import TabularSynthesizer, SyntheticOverSampler, AnomalyDetector, evaluate

``synthgen.evaluate(real, synthetic, schema, holdout=...)`` returns the metrics document.
"""

from __future__ import annotations

import importlib
from typing import Any

from synthgen._version import __version__

# public name -> (module, attribute)
_LAZY: dict[str, tuple[str, str]] = {
    "TabularSynthesizer": ("synthgen.tabular.synthesizer", "TabularSynthesizer"),
    "ImageSynthesizer": ("synthgen.images.synthesizer", "ImageSynthesizer"),
    "SyntheticOverSampler": ("synthgen.tabular.oversampler", "SyntheticOverSampler"),
    "AnomalyDetector": ("synthgen.tabular.anomaly.detector", "AnomalyDetector"),
    "ImageAnomalyDetector": ("synthgen.images.anomaly.detector", "ImageAnomalyDetector"),
    "evaluate": ("synthgen.tabular.evaluate.evaluation", "evaluate"),
    "augment": ("synthgen.tabular.augment", "augment"),
    "load_schema": ("synthgen.schema", "load_schema"),
    "infer_schema": ("synthgen.tabular.infer", "infer_schema"),
    "read_table": ("synthgen.tabular.io", "read_table"),
    # with synthgen[ray]: pipelines that stay in Ray
    "synthetic_dataset": ("synthgen.jobs.ray_data", "synthetic_dataset"),
    "score_dataset": ("synthgen.jobs.ray_data", "score_dataset"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'synthgen' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
