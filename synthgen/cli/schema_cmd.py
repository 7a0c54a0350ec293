"""``synthgen schema infer`` and ``synthgen schema validate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synthgen.cli.options import Overwrite

Silent = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        help="Print nothing on success (the exit code says it).",
        show_default=False,
    ),
]

schema_app = typer.Typer(
    rich_markup_mode=None,
    name="schema",
    help="Write a schema from data, or check a schema (and data against it).",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@schema_app.command("infer", short_help="Write a schema from data.")
def infer_cmd(
    data: Annotated[
        Path,
        typer.Argument(
            metavar="DATA",
            help="Table to read (.csv, .parquet/.pq, .jsonl/.ndjson), or images: an .npz file or "
            "a folder of PNG/JPEG files (one subfolder per label).",
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="SCHEMA",
            help="Write the schema here (YAML) instead of printing it.",
            show_default=False,
        ),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            metavar="COL",
            help="Target column (used by utility checks and --balance). Up to 20 integer codes "
            "(0/1, digits) become class labels.",
            show_default=False,
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name", metavar="NAME", help="Schema name (default: file stem).", show_default=False
        ),
    ] = None,
    max_categories: Annotated[
        int,
        typer.Option(
            "--max-categories",
            min=1,
            metavar="N",
            help="Larger category sets are flagged, not listed.",
        ),
    ] = 100,
    overwrite: Overwrite = False,
    quiet: Silent = False,
) -> None:
    """Infer a schema from DATA: column types, missing-value tokens, ranges, category sets;
    for images (an .npz file or a folder) the size, channels and label values.

    \b
    Examples:
      synthgen schema infer train.csv --target income -o inferred.yaml
      synthgen schema infer train.npz --name mnist -o inferred-mnist.yaml
    """
    from synthgen.jobs.schema import describe, infer_to_file, infer_to_text

    options = {"target": target, "name": name, "max_categories": max_categories}
    if output is None:
        _, text = infer_to_text(data, **options)
        typer.echo(text, nl=False)
        return
    schema = infer_to_file(data, output, overwrite=overwrite, **options)
    if not quiet:
        typer.echo(f"wrote {output}: {describe(schema)}", err=True)


@schema_app.command("validate", short_help="Check a schema, and data against it.")
def validate_cmd(
    schema_path: Annotated[
        Path, typer.Argument(metavar="SCHEMA", help="Schema file (YAML or JSON).")
    ],
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            metavar="DATA",
            help="Also check this table (a file or a folder of Parquet files; or image .npz / "
            "folder) against the schema.",
            show_default=False,
        ),
    ] = None,
    structure_only: Annotated[
        bool,
        typer.Option(
            "--structure-only",
            help="Check columns and types only; accept out-of-range values and unseen categories.",
            show_default=False,
        ),
    ] = False,
    quiet: Silent = False,
) -> None:
    """Check a schema file, and with --data a table against it; exit 1 listing every problem.

    \b
    Example:
      synthgen schema validate adult.yaml --data test.csv
    """
    from synthgen.jobs.schema import check_data, describe, schema_of

    if data is None:
        summary = f"ok {schema_path}: {describe(schema_of(schema_path))}"
    else:
        summary = check_data(schema_path, data, structure_only=structure_only)
    if not quiet:
        typer.echo(summary)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the synthgen app."""
    app.add_typer(schema_app, name="schema", short_help="Write a schema from data, or check one.")
