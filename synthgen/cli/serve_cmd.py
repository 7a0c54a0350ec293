"""``synthgen serve``: the HTTP API over a folder of model files."""

from __future__ import annotations

from pathlib import Path

import typer


def serve(
    models_dir: Path = typer.Argument(
        ..., metavar="MODELS_DIR", help="Folder of .synth model and detector files."
    ),
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        metavar="ADDRESS",
        help="Address to listen on; non-loopback needs --token-env.",
    ),
    port: int = typer.Option(8000, "--port", metavar="PORT", help="TCP port (0: any free port)."),
    token_env: str | None = typer.Option(
        None,
        "--token-env",
        metavar="VAR",
        help="Environment variable holding the bearer token clients send.",
    ),
    max_rows: int = typer.Option(
        1_000_000, "--max-rows", metavar="N", help="Most rows per request."
    ),
    max_upload_mb: float = typer.Option(
        32.0, "--max-upload-mb", metavar="MB", help="Largest scoring upload."
    ),
    max_concurrent: int = typer.Option(
        4, "--max-concurrent", metavar="N", help="Generations at once (more wait, then get 429)."
    ),
    queue_seconds: float = typer.Option(
        60.0,
        "--queue-seconds",
        metavar="SECONDS",
        help="How long a request waits for a free slot before 429.",
    ),
    chunk_rows: int = typer.Option(
        10_000,
        "--chunk-rows",
        metavar="N",
        help="Rows per streamed chunk (a client that leaves stops generation at the next chunk).",
    ),
    header_seconds: float = typer.Option(
        10.0,
        "--header-seconds",
        metavar="SECONDS",
        help="A connection's request headers must arrive within this time.",
    ),
    max_connections: int = typer.Option(
        1000,
        "--max-connections",
        metavar="N",
        help="Open connections at once (past it the longest idle one is closed).",
    ),
    upload_seconds: float = typer.Option(
        120.0,
        "--upload-seconds",
        metavar="SECONDS",
        help="A scoring upload must arrive within this time once its turn comes.",
    ),
    device: str = typer.Option(
        "auto", "--device", metavar="auto|cpu|cuda", help="Where to compute."
    ),
    log_level: str = typer.Option(
        "info", "--log-level", metavar="LEVEL", help="debug, info, warning, error."
    ),
) -> None:
    """Serve model files over HTTP (FastAPI; API docs at /docs, served offline).

    Loopback by default; another address needs a bearer token (--token-env VAR names the
    environment variable that holds it).

    \b
    Examples:
      synthgen serve models/ --port 8000
      export SYNTHGEN_TOKEN="$(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
      synthgen serve models/ --host 0.0.0.0 --port 8000 --token-env SYNTHGEN_TOKEN
    """
    from synthgen.service import Limits
    from synthgen.service import serve as run_server
    from synthgen.service.server import token_from_env

    limits = Limits(
        max_rows=max_rows,
        max_upload_mb=max_upload_mb,
        max_concurrent=max_concurrent,
        queue_seconds=queue_seconds,
        chunk_rows=chunk_rows,
        header_seconds=header_seconds,
        max_connections=max_connections,
        upload_seconds=upload_seconds,
    )
    run_server(
        models_dir,
        host=host,
        port=port,
        token=token_from_env(token_env),
        limits=limits,
        device=device,
        log_level=log_level,
    )


def register(app: typer.Typer) -> None:
    """Add serve to the synthgen app."""
    app.command("serve", short_help="Serve model files over HTTP.")(serve)
