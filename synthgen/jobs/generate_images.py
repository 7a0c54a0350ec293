"""``synthgen generate`` for image models: exactly N images into an npz file or a PNG folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthgen.errors import UsageError
from synthgen.outputs import check_output

IMAGE_FORMATS = ("npz", "png")


def generate_images_to_file(
    model_path: str | Path,
    rows: int,
    output: str | Path,
    *,
    fmt: str | None = None,
    conditions: dict[str, str] | None = None,
    seed: int | None = None,
    device: str = "auto",
    overwrite: bool = False,
    chunk_rows: int = 1000,
    progress: bool = True,
) -> dict[str, Any]:
    """Generate exactly ``rows`` images into an npz file or a PNG folder (atomic, streamed)."""
    from rich.progress import Progress

    from synthgen.images.io.read import ImageWriter, image_format
    from synthgen.images.synthesizer import ImageSynthesizer

    if rows <= 0:
        raise UsageError(f"--rows must be a positive number of images, got {rows}.")
    if fmt is not None and fmt not in IMAGE_FORMATS:
        raise UsageError(f"--format {fmt} does not apply to images; use npz or png.")
    fmt = image_format(output, fmt)
    check_output(output, overwrite=overwrite, inputs=[model_path], directory=fmt == "png")
    synth = ImageSynthesizer.load(model_path, device=device)
    chunks = synth.iter_sample(rows, conditions, seed=seed, chunk_rows=chunk_rows)  # checks now
    with (
        ImageWriter(
            output, synth.schema_, fmt=fmt, overwrite=overwrite, inputs=[model_path]
        ) as writer,
        Progress(disable=not progress) as bar,
    ):
        task = bar.add_task("generating", total=rows)
        for chunk in chunks:
            writer.write(chunk)
            bar.advance(task, len(chunk))
    return {"rows": rows, "output": str(output), "format": fmt}
