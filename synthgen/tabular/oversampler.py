"""``SyntheticOverSampler``: an imbalanced-learn compatible sampler built on conditional models.

``fit_resample(X, y)`` infers a schema from ``X`` plus ``y`` (``y`` is the target and the
condition column), fits a :class:`~synthgen.synthesizer.TabularSynthesizer`, and appends rows
generated under ``y = class`` for every class the sampling strategy asks for. The original rows
come first, unchanged, as imbalanced-learn's over-samplers do.

It subclasses ``imblearn.base.BaseSampler`` when imbalanced-learn is installed (so it is a
sampler to ``imblearn.pipeline.Pipeline``), and plain ``sklearn.base.BaseEstimator`` otherwise;
synthgen never needs imbalanced-learn to import.

Inputs: a pandas DataFrame (mixed types welcome: strings, numbers, booleans; dtypes are kept in
the output) or a 2-D numpy array (numeric; the output has the input's dtype). ``y``: any labels
(numbers, strings, booleans); the output labels have ``y``'s type.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from synthgen.errors import DataError, UsageError

try:  # imbalanced-learn is optional (the ``bench`` and ``test`` extras)
    from imblearn.base import BaseSampler as _Base
except ImportError:  # pragma: no cover - exercised only without imbalanced-learn
    _Base = BaseEstimator

__all__ = ["SyntheticOverSampler", "resolve_sampling_strategy"]

_TARGET_FALLBACK = "target"


def resolve_sampling_strategy(strategy: Any, y: np.ndarray) -> dict[Any, int]:
    """Rows to add per class, as imbalanced-learn's over-samplers read ``sampling_strategy``.

    ``"auto"``/``"not majority"``: every class but the majority up to the majority count;
    ``"minority"``: only the smallest class; ``"not minority"``; ``"all"``; a float ``r``
    (two classes only): the minority up to ``r * majority``; a dict ``{class: target_count}``
    (targets may not be below the current count); a callable ``y -> dict``.
    """
    counts = Counter(y.tolist())
    if len(counts) < 2:
        raise DataError(
            f"y holds {len(counts)} class(es); over-sampling needs at least two classes."
        )
    top = max(counts.values())
    majority = [c for c, n in counts.items() if n == top][0]
    least = min(counts.values())
    minority = [c for c, n in counts.items() if n == least][0]
    if callable(strategy):
        strategy = strategy(y)
    if isinstance(strategy, str):
        pick = {
            "auto": lambda c: c != majority,
            "not majority": lambda c: c != majority,
            "minority": lambda c: c == minority,
            "not minority": lambda c: c != minority,
            "all": lambda c: True,
        }.get(strategy)
        if pick is None:
            raise UsageError(
                f"sampling_strategy '{strategy}' is not one of auto, minority, not majority, "
                "not minority, all (or give a float or a dict {class: count})."
            )
        return {c: top - n for c, n in sorted(counts.items(), key=_order) if pick(c)}
    if isinstance(strategy, dict):
        out = {}
        for cls, want in strategy.items():
            if cls not in counts:
                raise UsageError(f"sampling_strategy names class {cls!r}, which is not in y.")
            if int(want) < counts[cls]:
                raise UsageError(
                    f"sampling_strategy asks for {want} rows of class {cls!r}, fewer than the "
                    f"{counts[cls]} it has; an over-sampler only adds rows."
                )
            out[cls] = int(want) - counts[cls]
        return out
    if isinstance(strategy, (float, int)) and not isinstance(strategy, bool):
        if len(counts) != 2:
            raise UsageError("A float sampling_strategy needs exactly two classes in y.")
        if not 0 < strategy <= 1:
            raise UsageError(f"A float sampling_strategy must be in (0, 1], got {strategy}.")
        want = int(strategy * top)
        if want < least:
            raise UsageError(
                f"sampling_strategy={strategy} asks for {want} minority rows, fewer than the "
                f"{least} there are; an over-sampler only adds rows."
            )
        return {minority: want - least}
    raise UsageError(
        f"sampling_strategy must be a string, a float, a dict or a callable, not "
        f"{type(strategy).__name__}."
    )


def _order(item: tuple[Any, int]) -> tuple[str, str]:
    return (type(item[0]).__name__, str(item[0]))


class SyntheticOverSampler(_Base):
    """Over-sample classes with rows made by a conditional VAE or GAN.

    Parameters: ``sampling_strategy`` (as imbalanced-learn: "auto", "minority", ..., a float or
    a dict ``{class: target_count}``); ``model`` (a table generator kind: "vae", "cgan", "ar"),
    ``epochs``, ``batch_size``, ``random_state`` (as scikit-learn; ``seed`` an alias),
    ``device``, ``model_options`` (passed to ``TabularSynthesizer``), ``threads``; ``progress``.

    Fitted attributes: ``sampling_strategy_`` ({class: rows added}), ``synthesizer_``,
    ``schema_``, ``n_features_in_`` and ``feature_names_in_`` (DataFrame input).
    """

    _sampling_type = "over-sampling"
    _parameter_constraints: dict = {}  # validated by synthgen itself (clear messages)

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        model: str = "vae",
        epochs: int | None = None,
        batch_size: int | None = None,
        random_state: int = 0,
        seed: int | None = None,
        device: str = "auto",
        model_options: dict[str, Any] | None = None,
        threads: int | None = None,
        progress: bool = False,
    ) -> None:
        self.sampling_strategy = sampling_strategy
        self.model = model
        self.epochs = epochs
        self.batch_size = batch_size
        self.random_state = random_state
        self.seed = seed
        self.device = device
        self.model_options = model_options
        self.threads = threads
        self.progress = progress

    # imbalanced-learn calls fit/fit_resample; both are overridden so mixed-type DataFrames
    # are not forced through a numeric array check.
    def fit(self, X: Any, y: Any) -> SyntheticOverSampler:
        """Check the inputs and work out the sampling strategy (``fit_resample`` fits models)."""
        _, labels = self._frame(X, y)
        self.sampling_strategy_ = resolve_sampling_strategy(self.sampling_strategy, labels)
        return self

    def fit_resample(self, X: Any, y: Any, **params: Any) -> tuple[Any, Any]:
        """Return ``X`` and ``y`` with synthetic rows of the classes to over-sample appended."""
        if params:
            raise UsageError(f"fit_resample takes no extra parameters, got {sorted(params)}.")
        return self._fit_resample(X, y)

    def _fit_resample(self, X: Any, y: Any) -> tuple[Any, Any]:
        from synthgen.tabular.infer import infer_schema
        from synthgen.tabular.io import validate_frame
        from synthgen.tabular.synthesizer import TabularSynthesizer

        frame, labels = self._frame(X, y)
        self.sampling_strategy_ = resolve_sampling_strategy(self.sampling_strategy, labels)
        target = self._target_name(frame.columns[:-1], y)
        frame.columns = [*frame.columns[:-1], target]
        text = {cls: _label_text(cls) for cls in self.sampling_strategy_}
        text.update({cls: _label_text(cls) for cls in pd.unique(labels)})
        if len(set(text.values())) != len(text):
            raise DataError("Two classes of y have the same text form; give distinct labels.")
        frame[target] = pd.Series([text[v] for v in labels], index=frame.index, dtype=object)
        schema = infer_schema(frame, target=target, name="oversampler")
        if schema.condition_columns != [target]:
            schema = schema.model_copy(update={"conditions": [target]})
        typed = validate_frame(frame, schema, source="X and y", strict_values=False)
        self.schema_ = schema
        self.synthesizer_ = TabularSynthesizer(
            self.model,
            epochs=self.epochs,
            batch_size=self.batch_size,
            random_state=self._seed(),
            device=self.device,
            progress=self.progress,
            model_options=self.model_options,
            threads=self.threads,
        ).fit(typed, schema)
        parts = []
        for i, (cls, n) in enumerate(self.sampling_strategy_.items()):
            if n <= 0:
                continue
            seed = int(np.random.SeedSequence([self._seed(), i]).generate_state(1)[0])
            parts.append(self.synthesizer_.sample(n, {target: text[cls]}, seed=seed))
            parts[-1]["__class__"] = [cls] * n
        return self._outputs(X, y, parts, target)

    # ------------------------------------------------------------------ helpers
    def _seed(self) -> int:
        """``random_state``, or ``seed`` where only the alias was given."""
        return int(self.seed if self.seed is not None else self.random_state)

    def _frame(self, X: Any, y: Any) -> tuple[pd.DataFrame, np.ndarray]:
        labels = np.asarray(y.to_numpy() if isinstance(y, (pd.Series, pd.DataFrame)) else y)
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels.ravel()
        if labels.ndim != 1:
            raise DataError(f"y must be one column of class labels, got shape {labels.shape}.")
        if isinstance(X, pd.DataFrame):
            frame = X.copy()
            frame.columns = [str(c) for c in frame.columns]
            self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        else:
            arr = np.asarray(X)
            self.__dict__.pop("feature_names_in_", None)  # from an earlier DataFrame fit
            if arr.ndim != 2:
                raise DataError(f"X must be 2-D (rows x features), got shape {arr.shape}.")
            frame = pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])
        if len(frame) != len(labels):
            raise DataError(f"X has {len(frame)} rows but y has {len(labels)} labels.")
        if pd.isna(pd.Series(labels)).any():
            raise DataError("y holds missing labels; every row needs a class.")
        self.n_features_in_ = frame.shape[1]
        frame = frame.reset_index(drop=True)
        frame["__y__"] = labels
        return frame, labels

    @staticmethod
    def _target_name(features: Any, y: Any) -> str:
        name = getattr(y, "name", None)
        names = set(map(str, features))
        if isinstance(name, str) and name and name not in names:
            return name
        candidate = _TARGET_FALLBACK
        while candidate in names:
            candidate = f"_{candidate}"
        return candidate

    def _outputs(self, X: Any, y: Any, parts: list[pd.DataFrame], target: str) -> tuple[Any, Any]:
        if isinstance(X, pd.DataFrame):
            cols = list(X.columns)
            new = [p.drop(columns=[target, "__class__"]) for p in parts]
            extra = [_cast_like(p, X, cols) for p in new]
            X_out = pd.concat([X, *extra], ignore_index=True) if extra else X.copy()
        else:
            arr = np.asarray(X)
            blocks = [p.drop(columns=[target, "__class__"]).to_numpy() for p in parts]
            blocks = [b.astype(arr.dtype) if arr.dtype != object else b for b in blocks]
            X_out = np.concatenate([arr, *blocks]) if blocks else arr.copy()
        new_y = [c for p in parts for c in p["__class__"]]
        y_arr = np.asarray(y.to_numpy() if isinstance(y, (pd.Series, pd.DataFrame)) else y)
        y_arr = y_arr.ravel() if y_arr.ndim == 2 else y_arr
        y_all = np.concatenate([y_arr, np.asarray(new_y, dtype=y_arr.dtype)])
        if isinstance(y, pd.Series):
            return X_out, pd.Series(y_all, name=y.name, dtype=y.dtype)
        if isinstance(y, pd.DataFrame):
            return X_out, pd.DataFrame({y.columns[0]: y_all}).astype(y.dtypes.iloc[0])
        return X_out, y_all


def _label_text(value: Any) -> str:
    from synthgen.schema import category_label

    if isinstance(value, np.generic):
        value = value.item()
    return category_label(value) if isinstance(value, (int, float, bool, str)) else str(value)


def _cast_like(new: pd.DataFrame, like: pd.DataFrame, cols: list[Any]) -> pd.DataFrame:
    """Synthetic rows with the original frame's column names and dtypes."""
    out = new.copy()
    out.columns = cols
    for col in cols:
        dtype = like[col].dtype
        try:
            if pd.api.types.is_integer_dtype(dtype) and not isinstance(dtype, pd.Int64Dtype):
                values = pd.to_numeric(out[col]).astype("float64")
                if values.isna().any():  # a nullable column: keep NaN, widen to float
                    out[col] = values
                    continue
                out[col] = values.round().astype(dtype)
            elif pd.api.types.is_bool_dtype(dtype) and dtype == np.bool_:
                out[col] = out[col].astype(bool)
            elif pd.api.types.is_object_dtype(dtype):
                out[col] = out[col].astype(object)
            else:
                out[col] = out[col].astype(dtype)
        except (TypeError, ValueError):
            out[col] = out[col].astype(object)
    return out
