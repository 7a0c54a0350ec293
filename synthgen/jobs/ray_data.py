"""Pipelines that stay in Ray (``synthgen[ray]``): synthetic rows as a ``ray.data.Dataset``,
block-seeded like every synthgen output, and anomaly scores over a ``ray.data.Dataset``.

Model files travel to the workers as bytes (so a cluster's workers need not see the driver's
disk) and are loaded once per worker process. Call these with Ray initialised (``ray.init``),
or inside :func:`synthgen.jobs.engines.ray_session`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthgen.core.blocks import block_length, n_blocks
from synthgen.core.estimator import check_seed
from synthgen.errors import UsageError, param
from synthgen.jobs.engines import import_ray
from synthgen.jobs.kinds import file_entry, load_estimator

_LOADED: dict[str, Any] = {}  # model sha256 -> estimator, per worker process


def _estimator(blob: bytes, role: str) -> Any:
    """The estimator a model file's bytes hold, loaded once per process."""
    key = hashlib.sha256(blob).hexdigest()
    if key not in _LOADED:
        warnings.simplefilter("ignore")
        import torch

        torch.set_num_threads(1)
        fd, name = tempfile.mkstemp(suffix=".synth")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(blob)
            _LOADED[key] = load_estimator(name, role, device="cpu")
        finally:
            os.unlink(name)
    return _LOADED[key]


def quiet_ray_data(ray: Any) -> None:
    """No progress bars or execution logs from Ray Data on the terminal; rows kept in order."""
    with warnings.catch_warnings():  # Ray Data's own deprecation notices
        warnings.simplefilter("ignore")
        from ray.data import DataContext

        ctx = DataContext.get_current()
        ctx.enable_progress_bars = False
        ctx.execution_options.preserve_order = True
    for name in ("ray.data", "ray"):
        logging.getLogger(name).setLevel(logging.ERROR)


