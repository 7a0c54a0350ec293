"""Evaluation of synthetic tables: fidelity, utility, privacy, validity, report and gates.

Public entry points: :func:`synthgen.evaluate.api.evaluate`,
:func:`synthgen.evaluate.validity.validate_synthetic`, :mod:`synthgen.evaluate.gates` and
:mod:`synthgen.evaluate.report`. great-expectations and matplotlib are imported only when used.
"""

from synthgen.tabular.evaluate.evaluation import (
    DEFAULT_MAX_ROWS,
    Evaluation,
    evaluate,
    run_evaluation,
)

__all__ = ["DEFAULT_MAX_ROWS", "Evaluation", "evaluate", "run_evaluation", "validate_synthetic"]


def __getattr__(name: str):
    if name in ("validate_synthetic", "ValidationResult"):
        from synthgen.tabular.evaluate import validity

        return getattr(validity, name)
    raise AttributeError(f"module 'synthgen.tabular.evaluate' has no attribute {name!r}")
