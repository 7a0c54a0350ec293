"""Checks on generated output before it is published.

Every chunk is validated against the schema in full (vectorised: types, ranges, categories,
nulls); a uniform sample of rows is then run through the great-expectations suite built from
the schema. A failure leaves the target untouched and writes the validation result beside it.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthgen.errors import DataError, GenerationError
from synthgen.schema import TableSchema

GX_SAMPLE_ROWS = 20_000


class OutputValidator:
    """Validate chunks as they stream; keep an even sample of rows for the GX suite."""

    def __init__(
        self,
        schema: TableSchema,
        total_rows: int,
        *,
        seed: int = 0,
        sample_rows: int = GX_SAMPLE_ROWS,
    ) -> None:
        self.schema = schema
        self.total_rows = total_rows
        self.sample_rows = sample_rows
        self.rng = np.random.default_rng(seed)
        self.samples: list[pd.DataFrame] = []
        self.seen = 0
        self.problems: list[str] = []

    def prefetch(self) -> threading.Thread:
        """Import great-expectations in a background thread (seconds of import time) while the
        rows are being generated; ``finish`` joins it."""
        from synthgen.evaluate.validity import preload

        self._prefetch = threading.Thread(target=preload, name="gx-import", daemon=True)
        self._prefetch.start()
        return self._prefetch

    def check(self, chunk: pd.DataFrame) -> None:
        from synthgen.io import validate_frame

        try:
            validate_frame(chunk, self.schema, source="generated rows")
        except DataError as err:
            self.problems.append(err.message)
        self._keep_sample(chunk)

    def _keep_sample(self, chunk: pd.DataFrame) -> None:
        """Keep a share of each chunk so the sample is spread evenly over all rows."""
        k = min(len(chunk), int(np.ceil(len(chunk) * self.sample_rows / max(self.total_rows, 1))))
        pick = np.sort(self.rng.choice(len(chunk), size=k, replace=False))
        self.samples.append(chunk.iloc[pick])
        self.seen += len(chunk)

    def finish(self, target: str | Path) -> dict[str, Any]:
        """Run the GX suite on the sample; on any failure write the result and raise."""
        from synthgen.evaluate.validity import validate_synthetic

        if getattr(self, "_prefetch", None) is not None:
            self._prefetch.join()

        sample = pd.concat(self.samples, ignore_index=True)
        result = validate_synthetic(sample, self.schema)
        summary = {
            "success": bool(result.success) and not self.problems,
            "rows_checked_in_full": self.seen,
            "gx_sample_rows": len(sample),
            "schema_problems": self.problems,
            "great_expectations": result.to_dict(),
        }
        if not summary["success"]:
            report = Path(f"{target}.validation.json")
            report.write_text(json.dumps(summary, indent=2, default=str))
            raise GenerationError(
                f"Generated rows failed validation against the schema, so {target} was not "
                f"written. The validation result is in {report}."
            )
        return {k: v for k, v in summary.items() if k != "great_expectations"}