def synthetic_dataset(
    model: str | Path,
    rows: int,
    *,
    conditions: dict[str, str] | None = None,
    seed: int | None = None,
) -> Any:
    """A ``ray.data.Dataset`` of exactly ``rows`` synthetic rows from a table model file, in
    order: one Ray task makes each block of ``block_rows`` rows, the same rows ``synthgen
    generate`` writes for this model, seed and conditions. Bad conditions are refused now."""
    from synthgen.jobs.generate import _check_rows

    _check_rows(rows)
    ray = import_ray()
    if file_entry(model, "generator").data != "table":
        raise UsageError("synthetic_dataset makes table rows; this is an image model.")
    synth = load_estimator(model, "generator", device="cpu")
    seed = synth.random_seed if seed is None else check_seed(seed, "seed")
    conditions = dict(conditions or {})
    synth.check_conditions(conditions, seed=seed)
    quiet_ray_data(ray)
    blocks = n_blocks(rows, synth.block_rows)
    kwargs = {
        "blob": Path(model).read_bytes(),
        "rows": rows,
        "conditions": conditions,
        "seed": seed,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        index = ray.data.range(blocks, override_num_blocks=blocks)
    return index.map_batches(
        _make_blocks, batch_size=1, batch_format="numpy", fn_kwargs=kwargs, num_cpus=1
    )


def _make_blocks(batch: dict[str, np.ndarray], *, blob, rows, conditions, seed) -> pd.DataFrame:
    synth = _estimator(blob, "generator")
    frames = []
    for index in batch["id"].tolist():
        want = block_length(rows, synth.block_rows, index)
        chunks = synth.iter_sample(
            rows, conditions, seed=seed, chunk_rows=want, blocks=(index, index + 1)
        )
        frames.extend(chunks)
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def score_dataset(
    dataset: Any,
    detector: str | Path,
    *,
    contamination: float | None = None,
    threshold: float | None = None,
    only_flagged: bool = False,
    batch_size: int = 50_000,
) -> Any:
    """``dataset`` scored by a table detector file with Ray Data ``map_batches``: its rows plus
    ``anomaly_score``, ``is_anomaly``, ``top_columns`` and the signals behind the score, the
    same values a single process gives (``synthgen anomalies score``), without ``input_row``
    (a batch does not know its place in the dataset). ``only_flagged`` keeps flagged rows."""
    ray = import_ray()
    det = load_estimator(detector, "detector", device="cpu")
    if det.data != "table":
        raise UsageError(
            "score_dataset scores table rows; this is an image detector.", param="model_path"
        )
    if isinstance(batch_size, bool) or int(batch_size) < 1:
        raise UsageError(f"{param('batch_size')} must be at least 1.", param="batch_size")
    t, _ = det.resolve_threshold(contamination=contamination, threshold=threshold)
    quiet_ray_data(ray)
    kwargs = {
        "blob": Path(detector).read_bytes(),
        "threshold": float(t),
        "only_flagged": bool(only_flagged),
    }
    return dataset.map_batches(
        _score_batch, batch_size=int(batch_size), batch_format="pandas", fn_kwargs=kwargs
    )


def _score_batch(batch: pd.DataFrame, *, blob, threshold, only_flagged) -> pd.DataFrame:
    from synthgen.core.screening import FLAG
    from synthgen.tabular.io import validate_frame

    det = _estimator(blob, "detector")
    schema = det.schema_
    typed = validate_frame(
        batch.reset_index(drop=True),
        schema,
        source="Dataset batch",
        strict_values=False,
        allow_extra=True,
    )
    extra = [c for c in batch.columns if c not in set(schema.column_names)]
    if extra:
        typed = pd.concat([typed, batch[extra].reset_index(drop=True)], axis=1)
    scored = det.score_frame(typed, threshold)
    if only_flagged:
        scored = scored[scored[FLAG].to_numpy(dtype=bool)].reset_index(drop=True)
    return scored


def score_parquet_to_folder(
    data: str | Path,
    model: str | Path,
    output: str | Path,
    *,
    contamination: float | None = None,
    threshold: float | None = None,
    only_flagged: bool = False,
    overwrite: bool = False,
    ray_address: str | None = None,
) -> dict[str, Any]:
    """``synthgen anomalies score --engine ray``: a Parquet file or dataset folder scored on
    Ray into the Parquet dataset folder ``output`` (written beside it and renamed into place
    when complete). Returns rows, flagged, threshold and its rule."""
    import pyarrow.dataset as pads

    from synthgen.core.screening import FLAG
    from synthgen.errors import DataError
    from synthgen.jobs.engines import check_engine, ray_session
    from synthgen.outputs import atomic_output, check_output

    check_engine("ray", ray_address)
    data = Path(data)
    try:
        rows = pads.dataset(str(data), format="parquet", exclude_invalid_files=False).count_rows()
    except (OSError, ValueError) as err:  # pyarrow's errors are OSError/ValueError subclasses
        raise DataError(
            f"Data {data} is not a Parquet file or a folder of Parquet files ({err}); "
            "--engine ray reads Parquet."
        ) from None
    det = load_estimator(model, "detector", device="cpu")
    t, rule = det.resolve_threshold(contamination=contamination, threshold=threshold)
    ins = [data, Path(model)]
    check_output(output, overwrite=overwrite, inputs=ins, directory=True)
    with ray_session(ray_address) as ray, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the library's notices, not the user's business
        quiet_ray_data(ray)
        dataset = ray.data.read_parquet(str(data), file_extensions=["parquet"])
        scored = score_dataset(dataset, model, threshold=t, only_flagged=only_flagged)
        with atomic_output(output, overwrite=overwrite, inputs=ins, directory=True) as tmp:
            try:
                scored.write_parquet(str(tmp))
            except Exception as err:  # a worker's error arrives wrapped in Ray's
                raise _unwrapped(err) from None
    import pyarrow.compute as pc

    flags = pads.dataset(str(output), format="parquet").to_table(columns=[FLAG]).column(FLAG)
    flagged = int(pc.sum(flags).as_py() or 0)
    return {"rows": rows, "flagged": flagged, "threshold": t, "rule": rule}


def _unwrapped(err: BaseException) -> BaseException:
    """The SynthgenError behind a Ray error (walking causes), else a GenerationError."""
    from synthgen.errors import GenerationError, SynthgenError

    seen: BaseException | None = err
    for _ in range(20):
        if seen is None:
            break
        cause = getattr(seen, "cause", None)
        for candidate in (cause, seen):
            if isinstance(candidate, SynthgenError) and type(candidate).__module__.startswith(
                "synthgen"
            ):
                return candidate
        seen = cause or seen.__cause__ or seen.__context__
    text = str(err).strip().splitlines()
    return GenerationError(f"Ray could not score the dataset: {text[0] if text else err!r}")
