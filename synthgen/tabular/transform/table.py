"""The reversible table transformer: a typed frame <-> a float32 matrix laid out as spans."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from synthgen.errors import DataError, ModelFileError
from synthgen.schema import ColumnSpec, TableSchema
from synthgen.tabular.transform.base import ColumnEncoder, Span, split_spans
from synthgen.tabular.transform.binned import BinnedEncoder
from synthgen.tabular.transform.categorical import BooleanEncoder, CategoricalEncoder
from synthgen.tabular.transform.numeric import ModeSpecificEncoder
from synthgen.tabular.transform.private import Protection
from synthgen.tabular.transform.quantile import QuantileEncoder

STATE_FORMAT = 1
NumericMethod = Literal["mode", "quantile", "binned"]
NUMERIC_METHODS = ("mode", "quantile", "binned")
PRIVATE_NUMERIC = ("quantile", "binned")  # the encodings with a differentially private fit


@dataclass(frozen=True)
class DiscreteColumn:
    """A categorical or boolean column's one-hot block in the transformed output.

    ``categories`` labels every slot of the block: the category strings, the "other" label when
    rare categories were grouped, and ``None`` for the missing slot. ``counts`` are the training
    counts per slot (int64), for training-by-sampling. ``grouped`` lists the categories behind
    the "other" slot (empty when none were grouped); conditioning on one of them is not exact.
    """

    column: str
    start: int
    categories: list[str | None]
    counts: np.ndarray
    grouped: tuple[str, ...] = ()

    @property
    def width(self) -> int:
        return len(self.categories)

    @property
    def stop(self) -> int:
        return self.start + self.width


class TableTransformer:
    """Fit per-column encoders on a typed frame; transform to/from one float32 matrix.

    Parameters follow scikit-learn's rules: the constructor only stores them, ``fit`` learns
    the ``*_`` attributes and returns self.

    numeric:        ``"mode"`` (CTGAN mode-specific normalisation: tanh value + softmax mode)
                    or ``"quantile"`` (quantile-to-normal: one linear value) or ``"binned"``
                    (a softmax over quantile bins) for continuous, integer and datetime columns.
    max_modes:      most mixture modes per numeric column ("mode").
    max_categories: most one-hot slots per categorical column before the rarest categories are
                    grouped into one "other" slot (which decodes to them by frequency).
    gmm_sample:     rows subsampled to fit each mixture ("mode").
    n_quantiles:    size of each quantile table ("quantile").
    n_bins:         most bins per numeric column ("binned").
    seed:           seeds fitting, the per-row mode sampling in ``transform`` and the sampling
                    within "other" slots in ``inverse_transform`` when no ``rng`` is given.
    protection:     value protection and differential privacy of what ``fit`` learns
                    (``transform/private.py``; a DP budget is split evenly over the columns).
                    Not part of the state: what it changed is.

    id columns are not modelled (the generator creates fresh ids); ``inverse_transform`` returns
    the other columns, in schema order.
    """

    def __init__(
        self,
        schema: TableSchema,
        *,
        numeric: NumericMethod = "mode",
        max_modes: int = 10,
        max_categories: int = 100,
        gmm_sample: int = 3000,
        n_quantiles: int = 1000,
        n_bins: int = 100,
        seed: int = 0,
        protection: Protection | None = None,
    ) -> None:
        self.schema = schema
        self.numeric = numeric
        self.max_modes = max_modes
        self.max_categories = max_categories
        self.gmm_sample = gmm_sample
        self.n_quantiles = n_quantiles
        self.n_bins = n_bins
        self.seed = seed
        self.protection = protection

    # ------------------------------------------------------------------ fitting
    def _params(self) -> dict[str, Any]:
        return {
            "numeric": self.numeric,
            "max_modes": self.max_modes,
            "max_categories": self.max_categories,
            "gmm_sample": self.gmm_sample,
            "n_quantiles": self.n_quantiles,
            **({"n_bins": self.n_bins} if self.numeric == "binned" else {}),
            "seed": self.seed,
        }

    def _make_encoder(self, spec: ColumnSpec) -> ColumnEncoder:
        if spec.type in ("continuous", "integer", "datetime"):
            if self.numeric == "mode":
                return ModeSpecificEncoder(
                    spec, max_modes=self.max_modes, gmm_sample=self.gmm_sample
                )
            if self.numeric == "binned":
                return BinnedEncoder(spec, n_bins=self.n_bins)
            return QuantileEncoder(spec, n_quantiles=self.n_quantiles)
        if spec.type == "boolean":
            return BooleanEncoder(spec)
        return CategoricalEncoder(spec, max_categories=self.max_categories)

    def _modelled(self) -> list[ColumnSpec]:
        if not isinstance(self.schema, TableSchema):
            raise TypeError("TableTransformer needs a table schema")
        return [c for c in self.schema.columns if c.type != "id" and not c.pii]

    def _check_frame(self, df: pd.DataFrame, specs: list[ColumnSpec]) -> None:
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
        missing = [c.name for c in specs if c.name not in df.columns]
        if missing:
            raise DataError(
                f"The data lacks column(s) {', '.join(missing)} named in schema "
                f"'{self.schema.name}'."
            )

    def fit(self, df: pd.DataFrame) -> TableTransformer:
        """Fit one encoder per modelled column (all but id columns); returns self."""
        if self.numeric not in NUMERIC_METHODS:
            raise ValueError(f"numeric must be one of {NUMERIC_METHODS}, not {self.numeric!r}")
        specs = self._modelled()
        self._check_frame(df, specs)
        encoders: dict[str, ColumnEncoder] = {}
        for i, spec in enumerate(specs):
            rng = np.random.default_rng([self.seed, 0, i])
            enc = self._make_encoder(spec)
            if self.protection is not None:
                enc.protection = self.protection.per_column(len(specs))
                if spec.name in self.schema.condition_columns and not enc.protection.private:
                    # condition columns (class labels) stay exact: a rare class is what
                    # oversampling and conditional generation exist for
                    enc.protection = dataclasses.replace(enc.protection, min_count=0)
            encoders[spec.name] = enc.fit(df[spec.name], rng)
        self._set_encoders(encoders)
        return self

    def _set_encoders(self, encoders: dict[str, ColumnEncoder]) -> None:
        self.encoders_ = encoders
        self.columns_ = list(encoders)
        spans: list[Span] = []
        slices: dict[str, slice] = {}
        discrete: list[DiscreteColumn] = []
        start = 0
        for name, enc in encoders.items():
            width = enc.width
            slices[name] = slice(start, start + width)
            if isinstance(enc, CategoricalEncoder):
                discrete.append(
                    DiscreteColumn(
                        name, start, enc.slot_labels, enc.slot_counts, tuple(enc.grouped_)
                    )
                )
            spans.extend(enc.spans)
            start += width
        self.spans_ = spans
        self.output_dim_ = start
        self.column_slices_ = slices
        self.discrete_columns_ = discrete

    def _check_fitted(self) -> None:
        if not hasattr(self, "encoders_"):
            raise RuntimeError("TableTransformer is not fitted; call fit(df) first")

    # ------------------------------------------------------------------ transforming
    def _rngs(self, rng: np.random.Generator | None, salt: int) -> list[np.random.Generator]:
        base = rng if rng is not None else np.random.default_rng([self.seed, salt])
        return base.spawn(len(self.encoders_))

    def transform(self, df: pd.DataFrame, rng: np.random.Generator | None = None) -> np.ndarray:
        """Encode a typed frame to a float32 array of shape (n, output_dim_).

        The mode of each numeric value ("mode") is sampled from its posterior with ``rng``
        (default: one seeded by ``seed``, so repeated calls give identical arrays).
        """
        self._check_fitted()
        specs = [self.encoders_[c].spec for c in self.columns_]
        self._check_frame(df, specs)
        out = np.empty((len(df), self.output_dim_), dtype=np.float32)
        for (name, enc), r in zip(self.encoders_.items(), self._rngs(rng, 1), strict=True):
            out[:, self.column_slices_[name]] = enc.transform(df[name], r)
        return out

    def fit_transform(self, df: pd.DataFrame) -> np.ndarray:
        return self.fit(df).transform(df)

    def inverse_transform(self, X: Any, rng: np.random.Generator | None = None) -> pd.DataFrame:
        """Decode a (n, output_dim_) matrix to a typed frame of the modelled columns.

        Softmax blocks are read by argmax (raw logits or probabilities both work); tanh values
        are clipped to [-1, 1]; numbers are clipped to the schema's bounds (the observed range
        where it has none) and integers rounded. ``rng`` samples among grouped rare categories.
        """
        self._check_fitted()
        if hasattr(X, "detach"):  # a torch tensor
            X = X.detach().cpu().numpy()
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.output_dim_:
            raise ValueError(f"expected an array of shape (n, {self.output_dim_}), got {X.shape}")
        values, codes = split_spans(np.asarray(X, dtype=np.float64), self.spans_)
        return self.inverse_transform_parts(values, codes, rng)

    def inverse_transform_parts(
        self, values: Any, codes: Any, rng: np.random.Generator | None = None
    ) -> pd.DataFrame:
        """Decode rows given in span form: ``values`` (n, S), the scalar spans' values, and
        ``codes`` (n, B), the slot of every softmax span, both in span order (what generation
        draws; equals ``inverse_transform`` of the matching one-hot matrix)."""
        self._check_fitted()
        values, codes = np.asarray(values), np.asarray(codes)
        n_values = sum(s.width for s in self.spans_ if s.activation != "softmax")
        n_codes = sum(s.activation == "softmax" for s in self.spans_)
        if values.shape != (len(codes), n_values) or codes.shape[1:] != (n_codes,):
            raise ValueError(
                f"expected values of shape (n, {n_values}) and codes of shape (n, {n_codes}), "
                f"got {values.shape} and {codes.shape}"
            )
        cols = {}
        v = c = 0
        for (name, enc), r in zip(self.encoders_.items(), self._rngs(rng, 2), strict=True):
            nv, nc = enc.n_values, enc.n_codes
            cols[name] = enc.inverse_parts(values[:, v : v + nv], codes[:, c : c + nc], r)
            v, c = v + nv, c + nc
        return pd.DataFrame(cols, index=pd.RangeIndex(len(codes)), copy=False)

    # ------------------------------------------------------------------ layout helpers
    def category_index(self, column: str, value: Any) -> int:
        """Position of ``value`` within ``column``'s one-hot block (None = the missing slot).

        A category grouped into the "other" slot gives that slot. KeyError when the column is
        not categorical/boolean or the value has no slot.
        """
        self._check_fitted()
        enc = self.encoders_.get(column)
        if not isinstance(enc, CategoricalEncoder):
            raise KeyError(f"'{column}' is not a categorical or boolean column of this transformer")
        return enc.slot_index(value)

    # ------------------------------------------------------------------ state
    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Fitted state: a JSON-able dict and named arrays (``"<column>.<name>"``)."""
        self._check_fitted()
        columns = []
        arrays: dict[str, np.ndarray] = {}
        for name, enc in self.encoders_.items():
            state, arrs = enc.get_state()
            for key, arr in arrs.items():
                arrays[f"{name}.{key}"] = np.ascontiguousarray(arr)
            columns.append(
                {"column": name, "type": enc.spec.type, "state": state, "arrays": sorted(arrs)}
            )
        return {"format": STATE_FORMAT, "params": self._params(), "columns": columns}, arrays

    @classmethod
    def from_state(
        cls, schema: TableSchema, state: dict[str, Any], arrays: dict[str, np.ndarray]
    ) -> TableTransformer:
        """Rebuild a fitted transformer from ``to_state()``'s output and its schema."""
        fmt = state.get("format")
        if fmt != STATE_FORMAT:
            raise ModelFileError(
                f"Transformer state format {fmt!r} is not supported (this "
                f"synthgen reads format {STATE_FORMAT})."
            )
        self = cls(schema, **state.get("params", {}))
        specs = self._modelled()
        names = [c["column"] for c in state.get("columns", [])]
        if names != [s.name for s in specs]:
            raise ModelFileError(
                "Transformer state does not match the schema: it encodes "
                f"{names}, the schema models {[s.name for s in specs]}."
            )
        encoders: dict[str, ColumnEncoder] = {}
        for spec, col in zip(specs, state["columns"], strict=True):
            if col.get("type") != spec.type:
                raise ModelFileError(
                    f"Transformer state encodes '{spec.name}' as "
                    f"{col.get('type')}, the schema says {spec.type}."
                )
            try:
                arrs = {key: arrays[f"{spec.name}.{key}"] for key in col["arrays"]}
            except KeyError as err:
                raise ModelFileError(f"Transformer arrays lack {err.args[0]!r}.") from None
            encoders[spec.name] = ColumnEncoder.from_state(spec, col["state"], arrs)
        self._set_encoders(encoders)
        return self

    def __repr__(self) -> str:
        fitted = f", output_dim_={self.output_dim_}" if hasattr(self, "output_dim_") else ""
        return (
            f"TableTransformer({self.schema.name!r}, numeric={self.numeric!r}, "
            f"seed={self.seed}{fitted})"
        )
