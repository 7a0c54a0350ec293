"""Schema jobs: infer a schema from a data file (table or image set), and check a schema and a
data file against it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from synthgen.errors import UsageError, param
from synthgen.images.data import label_values
from synthgen.images.infer import infer_image_schema
from synthgen.jobs.kinds import is_image_source, read_data, schema_of

__all__ = ["check_data", "describe", "infer_to_file", "infer_to_text", "schema_of"]
from synthgen.outputs import atomic_output, check_output
from synthgen.schema import ImageSchema, TableSchema, dump_schema
from synthgen.tabular.infer import infer_schema
from synthgen.tabular.infer_dataset import infer_dataset_schema
from synthgen.tabular.io import iter_table
from synthgen.tabular.io.dataset import ParquetDataset, is_parquet_dataset


def infer_to_text(
    data: str | Path,
    *,
    target: str | None = None,
    name: str | None = None,
    max_categories: int = 100,
) -> tuple[TableSchema | ImageSchema, str]:
    """The schema inferred from ``data`` (an .npz file or a folder: an image schema; a folder
    of Parquet files: a table schema inferred in one streaming pass), and its YAML text."""
    if is_parquet_dataset(data):  # a folder of Parquet files: one streaming pass
        schema: TableSchema | ImageSchema = infer_dataset_schema(
            data, target=target, name=name, max_categories=max_categories
        )
    elif is_image_source(data):
        if target is not None:
            raise UsageError(
                f"{param('target')} applies to tables; an image schema's label comes from the "
                "npz 'labels' array or from the label subfolders.",
                param="target",
            )
        schema = infer_image_schema(data, name=name)
    else:
        schema = infer_schema(data, target=target, name=name, max_categories=max_categories)
    return schema, dump_schema(schema)


def infer_to_file(
    data: str | Path,
    output: str | Path,
    *,
    target: str | None = None,
    name: str | None = None,
    max_categories: int = 100,
    overwrite: bool = False,
) -> TableSchema | ImageSchema:
    """Infer a schema from ``data`` and write it (YAML) atomically to ``output``."""
    check_output(output, overwrite=overwrite, inputs=[data])
    schema, text = infer_to_text(data, target=target, name=name, max_categories=max_categories)
    with atomic_output(output, overwrite=overwrite, inputs=[data]) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return schema


def check_data(schema_path: str | Path, data: str | Path, *, structure_only: bool = False) -> str:
    """Check ``data`` against the schema (every problem in one DataError); a one-line summary."""
    schema = schema_of(schema_path)
    if isinstance(schema, TableSchema) and is_parquet_dataset(data):
        dataset = ParquetDataset(data, schema)
        for piece in dataset.pieces:
            for _ in dataset.read_piece(piece, strict_values=not structure_only):
                pass
        return (
            f"ok {data} matches {schema_path}: {len(dataset)} rows in {len(dataset.files)} "
            f"files, {len(schema.columns)} columns"
        )
    if isinstance(schema, TableSchema):
        rows = 0
        for chunk in iter_table(data, schema, chunksize=250_000, strict_values=not structure_only):
            rows += len(chunk)
        return f"ok {data} matches {schema_path}: {rows} rows, {len(schema.columns)} columns"
    images = read_data(data, schema)
    h, w, c = images.shape
    text = f"ok {data} matches {schema_path}: {len(images)} images, {h}x{w}x{c}"
    if images.labels is not None and schema.label is not None:
        counts = np.bincount(images.labels, minlength=len(schema.label.values))
        per = ", ".join(f"{v}: {n}" for v, n in zip(label_values(schema), counts, strict=True))
        text += f"; {schema.label.name} counts {per}"
    return text


def describe(schema: TableSchema | ImageSchema) -> str:
    """A one-line summary of a schema."""
    if isinstance(schema, ImageSchema):
        img = schema.image
        labels = f", {len(schema.label.values)} labels" if schema.label else ""
        return f"image schema '{schema.name}', {img.height}x{img.width}x{img.channels}{labels}"
    counts = Counter(c.type for c in schema.columns)
    kinds = ", ".join(f"{n} {t}" for t, n in counts.items())
    extra = f", target {schema.target}" if schema.target else ""
    fresh = [c.name for c in schema.columns if c.pii or c.type == "id"]
    if fresh:
        extra += (
            f"; identifiers/PII generated fresh, never copied from the data: {', '.join(fresh)}"
        )
    fixed = [c.columns for c in schema.constraints if c.type == "fixed_combinations"]
    if fixed:
        shown = "; ".join(" + ".join(cols) for cols in fixed)
        extra += f"; fixed combinations (one column determines the other in the data): {shown}"
    return f"table schema '{schema.name}', {len(schema.columns)} columns ({kinds}){extra}"
