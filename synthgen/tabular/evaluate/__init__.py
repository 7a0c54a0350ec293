"""Evaluation of synthetic tables: fidelity, utility, privacy, validity, the report and gates.

Entry points: :func:`synthgen.tabular.evaluate.evaluation.evaluate` (the metrics document),
``validity.validate_synthetic``, ``gates`` and ``report``. great-expectations and matplotlib are
imported only when used.
"""
