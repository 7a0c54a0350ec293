"""The FastAPI application: model listing, streamed generation, anomaly scoring.

Every error is JSON ``{"error": CODE, "detail": ONE PARAGRAPH}``. Bad input never gives a 5xx:
unknown names 404, bad bodies/conditions/data 422, oversize bodies 413, an upload that does not
arrive in time 408, an unknown upload format or encoding 415, busy server 429, a missing or
wrong token 401. A 500 means a broken model file or a bug on the server's side. Slow and idle
connections are handled below the app (service/protocol.py), uploads in service/uploads.py.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from synthgen._version import __version__
from synthgen.errors import ModelFileError, SynthgenError
from synthgen.jobs.generate import MEDIA_TYPES
from synthgen.schema import category_label
from synthgen.service.docs import add_offline_docs
from synthgen.service.limits import BodyLimitMiddleware, Limits, SlotLimiter
from synthgen.service.registry import NAME_PATTERN, ModelRegistry, NotFound, WrongKind
from synthgen.service.streams import (
    Stream,
    file_body,
    generation_body,
    once,
    score_upload,
    start_generation,
)
from synthgen.service.uploads import Upload, check_upload_headers

log = logging.getLogger("synthgen.service")

Format = Literal["csv", "jsonl", "parquet"]
_SUFFIX = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}
_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
}
_SCORE_CHUNK_ROWS = 50_000

ModelName = PathParam(
    ..., pattern=NAME_PATTERN, description="Model file name in MODELS_DIR, without '.synth'."
)


class GenerateRequest(BaseModel):
    """What to generate."""

    model_config = ConfigDict(extra="forbid")

    rows: int = Field(..., ge=1, description="Exactly this many rows are returned.")
    conditions: dict[str, str | int | float | bool] = Field(
        default_factory=dict,
        description="COLUMN -> VALUE every row must satisfy (categorical, boolean, integer).",
    )
    seed: int | None = Field(
        None,
        ge=0,
        le=2**63 - 1,
        description="Random seed [default: a fresh one per request, echoed in the "
        "X-Synthgen-Seed header so a request can be repeated].",
    )
    format: Format = Field("csv", description="csv, jsonl or parquet.")


class _Error(BaseModel):
    error: str
    detail: str


_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": _Error, "description": name.replace("_", " ")}
    for code, name in _STATUS_CODES.items()
    if code in (401, 404, 413, 422, 429)
}


def _condition_text(value: str | int | float | bool) -> str:
    return value if isinstance(value, str) else category_label(value)


def _problem_text(errors: list[dict[str, Any]]) -> tuple[str, list[dict[str, str]]]:
    clean = []
    for e in errors:
        loc = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "request"
        clean.append({"field": loc, "problem": str(e.get("msg", "invalid"))})
    shown = "; ".join(f"{c['field']}: {c['problem']}" for c in clean[:10])
    more = f"; and {len(clean) - 10} more" if len(clean) > 10 else ""
    return f"The request is not valid: {shown}{more}.", clean


def create_app(
    models_dir: str | Path,
    *,
    token: str | None = None,
    limits: Limits | None = None,
    device: str = "auto",
) -> FastAPI:
    """The HTTP API over the model files in ``models_dir``.

    ``token``: when set, every endpoint except /health and the API docs needs
    ``Authorization: Bearer TOKEN`` (checked in constant time).
    """
    limits = limits or Limits()
    registry = ModelRegistry(models_dir, device=device)
    slots = SlotLimiter(limits.max_concurrent, limits.max_waiting)
    state = {"active": 0}
    bearer = HTTPBearer(auto_error=False, description="The token the server was started with.")
    expected = token.encode("utf-8") if token else None

    async def authorize(
        creds: HTTPAuthorizationCredentials | None = Depends(bearer),
    ) -> None:
        if expected is None:
            return
        given = creds.credentials.encode("utf-8") if creds is not None else b""
        if not hmac.compare_digest(given, expected):
            raise HTTPException(
                401,
                "A valid bearer token is required: send 'Authorization: Bearer TOKEN' with the "
                "token the server was started with.",
                headers={"WWW-Authenticate": "Bearer"},
            )

    guarded = [Depends(authorize)] if expected is not None else []
    app = FastAPI(
        docs_url=None,  # served offline by add_offline_docs below
        redoc_url=None,
        title="synthgen",
        version=__version__,
        description=(
            "Synthetic rows from fitted synthgen models, and anomaly scores from fitted "
            "detectors. Model names are the .synth files in the server's MODELS_DIR."
        ),
    )
    add_offline_docs(app)
    app.state.registry = registry
    app.state.limits = limits
    app.state.slots = slots
    app.add_middleware(
        BodyLimitMiddleware,
        upload_bytes=limits.max_upload_bytes,
        json_bytes=limits.max_json_kb * 1024,
    )

    # --- errors -------------------------------------------------------------------------------
    def _json(status: int, error: str, detail: str, **extra: Any) -> JSONResponse:
        headers = extra.pop("headers", None)
        return JSONResponse({"error": error, "detail": detail, **extra}, status, headers=headers)

    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        return _json(exc.status_code, code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail, problems = _problem_text(list(exc.errors()))
        return _json(422, "invalid_request", detail, problems=problems)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> JSONResponse:
        return _json(404, "not_found", exc.message)

    @app.exception_handler(WrongKind)
    async def _wrong_kind(request: Request, exc: WrongKind) -> JSONResponse:
        return _json(422, "wrong_model_kind", exc.message)

    @app.exception_handler(ModelFileError)
    async def _model_file(request: Request, exc: ModelFileError) -> JSONResponse:
        log.error("model file problem: %s", exc.message)
        return _json(500, "model_file_error", exc.message)

    @app.exception_handler(SynthgenError)
    async def _synthgen(request: Request, exc: SynthgenError) -> JSONResponse:
        return _json(422, type(exc).__name__.replace("Error", "").lower() + "_error", exc.message)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:  # pragma: no cover
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _json(500, "internal_error", "The server failed unexpectedly; see its log.")

    # --- slots ----------------------------------------------------------------------------------
    async def take_slot() -> Callable[[], None]:
        if not await slots.acquire(limits.queue_seconds):
            raise HTTPException(
                429,
                f"The server is running its maximum of {limits.max_concurrent} generation(s) "
                f"with {slots.waiting} more waiting, and this request got no turn within "
                f"{limits.queue_seconds:g} s (or the line of {limits.max_waiting} was full); "
                "retry later (the server's --max-concurrent and --queue-seconds raise the limits).",
                headers={"Retry-After": "1", "Connection": "close"},  # an upload is unread
            )
        state["active"] += 1

        def release() -> None:
            state["active"] -= 1
            slots.release()

        return once(release)

    # --- routes --------------------------------------------------------------------------------
    @app.get("/health", tags=["service"])
    async def health() -> dict[str, Any]:
        """Liveness: always 200 while the server runs (no token needed)."""
        return {
            "status": "ok",
            "version": __version__,
            "models_loaded": registry.loaded_count,
            "active_generations": state["active"],
        }

    @app.get("/models", tags=["models"], dependencies=guarded, responses=_ERRORS)
    async def list_models() -> dict[str, Any]:
        """Every model file in MODELS_DIR: name, kind, schema summary, training summary."""
        infos = await run_in_threadpool(registry.infos)
        return {"models": [i if isinstance(i, dict) else i.brief() for i in infos]}

    @app.get("/models/{name}", tags=["models"], dependencies=guarded, responses=_ERRORS)
    async def show_model(name: str = ModelName) -> dict[str, Any]:
        """One model: its full schema (with the columns it conditions on), training summary,
        file format version, size and weights hash."""
        info = await run_in_threadpool(registry.info, name)
        return info.detail()

    @app.post(
        "/models/{name}/generate",
        tags=["generation"],
        dependencies=guarded,
        response_class=StreamingResponse,
        responses={
            **_ERRORS,
            200: {
                "description": "Exactly `rows` rows, streamed in chunks (header "
                "X-Synthgen-Rows). A stream cut short means generation failed midway.",
                "content": {t: {} for t in MEDIA_TYPES.values()},
            },
        },
    )
    async def generate(
        request: Request, body: GenerateRequest, name: str = ModelName
    ) -> StreamingResponse:
        """Generate rows from a table model, streamed as CSV, JSONL or Parquet.

        Parquet streams as one row group per chunk and the footer at the end. The same seed
        gives the same bytes as `synthgen generate` (for up to `chunk_rows` rows, and beyond
        when the CLI uses the same chunk size)."""
        synth, _ = await run_in_threadpool(registry.get, name, "generator")
        if body.rows > limits.max_rows:
            raise HTTPException(
                422,
                f"rows={body.rows} is more than this server's limit of {limits.max_rows} rows "
                "per request (--max-rows); ask in several requests with different seeds.",
            )
        conditions = {k: _condition_text(v) for k, v in body.conditions.items()}
        if getattr(synth, "data", "table") != "table":
            raise WrongKind(
                f"Model '{name}' generates images; this endpoint streams table rows (generate "
                "images with synthgen generate)."
            )
        # a fresh seed per request unless one is given; echoed so that the rows can be repeated
        seed = secrets.randbelow(2**63) if body.seed is None else body.seed
        release = await take_slot()
        try:
            chunks, encoder, first = await run_in_threadpool(
                start_generation,
                synth,
                conditions,
                seed,
                body.rows,
                limits.chunk_rows,
                body.format,
            )
        except BaseException:
            release()
            raise
        stream = generation_body(request, chunks, encoder, first, name)
        return Stream(
            stream,
            on_close=release,
            media_type=MEDIA_TYPES[body.format],
            headers={
                "X-Synthgen-Rows": str(body.rows),
                "X-Synthgen-Seed": str(seed),
                "Content-Disposition": (
                    f'attachment; filename="{name}.synthetic.{_SUFFIX[body.format]}"'
                ),
            },
        )

    @app.post(
        "/detectors/{name}/score",
        tags=["anomalies"],
        dependencies=guarded,
        response_class=StreamingResponse,
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": "The rows to score: CSV, JSONL or Parquet (by Content-Type).",
                "content": {
                    t: {"schema": {"type": "string", "format": "binary"}}
                    for t in ("text/csv", "application/x-ndjson", "application/vnd.apache.parquet")
                },
            }
        },
        responses={
            **_ERRORS,
            415: {"model": _Error, "description": "unsupported media type"},
            200: {
                "description": "The input rows plus anomaly_score, is_anomaly, top_columns, "
                "reconstruction_score, neighbour_score and input_row.",
                "content": {t: {} for t in MEDIA_TYPES.values()},
            },
        },
    )
    async def score(
        request: Request,
        name: str = ModelName,
        contamination: float | None = Query(
            None, gt=0, lt=1, description="Flag this share of the fitting data's scores."
        ),
        threshold: float | None = Query(None, ge=0, description="Flag scores above this."),
        format: Format | None = Query(None, description="Output format [default: the input's]."),
    ) -> StreamingResponse:
        """Score uploaded rows with an anomaly detector; returns the scored rows.

        The body is read only once a slot is free (bounded memory however many clients
        upload at once), straight to a temporary file (413 past --max-upload-mb)."""
        detector, lock = await run_in_threadpool(registry.get, name, "detector")
        check_upload_headers(request)
        release = await take_slot()
        upload: Upload | None = None
        try:
            upload = Upload()
            await upload.receive(request, limits.max_upload_bytes, limits.upload_seconds)
            try:
                out, rows, flagged, cut = await run_in_threadpool(
                    score_upload,
                    detector,
                    lock,
                    upload.path,
                    format or upload.fmt,
                    contamination,
                    threshold,
                )
            except Exception as err:  # noqa: BLE001 - worded as the upload's problem (422)
                raise upload.reword(err) from None
        finally:
            if upload is not None:
                upload.close()
            release()
        fmt_out = format or upload.fmt
        return Stream(
            file_body(out),
            on_close=out.close,
            media_type=MEDIA_TYPES[fmt_out],
            headers={
                "X-Synthgen-Rows": str(rows),
                "X-Synthgen-Flagged": str(flagged),
                "X-Synthgen-Threshold": repr(cut),
            },
        )

    return app
