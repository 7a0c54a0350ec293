"""Consistency: synthetic rows whose combination of mutually determining columns never occurs
in the real data (an education that does not go with its education-num). The pairs are the
schema's ``fixed_combinations`` constraints and the pairs found to determine each other in the
real rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthgen.schema import FixedCombinationsConstraint, TableSchema
from synthgen.tabular.dependence import dependent_pairs, unseen_share


def consistency(real: pd.DataFrame, synthetic: pd.DataFrame, schema: TableSchema) -> dict:
    """``pairs``: per pair, where it comes from and the share of synthetic rows with an unseen
    combination; ``unseen_rows``: the share of rows with any (None without pairs)."""
    declared = [
        list(c.columns) for c in schema.constraints if isinstance(c, FixedCombinationsConstraint)
    ]
    discrete = [
        c.name
        for c in schema.columns
        if c.type in ("categorical", "boolean", "integer") and not c.pii
    ]
    found = [p for p in dependent_pairs(real, discrete) if p not in declared]
    pairs, any_unseen = [], np.zeros(len(synthetic), dtype=bool)
    for columns, source in [(c, "schema") for c in declared] + [(c, "found") for c in found]:
        unseen = np.asarray(unseen_share(real, synthetic, columns))
        any_unseen |= unseen
        pairs.append(
            {
                "columns": columns,
                "source": source,
                "unseen_share": float(unseen.mean()) if len(unseen) else 0.0,
            }
        )
    return {
        "pairs": pairs,
        "unseen_rows": float(any_unseen.mean()) if pairs and len(synthetic) else None,
        "rows": int(len(synthetic)),
    }
