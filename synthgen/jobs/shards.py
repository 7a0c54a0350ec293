"""Sharded generation: a Parquet dataset of exactly N block-seeded rows, one file per shard,
and a manifest written last.

``OUT_DIR/part-NNNNN.parquet`` holds shard ``NNNNN`` (whole blocks, each file written
atomically, the run's identity in its Parquet metadata); ``OUT_DIR/_manifest.json`` (the
leading underscore keeps Parquet readers off it) holds the model's sha256, the seed, N, the
block size, the conditions and each file's rows and sha256. The folder is complete only once
the manifest is there. Running the same command again resumes: shards that are complete and
match are kept, the rest are made again, and the rows never depend on how many shards, workers
or runs made them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from synthgen._version import __version__
from synthgen.core.blocks import plan_shards
from synthgen.core.estimator import check_seed
from synthgen.core.progress import phase
from synthgen.errors import OutputError, UsageError, param
from synthgen.jobs.engines import check_engine, run_local, run_ray
from synthgen.jobs.kinds import file_entry, load_estimator
from synthgen.jobs.shard_task import IDENTITY_KEY, SHARD_KEY, shard_name
from synthgen.outputs import atomic_output, file_sha256, make_folder
from synthgen.tabular.checks import OutputValidator

MANIFEST = "_manifest.json"
FORMAT = "synthgen-parquet-shards/1"
MAX_MANIFEST_BYTES = 64 << 20


def generate_shards(
    model_path: str | Path,
    rows: int,
    out_dir: str | Path,
    *,
    shards: int,
    engine: str = "local",
    ray_address: str | None = None,
    conditions: dict[str, str] | None = None,
    seed: int | None = None,
    workers: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
    validate: bool = True,
    chunk_rows: int = 100_000,
) -> dict[str, Any]:
    """Write (or resume) the sharded dataset ``out_dir`` (see the module docstring); returns
    the manifest."""
    from synthgen.jobs.generate import _check_rows

    _check_rows(rows)
    check_engine(engine, ray_address)
    if workers is not None and (isinstance(workers, bool) or int(workers) < 1):
        raise UsageError(f"{param('workers')} must be at least 1.", param="workers")
    if file_entry(model_path, "generator").data != "table":
        raise UsageError(
            f"{param('shards')} writes a Parquet dataset of table rows; an image model writes "
            "one npz file or png folder (leave out --shards).",
            param="shards",
        )
    conditions = dict(sorted((conditions or {}).items()))
    synth = load_estimator(model_path, "generator", device="cpu")
    seed = synth.random_seed if seed is None else check_seed(seed, "seed")
    synth.check_conditions(conditions, seed=seed)  # unknown or impossible: refused now
    plan = plan_shards(rows, shards, synth.block_rows)
    identity = {
        "format": FORMAT,
        "model_sha256": file_sha256(model_path),
        "seed": seed,
        "rows": rows,
        "block_rows": synth.block_rows,
        "shards": shards,
        "conditions": conditions,
    }
    out = _prepare(Path(out_dir), [Path(model_path)])
    kept = _survey(out, identity, plan, overwrite)
    manifest_path = out / MANIFEST
    pending = [s for s in plan if s.index not in kept]
    validator = OutputValidator(synth.schema_, rows, seed=0) if validate else None
    if not pending and manifest_path.exists():
        return json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest_path.unlink(missing_ok=True)  # incomplete until the new one is written
    tasks = [
        {
            "model": str(Path(model_path).resolve()),
            "model_sha256": identity["model_sha256"],
            "identity": json.dumps(identity, sort_keys=True),
            "out_dir": str(out.resolve()),
            "rows": rows,
            "seed": seed,
            "conditions": conditions,
            "index": s.index,
            "first_block": s.first_block,
            "end_block": s.end_block,
            "start": s.start,
            "stop": s.stop,
            "validate": validate,
            "chunk_rows": chunk_rows,
            "threads": 1,
        }
        for s in pending
    ]
    with phase(progress, "generating", rows) as advance:
        advance(sum(entry["rows"] for entry in kept.values()))

        def done(result: dict[str, Any]) -> None:
            if validator is not None:
                validator.absorb(result.pop("sample", None), result["rows"])
            result.pop("sample", None)
            advance(result["rows"])

        try:
            if engine == "ray":
                results = run_ray(tasks, ray_address, workers, done)
            else:
                results = run_local(tasks, workers, done)
        except BaseException:  # shards already written stay (complete) for a re-run
            _remove_temp_files(out)
            raise
        _remove_temp_files(out)  # a killed attempt's, when Ray ran its shard again
    files = sorted([*kept.values(), *results], key=lambda e: e["index"])
    validation = None
    if validator is not None:
        validator.seen += sum(entry["rows"] for entry in kept.values())
        if validator.samples:
            validation = validator.finish(out, overwrite=True)
        else:  # every shard was kept: each was checked in full when it was written
            validation = {"success": True, "rows_checked_in_full": rows, "gx_sample_rows": 0}
    manifest = {
        **identity,
        "model": Path(model_path).name,
        "synthgen_version": __version__,
        "files": [
            {k: e[k] for k in ("file", "index", "first_row", "rows", "sha256")} for e in files
        ],
        "validation": validation,
        "complete": True,
    }
    with atomic_output(manifest_path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def _prepare(out: Path, inputs: list[Path]) -> Path:
    if out.exists() and not out.is_dir():
        raise OutputError(f"Output {out} is a file; --shards writes a folder of Parquet files.")
    for src in inputs:
        if src.resolve().parent == out.resolve() and src.name.startswith("part-"):
            raise OutputError(f"Output folder {out} holds the input {src}; choose another.")
    return make_folder(out)


def _survey(out: Path, identity: dict, plan: list, overwrite: bool) -> dict[int, dict]:
    """The shards in ``out`` to keep: complete, of this run's identity, and (when a manifest
    is there) with the sha256 it lists. Another dataset's files are refused (removed with
    ``overwrite``); left-over temp files of a killed run are removed."""
    import pyarrow.parquet as pq

    _remove_temp_files(out)
    listed: dict[str, str] | None = None
    manifest_path = out / MANIFEST
    if manifest_path.exists():
        theirs = _read_manifest(manifest_path)
        if _identity_of(theirs) != identity:
            _foreign(out, manifest_path, theirs, identity, overwrite)
        else:
            listed = {f.get("file"): f.get("sha256") for f in theirs.get("files", [])}
    by_name = {shard_name(s.index): s for s in plan}
    kept: dict[int, dict] = {}
    for path in sorted(out.glob("part-*.parquet")):
        try:
            meta = pq.read_schema(path).metadata or {}
            theirs = json.loads(meta[IDENTITY_KEY])
            shard = json.loads(meta[SHARD_KEY])
            num_rows = pq.ParquetFile(path).metadata.num_rows
        except (OSError, KeyError, ValueError, TypeError) as err:
            if listed is not None and path.name in by_name:  # ours, damaged: made again
                continue
            if overwrite:
                path.unlink()
                continue
            raise OutputError(
                f"Output folder {out} holds {path.name}, which is not a shard synthgen wrote "
                f"({type(err).__name__}). Choose another folder, or pass {param('overwrite')} "
                "to replace it."
            ) from None
        if theirs != identity:
            _foreign(out, path, theirs, identity, overwrite)
            continue
        want = by_name.get(path.name)
        if want is None or shard.get("first_row") != want.start or num_rows != want.rows:
            continue  # pragma: no cover - the identity fixes the plan
        digest = file_sha256(path)
        if listed is not None and listed.get(path.name) != digest:
            continue  # changed since the manifest was written: made again
        kept[want.index] = {
            "file": path.name,
            "index": want.index,
            "first_row": want.start,
            "rows": num_rows,
            "sha256": digest,
        }
    return kept


def _remove_temp_files(out: Path) -> None:
    """Temp files of shards whose writer was stopped before it could remove them."""
    for stale in out.glob(".part-*.tmp"):
        stale.unlink(missing_ok=True)


def _read_manifest(path: Path) -> dict:
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise ValueError("too large")
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return data
    except (OSError, ValueError, RecursionError) as err:
        raise OutputError(
            f"Output folder {path.parent} has a manifest {path.name} synthgen cannot read "
            f"({err}). Choose another folder, or remove it."
        ) from None


def _identity_of(doc: dict) -> dict:
    keys = ("format", "model_sha256", "seed", "rows", "block_rows", "shards", "conditions")
    return {k: doc.get(k) for k in keys}


def _foreign(out: Path, path: Path, theirs: dict, ours: dict, overwrite: bool) -> None:
    """Refuse (or, with ``overwrite``, remove) a file of another dataset."""
    if overwrite:
        path.unlink(missing_ok=True)
        return
    if theirs.get("model_sha256") != ours["model_sha256"]:
        what = "another model's shards"
    else:
        diff = [
            f"{k} {theirs.get(k)!r} (now {ours[k]!r})"
            for k in ("seed", "rows", "block_rows", "shards", "conditions", "format")
            if theirs.get(k) != ours[k]
        ]
        what = "the shards of a run with other settings: " + ", ".join(diff)
    raise OutputError(
        f"Output folder {out} holds {what} ({path.name}). Choose another folder, or pass "
        f"{param('overwrite')} to replace them."
    )
