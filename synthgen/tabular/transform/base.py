"""Spans and the per-column encoder base class.

A fitted encoder maps one typed-frame column to a block of float columns laid out as a list of
:class:`Span` s (what model heads read), and maps such a block back to a typed column. The public
methods (``fit``/``transform``/``inverse_transform``/``get_state``/``from_state``) do the checks
and bookkeeping; subclasses implement ``_fit``/``_transform``/``_inverse_parts`` and
``_get_state``/``_set_state`` (the pattern of RDT's ``BaseTransformer``).

Fitted state is a JSON-able dict plus named numpy arrays, never a pickle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from synthgen.errors import ModelFileError
from synthgen.schema import ColumnSpec

Activation = Literal["tanh", "linear", "softmax"]
Role = Literal["value", "mode", "category", "missing"]
ACTIVATIONS = ("tanh", "linear", "softmax")
ROLES = ("value", "mode", "category", "missing")


@dataclass(frozen=True)
class Span:
    """A contiguous block of the transformed output that one model head produces.

    ``activation`` is what the head applies: ``tanh`` (a scalar in [-1, 1]), ``linear`` (an
    unbounded scalar) or ``softmax`` (a one-hot block). ``role`` says what the block encodes:
    ``value`` (a scalar), ``mode`` (which mixture mode a scalar is normalised by), ``category``
    (a categorical/boolean one-hot) or ``missing`` (a numeric column's [present, missing] one-hot).
    """

    column: str
    width: int
    activation: Activation
    role: Role

    def __post_init__(self) -> None:
        if self.width < 1:
            raise ValueError(f"span of '{self.column}' has width {self.width}; it must be >= 1")
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"span activation must be one of {ACTIVATIONS}, not {self.activation!r}"
            )
        if self.role not in ROLES:
            raise ValueError(f"span role must be one of {ROLES}, not {self.role!r}")
        if self.activation == "softmax" and self.role == "value":
            raise ValueError("a 'value' span is a scalar; it cannot be softmax")
        if self.activation != "softmax" and self.role != "value":
            raise ValueError(f"a '{self.role}' span is a one-hot block; it must be softmax")


def argmax_rows(block: np.ndarray) -> np.ndarray:
    """Per-row argmax of a softmax block (works on logits or probabilities alike)."""
    return np.asarray(block).argmax(axis=1)


def split_spans(block: np.ndarray, spans: list[Span]) -> tuple[np.ndarray, np.ndarray]:
    """A (n, width) block as (values, codes): the scalar spans' columns side by side, and the
    argmax slot of every softmax span (one column each)."""
    values, codes, pos = [], [], 0
    for span in spans:
        part = block[:, pos : pos + span.width]
        if span.activation == "softmax":
            codes.append(argmax_rows(part))
        else:
            values.append(part)
        pos += span.width
    n = len(block)
    return (
        np.concatenate(values, axis=1) if values else np.zeros((n, 0)),
        np.stack(codes, axis=1) if codes else np.zeros((n, 0), dtype=np.int64),
    )


def one_hot(index: np.ndarray, width: int) -> np.ndarray:
    """float32 one-hot rows; a negative index gives an all-zero row."""
    out = np.zeros((len(index), width), dtype=np.float32)
    ok = index >= 0
    out[np.flatnonzero(ok), index[ok]] = 1.0
    return out


class ColumnEncoder:
    """Base class of the per-column encoders.

    Subclasses set ``kind`` (the name recorded in the state), implement the private hooks, and
    set ``self._spans`` in ``_fit``/``_set_state``. Constructor keywords are the encoder's
    parameters; they are stored in the state as they are.
    """

    kind: ClassVar[str] = ""
    _registry: ClassVar[dict[str, type[ColumnEncoder]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            ColumnEncoder._registry[cls.kind] = cls

    def __init__(self, spec: ColumnSpec, **params: Any) -> None:
        self.spec = spec
        self.params = dict(params)
        self._spans: list[Span] = []
        self.fitted = False

    # ------------------------------------------------------------------ public API
    @property
    def column(self) -> str:
        return self.spec.name

    @property
    def spans(self) -> list[Span]:
        self._check_fitted()
        return list(self._spans)

    @property
    def width(self) -> int:
        return sum(s.width for s in self.spans)

    def fit(self, values: pd.Series, rng: np.random.Generator | None = None) -> ColumnEncoder:
        """Learn the encoding from one column of a typed frame; returns self."""
        self._fit(pd.Series(values).reset_index(drop=True), _rng(rng))
        self.fitted = True
        return self

    def transform(self, values: pd.Series, rng: np.random.Generator | None = None) -> np.ndarray:
        """Encode a column: a float32 array of shape (n, width)."""
        self._check_fitted()
        out = self._transform(pd.Series(values).reset_index(drop=True), _rng(rng))
        out = np.asarray(out, dtype=np.float32)
        if out.shape != (len(values), self.width):  # pragma: no cover - internal invariant
            raise AssertionError(f"{type(self).__name__} returned shape {out.shape}")
        return out

    @property
    def n_values(self) -> int:
        """Columns of scalar values this encoder decodes (the widths of its scalar spans)."""
        return sum(s.width for s in self.spans if s.activation != "softmax")

    @property
    def n_codes(self) -> int:
        """Slots this encoder decodes: one per softmax span."""
        return sum(s.activation == "softmax" for s in self.spans)

    def inverse_transform(
        self, block: np.ndarray, rng: np.random.Generator | None = None
    ) -> pd.Series:
        """Decode a (n, width) block (softmax parts may be logits or probabilities)."""
        self._check_fitted()
        block = np.asarray(block, dtype=np.float64)
        if block.ndim != 2 or block.shape[1] != self.width:
            raise ValueError(
                f"column '{self.column}' decodes blocks of width {self.width}, got shape "
                f"{block.shape}"
            )
        values, codes = split_spans(block, self._spans)
        out = self._inverse_parts(values, codes, _rng(rng))
        return pd.Series(out, name=self.column)

    def inverse_parts(
        self, values: np.ndarray, codes: np.ndarray, rng: np.random.Generator | None = None
    ) -> Any:
        """Decode spans already split: ``values`` (n, n_values) and the slot of every softmax
        span ``codes`` (n, n_codes). Returns the column's typed array (what generation uses:
        no one-hot block is needed)."""
        self._check_fitted()
        return self._inverse_parts(values, codes, _rng(rng))

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Fitted state as (JSON-able dict, named arrays). Array names are local to the column."""
        self._check_fitted()
        state, arrays = self._get_state()
        return {"encoder": self.kind, "params": dict(self.params), **state}, arrays

    @classmethod
    def from_state(
        cls, spec: ColumnSpec, state: dict[str, Any], arrays: dict[str, np.ndarray]
    ) -> ColumnEncoder:
        """Rebuild a fitted encoder (of the class recorded in ``state``) without refitting."""
        kind = state.get("encoder")
        sub = ColumnEncoder._registry.get(kind)  # type: ignore[arg-type]
        if sub is None:
            raise ModelFileError(
                f"Transformer state of column '{spec.name}' names an unknown encoder {kind!r}."
            )
        if cls is not ColumnEncoder and not issubclass(sub, cls):
            raise ModelFileError(
                f"State of column '{spec.name}' is a {kind!r} encoder, not a {cls.kind!r} one."
            )
        enc = sub(spec, **state.get("params", {}))
        try:
            enc._set_state(state, arrays)
        except KeyError as err:
            raise ModelFileError(
                f"Transformer state of column '{spec.name}' lacks {err.args[0]!r}."
            ) from None
        enc.fitted = True
        return enc

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({self.column!r}{', ' if params else ''}{params})"

    # ------------------------------------------------------------------ hooks
    def _fit(self, values: pd.Series, rng: np.random.Generator) -> None:
        raise NotImplementedError

    def _transform(self, values: pd.Series, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def _inverse_parts(
        self, values: np.ndarray, codes: np.ndarray, rng: np.random.Generator
    ) -> Any:
        raise NotImplementedError

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        raise NotImplementedError

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if not self.fitted:
            raise RuntimeError(f"{type(self).__name__} of '{self.column}' is not fitted yet")


def _rng(rng: np.random.Generator | None) -> np.random.Generator:
    return rng if rng is not None else np.random.default_rng(0)
