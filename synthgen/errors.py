"""One exception hierarchy; each face catches SynthgenError at one boundary and words it.

Library messages name parameters as the Python API spells them, marked with :func:`param`
(``param("rows")``). A face renders the message for its users with :meth:`SynthgenError.render`:
the CLI as flags (``--rows``), the service as JSON fields, the API as the plain names. No face
patches message strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

_OPEN, _CLOSE = "\u27e6", "\u27e7"  # ⟦name⟧: never part of user data in practice
_MARKED = re.compile(_OPEN + r"([A-Za-z_][A-Za-z0-9_]*)" + _CLOSE)


def param(name: str) -> str:
    """A reference to the parameter ``name`` inside a message (rendered by each face)."""
    return f"{_OPEN}{name}{_CLOSE}"


def render(text: str, names: Mapping[str, str] | Callable[[str], str] | None = None) -> str:
    """``text`` with every :func:`param` reference worded by ``names``: a mapping (names it
    lacks stay as they are) or a function of the name."""
    if callable(names):
        word = names
    else:
        table = names or {}

        def word(name: str) -> str:
            return table.get(name, name)

    return _MARKED.sub(lambda m: word(m.group(1)), text)


class SynthgenError(Exception):
    """Base of every error synthgen reports to a user. ``exit_code`` is the CLI's exit status;
    ``param`` names the parameter at fault, when one is."""

    exit_code: int = 1

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.template = message
        self.param = param

    @property
    def message(self) -> str:
        """The message with parameters named as the Python API names them."""
        return render(self.template)

    def render(self, names: Mapping[str, str] | Callable[[str], str] | None = None) -> str:
        """The message for a face: parameter references worded by ``names``."""
        return render(self.template, names)

    def __str__(self) -> str:
        return self.message

    def with_context(self, prefix: str) -> SynthgenError:
        """The same kind of error with ``prefix`` before the message (parameters kept)."""
        err = type(self)(prefix + self.template, param=self.param)
        err.exit_code = self.exit_code
        return err


class SchemaError(SynthgenError):
    """A schema file is missing, unreadable or invalid."""


class DataError(SynthgenError):
    """Input data is missing, unreadable, or does not match its schema."""


class ModelFileError(SynthgenError):
    """A model file is missing, corrupt, tampered with, or from a newer format."""


class OutputError(SynthgenError):
    """An output cannot be written (exists, equals an input, folder missing)."""


class UsageError(SynthgenError):
    """Options that parse but make no sense together (a bad condition, rows=0, ...)."""

    exit_code = 2


class GenerationError(SynthgenError):
    """Generation could not produce what was asked (e.g. too few rows met the conditions)."""


class GateFailed(SynthgenError):
    """A quality or privacy gate (``fail_under``) failed; ``document`` is the metrics document
    when there is one (the reports were written before it was raised)."""

    exit_code = 3
    document: dict | None = None


class NotFittedError(UsageError):
    """An estimator was used before ``fit`` or ``load``."""
