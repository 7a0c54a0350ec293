"""Run the API with uvicorn, safely: loopback unless a bearer token is set."""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from pathlib import Path

from synthgen.errors import UsageError, param
from synthgen.service.limits import Limits

MIN_TOKEN_CHARS = 16
MAX_HEADER_BYTES = 16 * 1024  # request line and headers; larger is a 400


def _addresses(host: str, port: int) -> list[tuple]:
    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        raise UsageError(
            f"{param('host')} {host}: cannot resolve the address ({err.strerror})."
        ) from None


def is_loopback(host: str, port: int = 0) -> bool:
    """True when every address ``host`` resolves to is a loopback address."""
    addrs = _addresses(host, port)
    return bool(addrs) and all(ipaddress.ip_address(a[4][0]).is_loopback for a in addrs)


def token_from_env(var: str | None) -> str | None:
    """The token held in environment variable ``var`` (None when no variable is named)."""
    if var is None:
        return None
    value = os.environ.get(var, "")
    if not value.strip():
        raise UsageError(
            f"{param('token_env')} {var}: the environment variable {var} is not set or empty."
        )
    return value.strip()


def check_bind(host: str, port: int, token: str | None) -> None:
    """Refuse a non-loopback bind without a token, and tokens too short to be secret."""
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise UsageError(
            f"The bearer token must be at least {MIN_TOKEN_CHARS} characters long; generate "
            "one with e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`."
        )
    if token is None and not is_loopback(host, port):
        raise UsageError(
            f"Refusing to listen on {host}, which other machines can reach, without a bearer "
            f"token. Put a token in an environment variable and pass {param('token_env')} VAR, "
            "or keep "
            f"the default {param('host')} 127.0.0.1."
        )


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket (so a busy port is a clear error, not a uvicorn log line)."""
    if not 0 <= port <= 65535:
        raise UsageError(f"{param('port')} {port} is not a TCP port (0-65535).")
    family, kind, proto, _, addr = _addresses(host, port)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
    except OSError as err:
        sock.close()
        raise UsageError(f"Cannot listen on {host}:{port}: {err.strerror}.") from None
    sock.listen(128)  # protocol.BACKLOG
    sock.set_inheritable(True)
    return sock


def serve(
    models_dir: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None = None,
    limits: Limits | None = None,
    device: str = "auto",
    log_level: str = "info",
) -> None:
    """Serve ``models_dir`` until interrupted (SIGINT/SIGTERM shut down gracefully)."""
    import uvicorn

    from synthgen.service.app import create_app
    from synthgen.service.protocol import BACKLOG, connection_cap, guarded_protocol

    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        raise UsageError(f"MODELS_DIR {models_dir} does not exist or is not a folder.")
    check_bind(host, port, token)
    app = create_app(models_dir, token=token, limits=limits, device=device)
    sock = bind_socket(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    n = len(app.state.registry.names())
    print(
        f"synthgen serve: {n} model file(s) in {models_dir}; listening on "
        f"http://{shown}:{bound_port} ({'bearer token required' if token else 'no token'}); "
        f"API docs at /docs",
        file=sys.stderr,
        flush=True,
    )
    limits = app.state.limits
    config = uvicorn.Config(
        app,
        http=guarded_protocol(limits.header_seconds, connection_cap(limits.max_connections)),
        timeout_keep_alive=limits.keepalive_seconds,  # type: ignore[arg-type]
        backlog=BACKLOG,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        log_level=log_level,
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=5,
        access_log=log_level in ("debug", "info"),  # one line per request at info
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
