"""``synthgen schema infer`` and ``synthgen schema validate``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer

schema_app = typer.Typer(
    name="schema",
    help="Write a schema from data, or check a schema (and data against it).",
    no_args_is_help=True,
)


@schema_app.command("infer")
def infer_cmd(
    data: Path = typer.Argument(
        ...,
        help="Table to read (.csv, .parquet/.pq, .jsonl/.ndjson), or images: an .npz file or a "
        "folder of PNG/JPEG files (one subfolder per label).",
    ),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Write the schema here (YAML) instead of printing it."
    ),
    target: str | None = typer.Option(
        None,
        "--target",
        help="Target column (used by utility checks and --balance). Up to 20 integer codes "
        "(0/1, digits) become class labels.",
    ),
    name: str | None = typer.Option(None, "--name", help="Schema name (default: file stem)."),
    max_categories: int = typer.Option(
        100, "--max-categories", min=1, help="Larger category sets are flagged, not listed."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
) -> None:
    """Infer a schema from DATA: column types, missing-value tokens, ranges, category sets;
    for images (an .npz file or a folder) the size, channels and label values.

    Example: synthgen schema infer ../shared/data/adult/train.csv --target income -o adult.yaml

    Example: synthgen schema infer ../shared/data/mnist10k/train.npz --name mnist -o mnist.yaml
    """
    from synthgen.outputs import atomic_output, check_output
    from synthgen.schema import dump_schema

    if output is not None:
        check_output(output, overwrite=overwrite, inputs=[data])
    if _is_image_source(data):
        from synthgen.errors import UsageError
        from synthgen.images.infer import infer_image_schema

        if target is not None:
            raise UsageError(
                "--target applies to tables; an image schema's label comes from the npz "
                "'labels' array or from the label subfolders."
            )
        schema = infer_image_schema(data, name=name)
    else:
        from synthgen.tabular.infer import infer_schema

        schema = infer_schema(data, target=target, name=name, max_categories=max_categories)
    text = dump_schema(schema)
    if output is None:
        typer.echo(text, nl=False)
        return
    with atomic_output(output, overwrite=overwrite, inputs=[data]) as tmp:
        tmp.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output}: {_summary(schema)}", err=True)


@schema_app.command("validate")
def validate_cmd(
    schema_path: Path = typer.Argument(..., metavar="SCHEMA", help="Schema file (YAML or JSON)."),
    data: Path | None = typer.Option(
        None, "--data", help="Also check this table (or image .npz / folder) against the schema."
    ),
    structure_only: bool = typer.Option(
        False,
        "--structure-only",
        help="Check columns and types only; accept out-of-range values and unseen categories.",
    ),
) -> None:
    """Check a schema file, and with --data a table against it; exit 1 listing every problem.

    Example: synthgen schema validate schemas/adult.yaml --data ../shared/data/adult/test.csv
    """
    from synthgen.schema import TableSchema, load_schema

    schema = load_schema(schema_path)
    if data is None:
        typer.echo(f"ok {schema_path}: {_summary(schema)}")
        return
    if isinstance(schema, TableSchema):
        from synthgen.tabular.io.read import iter_table

        rows = 0
        for chunk in iter_table(data, schema, chunksize=250_000, strict_values=not structure_only):
            rows += len(chunk)
        typer.echo(f"ok {data} matches {schema_path}: {rows} rows, {len(schema.columns)} columns")
    else:
        import numpy as np

        from synthgen.images.data import label_values
        from synthgen.images.io.read import read_images

        images = read_images(data, schema)
        h, w, c = images.shape
        text = f"ok {data} matches {schema_path}: {len(images)} images, {h}x{w}x{c}"
        if images.labels is not None:
            counts = np.bincount(images.labels, minlength=len(schema.label.values))
            per = ", ".join(f"{v}: {n}" for v, n in zip(label_values(schema), counts, strict=True))
            text += f"; {schema.label.name} counts {per}"
        typer.echo(text)


def _is_image_source(data: Path) -> bool:
    """An .npz file, or a folder (unless named like a table, which the table reader refuses)."""
    from synthgen.tabular.io.read import FORMATS

    suffix = data.suffix.lower()
    return suffix == ".npz" or (data.is_dir() and suffix not in FORMATS)


def _summary(schema) -> str:
    from synthgen.schema import TableSchema

    if not isinstance(schema, TableSchema):
        img = schema.image
        labels = f", {len(schema.label.values)} labels" if schema.label else ""
        return f"image schema '{schema.name}', {img.height}x{img.width}x{img.channels}{labels}"
    counts = Counter(c.type for c in schema.columns)
    kinds = ", ".join(f"{n} {t}" for t, n in counts.items())
    extra = f", target {schema.target}" if schema.target else ""
    return f"table schema '{schema.name}', {len(schema.columns)} columns ({kinds}){extra}"


def register(app: typer.Typer) -> None:
    """Add this module's commands to the synthgen app."""
    app.add_typer(schema_app, name="schema")
