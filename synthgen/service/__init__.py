"""HTTP API over fitted models: ``create_app`` for ASGI servers, ``serve`` to run it.

>>> app = create_app("models/", token=None, limits=Limits(max_rows=100_000))
"""

from synthgen.service.app import GenerateRequest, create_app
from synthgen.service.limits import Limits
from synthgen.service.server import serve

__all__ = ["GenerateRequest", "Limits", "create_app", "serve"]
