"""A bound on what rebuilding a model from a file may allocate.

A model file's config decides the sizes of the network that is built before its weights are
copied in: a small file declaring ``hidden: [20000, 20000]`` would make the loader allocate
gigabytes before the (strict) weight load refuses it. ``allocation_budget`` counts the
elements every tensor factory call asks for while a model is rebuilt, and refuses the request
that would pass the budget before it is allocated; the budget follows from the weights the file
actually holds, which are size-checked before they are read.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

from torch.overrides import TorchFunctionMode

from synthgen.errors import ModelFileError

_FACTORIES = frozenset(
    {"empty", "zeros", "ones", "full", "rand", "randn", "randint", "empty_strided", "eye"}
)
SLACK_ELEMENTS = 1 << 22  # buffers and small working tensors a rebuild may make


def _elements(name: str, args: tuple, kwargs: dict) -> int:
    size: Any = kwargs.get("size")
    if size is None:
        if name == "randint":
            size = next((a for a in args if isinstance(a, (tuple, list))), ())
        elif name == "eye":
            n = args[0] if args else kwargs.get("n", 0)
            m = args[1] if len(args) > 1 and isinstance(args[1], int) else n
            size = (n, m)
        elif args and isinstance(args[0], (tuple, list)):
            size = args[0]
        else:
            size = tuple(a for a in args if isinstance(a, int) and not isinstance(a, bool))
            if name == "full":
                size = args[0] if args and isinstance(args[0], (tuple, list)) else size
    try:
        dims = [int(d) for d in size]
    except (TypeError, ValueError):
        return 0
    if any(d < 0 for d in dims):
        return 0  # torch refuses it itself
    return math.prod(dims)


class _Budget(TorchFunctionMode):
    def __init__(self, limit: int, where: str) -> None:
        super().__init__()
        self.limit, self.where, self.used = limit, where, 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name in _FACTORIES:
            self.used += _elements(name, args, kwargs)
            if self.used > self.limit:
                raise ModelFileError(
                    f"Model file {self.where} cannot be loaded: its config describes a network "
                    f"larger than the weights it holds (over {self.limit:,} values); the file "
                    "was modified or damaged after it was written."
                )
        return func(*args, **kwargs)


@contextlib.contextmanager
def allocation_budget(stored_elements: int, where: object) -> Iterator[None]:
    """Refuse (ModelFileError) any tensor allocation inside the block that would take the
    total past twice ``stored_elements`` plus a small slack."""
    with _Budget(2 * stored_elements + SLACK_ELEMENTS, str(where)):
        yield
